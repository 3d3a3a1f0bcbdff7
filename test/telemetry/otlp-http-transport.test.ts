/**
 * The OTLP/HTTP transport against real servers on loopback: it POSTs the bytes with the configured headers on
 * one kept connection, answers as the SDK's transport does (2xx success with the body; 429/502/503/504
 * retried, after Retry-After when given; other statuses fail with their code and body; network errors and
 * timeouts retryable, and retried until the collector is up), resends at once on a new connection when the
 * collector closed the kept one, refuses headers that cannot be sent and responses over its limit, and closes
 * its connections on shutdown; abort gives up a request in flight and a wait between retries at once.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from "node:http";
import { createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from "node:net";
import { OTLPExporterError } from "@opentelemetry/otlp-exporter-base";
import { afterEach, describe, expect, it } from "vitest";
import { OtlpHttpTransport, retryAfterMs, type OtlpHttpTransportConfig } from "../../src/telemetry/otlp-http-transport.js";

/** A request as an HTTP test server saw it. */
interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  body: Buffer;
  socket: Socket;
}

const servers: (HttpServer | NetServer)[] = [];
const transports: OtlpHttpTransport[] = [];

afterEach(async () => {
  for (const t of transports.splice(0)) t.shutdown();
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

/** An HTTP server answering the n-th request (0-based) with `answer`; what it saw, and its URL. */
async function httpServer(answer: (n: number, res: ServerResponse) => void): Promise<{ url: string; seen: Seen[]; sockets: Set<Socket> }> {
  const seen: Seen[] = [];
  const sockets = new Set<Socket>();
  const server = createHttpServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      seen.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, body: Buffer.concat(chunks), socket: req.socket });
      answer(seen.length - 1, res);
    });
  });
  server.on("connection", (s: Socket) => sockets.add(s));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/traces`, seen, sockets };
}

/** A TCP server calling `onRequest(socket, n)` for each request head it reads on a connection (n: its number on that connection). */
async function rawServer(onRequest: (socket: Socket, n: number) => void): Promise<{ url: string; connections: Socket[] }> {
  const connections: Socket[] = [];
  const server = createNetServer((socket) => {
    connections.push(socket);
    let text = "";
    let n = 0;
    socket.on("error", () => {});
    socket.on("data", (c: Buffer) => {
      text += c.toString("latin1");
      for (;;) {
        const end = text.indexOf("\r\n\r\n");
        if (end < 0) return;
        const length = Number(/content-length: *(\d+)/i.exec(text.slice(0, end))?.[1] ?? 0);
        if (text.length < end + 4 + length) return;
        text = text.slice(end + 4 + length);
        onRequest(socket, n++);
      }
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/traces`, connections };
}

function transport(url: string, config: Partial<OtlpHttpTransportConfig> = {}, headers: Record<string, string> = { "Content-Type": "application/x-protobuf" }): OtlpHttpTransport {
  const t = new OtlpHttpTransport({ url, headers: async () => ({ ...headers }), userAgent: "test-prefix" }, config);
  transports.push(t);
  return t;
}

const OK = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";

describe("OtlpHttpTransport", () => {
  it("POSTs the bytes with the configured headers, hands the response body on, and keeps one connection for consecutive exports", async () => {
    const server = await httpServer((_, res) => res.writeHead(200, { "content-type": "application/x-protobuf" }).end(Buffer.from([1, 2, 3])));
    const t = transport(server.url, {}, { "Content-Type": "application/x-protobuf", "x-api-key": "secret" });
    for (let i = 0; i < 3; i++) {
      const body = Buffer.alloc(100_000 + i, i + 1);
      const response = await t.send(body, 5000);
      expect(response.status).toBe("success");
      expect(Buffer.from((response as { data: Uint8Array }).data)).toEqual(Buffer.from([1, 2, 3]));
      expect(server.seen[i].body.equals(body)).toBe(true);
    }
    const first = server.seen[0];
    expect(first.method).toBe("POST");
    expect(first.url).toBe("/v1/traces");
    expect(first.headers["content-type"]).toBe("application/x-protobuf");
    expect(first.headers["x-api-key"]).toBe("secret");
    expect(first.headers["user-agent"]).toBe("test-prefix agent-mesh-otlp-exporter");
    expect(first.headers["content-length"]).toBe("100000");
    expect(server.sockets.size).toBe(1);
  });

  it("retries a 503 after its Retry-After, and a 429 with its own backoff, until the collector takes the export", async () => {
    const server = await httpServer((n, res) => {
      if (n === 0) res.writeHead(503, { "retry-after": "0" }).end();
      else if (n === 1) res.writeHead(429).end("slow down");
      else res.writeHead(200).end();
    });
    const response = await transport(server.url, { initialBackoffMs: 20 }).send(Buffer.from("spans"), 5000);
    expect(response.status).toBe("success");
    expect(server.seen.map((s) => s.body.toString())).toEqual(["spans", "spans", "spans"]);
  });

  it("gives up retrying when the next try would pass the export's timeout", async () => {
    const server = await httpServer((_, res) => res.writeHead(502, { "retry-after": "60" }).end());
    const started = Date.now();
    const response = await transport(server.url).send(Buffer.from("spans"), 2000);
    expect(response.status).toBe("retryable");
    expect(server.seen.length).toBe(1);
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it("fails any other status with its code and body, without retrying", async () => {
    const server = await httpServer((_, res) => res.writeHead(400, "Bad Request").end("bad spans"));
    const response = await transport(server.url).send(Buffer.from("spans"), 5000);
    expect(response.status).toBe("failure");
    const error = (response as { error: Error }).error;
    expect(error).toBeInstanceOf(OTLPExporterError);
    expect((error as OTLPExporterError).code).toBe(400);
    expect((error as OTLPExporterError).data).toBe("bad spans");
    expect(error.message).toBe("Bad Request");
    expect(server.seen.length).toBe(1);
  });

  it("sends again at once on a new connection when the collector closed the kept one", async () => {
    // The first connection answers its first request, then drops the connection at the second.
    const server = await rawServer((socket, n) => {
      if (server.connections[0] === socket && n === 1) socket.destroy();
      else socket.write(OK);
    });
    const t = transport(server.url, { initialBackoffMs: 3000 });
    expect((await t.send(Buffer.from("one"), 5000)).status).toBe("success");
    const started = Date.now();
    expect((await t.send(Buffer.from("two"), 5000)).status).toBe("success");
    expect(Date.now() - started).toBeLessThan(2000); // not after a retry's backoff (at least 2.4 s)
    expect(server.connections.length).toBe(2);
  });

  it("closes a kept connection that gets bytes nobody asked for, and uses a new one", async () => {
    const server = await rawServer((socket) => {
      socket.write(OK);
      setTimeout(() => socket.write("HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\n\r\n"), 10);
    });
    const t = transport(server.url);
    expect((await t.send(Buffer.from("one"), 5000)).status).toBe("success");
    await waitFor(() => server.connections[0].destroyed || server.connections[0].readableEnded);
    expect((await t.send(Buffer.from("two"), 5000)).status).toBe("success");
    expect(server.connections.length).toBe(2);
  });

  it("times out a collector that does not answer (retryable), within the export's timeout", async () => {
    const server = await rawServer(() => {});
    const started = Date.now();
    const response = await transport(server.url).send(Buffer.from("spans"), 300);
    expect(response.status).toBe("retryable");
    expect((response as { error?: Error }).error?.message).toBe("Request timed out");
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it("makes a refused connection retryable", async () => {
    const server = await httpServer((_, res) => res.end());
    const url = server.url;
    await new Promise((resolve) => servers.pop()!.close(resolve));
    const response = await transport(url).send(Buffer.from("spans"), 300);
    expect(response.status).toBe("retryable");
    expect((response as { error?: NodeJS.ErrnoException }).error?.code).toBe("ECONNREFUSED");
  });

  it("retries a collector that is not up yet with backoff, and delivers once it is", async () => {
    const probe = await httpServer((_, res) => res.end());
    const url = probe.url;
    const port = Number(new URL(url).port);
    await new Promise((resolve) => servers.pop()!.close(resolve));
    const received: Buffer[] = [];
    const later = createHttpServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        received.push(Buffer.concat(chunks));
        res.end();
      });
    });
    servers.push(later);
    const sending = transport(url, { initialBackoffMs: 100 }).send(Buffer.from("spans"), 5000);
    await new Promise((resolve) => setTimeout(resolve, 50)); // the first try is refused
    await new Promise<void>((resolve) => later.listen(port, "127.0.0.1", resolve));
    const response = await sending;
    expect(response.status).toBe("success");
    expect(received.map((b) => b.toString())).toEqual(["spans"]);
  });

  it("refuses a header that cannot be sent, sending nothing", async () => {
    const server = await httpServer((_, res) => res.end());
    const response = await transport(server.url, {}, { "x-bad": "a\r\nInjected: yes" }).send(Buffer.from("spans"), 1000);
    expect(response.status).toBe("failure");
    expect((response as { error: Error }).error.message).toMatch(/header "x-bad"/);
    expect(server.sockets.size).toBe(0);
  });

  it("fails a response over its limit, and does not keep that connection", async () => {
    const server = await httpServer((_, res) => res.writeHead(200).end("x".repeat(100)));
    const response = await transport(server.url, { maxResponseBytes: 10 }).send(Buffer.from("spans"), 1000);
    expect(response.status).toBe("failure");
    expect((response as { error: Error }).error.message).toMatch(/over 10 bytes/);
    await waitFor(() => [...server.sockets].every((s) => s.destroyed || s.readableEnded));
  });

  it("closes its kept connections on shutdown", async () => {
    const server = await httpServer((_, res) => res.end());
    const t = transport(server.url);
    expect((await t.send(Buffer.from("spans"), 1000)).status).toBe("success");
    const [socket] = server.sockets;
    expect(socket.destroyed).toBe(false);
    t.shutdown();
    await waitFor(() => socket.destroyed || socket.readableEnded);
  });

  it("gives up at once on abort: a request the collector never answers, and a wait between retries", async () => {
    const silent = await rawServer(() => {});
    const t1 = transport(silent.url);
    const hanging = t1.send(Buffer.from("spans"), 60_000);
    await waitFor(() => silent.connections.length === 1);
    t1.abort();
    expect((await hanging).status).toBe("retryable");

    const probe = await httpServer((_, res) => res.end());
    const url = probe.url;
    await new Promise((resolve) => servers.pop()!.close(resolve)); // nothing listens there now
    const t2 = transport(url, { initialBackoffMs: 60_000, maxBackoffMs: 60_000 });
    const waiting = t2.send(Buffer.from("spans"), 120_000); // refused, then a minute's wait before the retry
    await waitFor(() => (t2 as unknown as { pauses: Set<unknown> }).pauses.size === 1); // in that wait
    t2.abort();
    const response = await waiting;
    expect(response.status).toBe("retryable");
    expect((response as { error?: NodeJS.ErrnoException }).error?.code).toBe("ECONNREFUSED");
  });

  it("refuses an endpoint that is not http:", () => {
    expect(() => new OtlpHttpTransport({ url: "https://collector:4318/v1/traces", headers: () => ({}) })).toThrow(/not an http: URL/);
  });
});

describe("retryAfterMs", () => {
  it("reads seconds and HTTP dates, and nothing else", () => {
    expect(retryAfterMs(undefined)).toBeUndefined();
    expect(retryAfterMs("3")).toBe(3000);
    expect(retryAfterMs(" 0 ")).toBe(0);
    const inTwoSeconds = retryAfterMs(new Date(Date.now() + 2000).toUTCString())!;
    expect(inTwoSeconds).toBeGreaterThan(0);
    expect(inTwoSeconds).toBeLessThanOrEqual(2000);
    expect(retryAfterMs(new Date(Date.now() - 60_000).toUTCString())).toBe(0);
    expect(retryAfterMs("soon")).toBeUndefined();
  });
});

/** Polls `condition` until it holds, failing after 5 s. */
async function waitFor(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met within 5 s");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
