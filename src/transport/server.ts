/**
 * The node's one server: HTTP/2 cleartext (h2c) serving gRPC, gRPC-Web and Connect on one port. Clients
 * speak HTTP/2 with prior knowledge (every gRPC client does; Connect and gRPC-Web clients with
 * `httpVersion: "2"`, curl with `--http2-prior-knowledge`). Browsers need TLS for HTTP/2, which comes with
 * the TLS support on the roadmap; until then they reach a node through an HTTP/1.1-to-h2c proxy.
 */
import * as http2 from "node:http2";
import * as net from "node:net";
import type { connectNodeAdapter } from "@connectrpc/connect-node";
import { Code, MeshError } from "../protocol/errors.js";

/** The request handler connectNodeAdapter makes. */
export type NodeHandlerFn = ReturnType<typeof connectNodeAdapter>;

/** Options of the server. */
export interface MeshServerOptions {
  /** Interface to listen on, e.g. "127.0.0.1" or "0.0.0.0". */
  host: string;
  /** Port; 0 picks a free one. */
  port: number;
  /** The request handler (connectNodeAdapter). */
  handler: NodeHandlerFn;
  /** HTTP/2 flow-control window, bytes. */
  flowControlWindowBytes: number;
}

/** A listening server. */
export interface MeshServer {
  /** The port it listens on. */
  readonly port: number;
  /** Stops accepting, lets open streams finish for up to `graceMs`, then destroys what remains. */
  close(graceMs: number): Promise<void>;
}

/** Starts the server; fails with UNAVAILABLE naming the address when the port cannot be bound. */
export async function startMeshServer(options: MeshServerOptions): Promise<MeshServer> {
  const h2 = http2.createServer({
    settings: { initialWindowSize: options.flowControlWindowBytes },
  });
  h2.on("request", options.handler as (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void);
  h2.on("session", (session) => {
    session.on("error", () => session.destroy());
    // Enlarge the connection window too (the setting above covers streams only).
    session.on("localSettings", () => {
      try {
        session.setLocalWindowSize(options.flowControlWindowBytes);
      } catch {
        // the session closed already
      }
    });
  });
  const sockets = new Set<net.Socket>();
  const sessions = new Set<http2.ServerHttp2Session>();
  h2.on("session", (s) => {
    sessions.add(s);
    s.once("close", () => sessions.delete(s));
  });

  const server = h2;
  server.on("connection", (socket: net.Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", (err: NodeJS.ErrnoException) =>
      reject(new MeshError(Code.Unavailable, `cannot listen on ${options.host}:${options.port}: ${err.code ?? err.message}`, { cause: err })),
    );
    server.listen(options.port, options.host, () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;

  return {
    port,
    async close(graceMs: number) {
      server.close();
      for (const s of sessions) s.close();
      const allClosed = Promise.all([...sockets].map((s) => new Promise((r) => s.once("close", r))));
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([allClosed, new Promise((r) => (timer = setTimeout(r, graceMs)))]);
      clearTimeout(timer);
      for (const s of sockets) s.destroy();
    },
  };
}
