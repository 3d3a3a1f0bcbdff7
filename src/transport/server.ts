/**
 * The node's one server: HTTP/2 cleartext (h2c) serving gRPC, gRPC-Web and Connect on one port. Clients
 * speak HTTP/2 with prior knowledge (every gRPC client does; Connect and gRPC-Web clients with
 * `httpVersion: "2"`, curl with `--http2-prior-knowledge`). Browsers need TLS for HTTP/2, which comes with
 * the TLS support on the roadmap; until then they reach a node through an HTTP/1.1-to-h2c proxy.
 *
 * Two paths share the port: `rawRoutes` serve plain gRPC (`application/grpc`, `application/grpc+proto`) for the
 * paths they name straight from node:http2's stream event (the hot path: peer links and unary calls); every
 * other request (Connect, gRPC-Web, other paths, and what a raw route declines) goes to the fallback handler
 * (connect-node) through node:http2's compatibility layer. The fallback can be loaded on first use
 * (`loadHandler`), so a node that only ever sees plain gRPC never loads connect-node and undici.
 */
import * as http2 from "node:http2";
import * as net from "node:net";
import type { connectNodeAdapter } from "@connectrpc/connect-node";
import { Code, MeshError } from "../protocol/errors.js";

/** The request handler connectNodeAdapter makes. */
export type NodeHandlerFn = ReturnType<typeof connectNodeAdapter>;

/**
 * Serves one plain-gRPC request on its HTTP/2 stream (headers already received). Returning false declines it
 * before touching the stream: the fallback handler serves it instead.
 */
export type RawStreamHandler = (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => false | void;

/** Options of the server. */
export interface MeshServerOptions {
  /** Interface to listen on, e.g. "127.0.0.1" or "0.0.0.0". */
  host: string;
  /** Port; 0 picks a free one. */
  port: number;
  /** Handler of every request no raw route takes (connectNodeAdapter); or give `loadHandler`. */
  handler?: NodeHandlerFn;
  /** Makes the handler of every request no raw route takes, on the first such request (at most once). */
  loadHandler?: () => Promise<NodeHandlerFn>;
  /** Plain-gRPC handlers by request path ("/package.Service/Method"), served without the compatibility layer. */
  rawRoutes?: ReadonlyMap<string, RawStreamHandler>;
  /** HTTP/2 flow-control window, bytes. */
  flowControlWindowBytes: number;
  /** TCP_NODELAY on accepted connections. Default true. */
  noDelay?: boolean;
}

/** A listening server. */
export interface MeshServer {
  /** The port it listens on. */
  readonly port: number;
  /** Stops accepting, lets open streams finish for up to `graceMs`, then destroys what remains. */
  close(graceMs: number): Promise<void>;
}

/** True for the content types of plain gRPC with protobuf (not gRPC-Web, not JSON). */
function isPlainGrpc(contentType: string | undefined): boolean {
  return contentType === "application/grpc" || contentType === "application/grpc+proto";
}

/**
 * Routes `stream` events: a raw route takes plain-gRPC streams for its path; everything else reaches the
 * compatibility layer's `request` event. node:http2 attaches its compatibility layer as a `stream` listener
 * when a `request` listener is added, so the choice has to be made before listeners run: at emit.
 */
function routeRawStreams(h2: http2.Http2Server, routes: ReadonlyMap<string, RawStreamHandler>): void {
  if (routes.size === 0) return;
  const emit = h2.emit.bind(h2) as (event: string | symbol, ...args: unknown[]) => boolean;
  h2.emit = ((event: string | symbol, ...args: unknown[]): boolean => {
    if (event === "stream") {
      const headers = args[1] as http2.IncomingHttpHeaders;
      const route = routes.get(headers[":path"] ?? "");
      if (route !== undefined && isPlainGrpc(headers["content-type"]) && route(args[0] as http2.ServerHttp2Stream, headers) !== false) return true;
    }
    return emit(event, ...args);
  }) as typeof h2.emit;
}

/** The compatibility-layer request listener: the given handler, or the loaded one (loaded on the first request). */
function fallbackHandler(options: MeshServerOptions): (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void {
  if (options.handler !== undefined) return options.handler as (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void;
  const load = options.loadHandler;
  if (load === undefined) throw new MeshError(Code.InvalidArgument, "startMeshServer: give handler or loadHandler");
  let loaded: NodeHandlerFn | undefined;
  let loading: Promise<NodeHandlerFn> | undefined;
  return (req, res) => {
    if (loaded !== undefined) return void loaded(req, res);
    // The request body waits in the stream's buffer (paused) until the handler reads it.
    loading ??= load().then((h) => (loaded = h));
    loading.then(
      (h) => h(req, res),
      (err: unknown) => {
        loading = undefined; // the next request tries again
        if (!res.headersSent && !res.stream.destroyed) {
          res.writeHead(500, { "content-type": "text/plain" });
          res.end(`cannot load the request handler: ${err instanceof Error ? err.message : String(err)}\n`);
        }
      },
    );
  };
}

/** Starts the server; fails with UNAVAILABLE naming the address when the port cannot be bound. */
export async function startMeshServer(options: MeshServerOptions): Promise<MeshServer> {
  const h2 = http2.createServer({
    settings: { initialWindowSize: options.flowControlWindowBytes },
  });
  const noDelay = options.noDelay ?? true;
  routeRawStreams(h2, options.rawRoutes ?? new Map());
  h2.on("request", fallbackHandler(options));
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
    if (noDelay) socket.setNoDelay(true);
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
