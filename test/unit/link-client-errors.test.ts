/**
 * How a dialed link fails against peers that misbehave at the gRPC or HTTP/2 level (scripted node:http2 servers
 * and plain TCP): each failure becomes the link's backoff error with the gRPC code the protocol maps it to, and
 * the link dials again (on a new connection after GOAWAY or a connection failure).
 */
import * as http2 from "node:http2";
import * as net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { Code, type MeshError } from "../../src/protocol/errors.js";
import type { TransportConfig } from "../../src/transport/config.js";
import { GrpcTransport } from "../../src/transport/grpc-transport.js";
import type { Link, Transport } from "../../src/transport/transport.js";
import { startPeer } from "../helpers/link-host.js";
import { nextEvent } from "../helpers/wait.js";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A started transport that dials with short backoffs. */
async function dialer(config: Partial<TransportConfig> = {}): Promise<Transport> {
  const t = new GrpcTransport({ port: 0, config: { reconnectInitialMs: 20, reconnectMaxMs: 100, closeGraceMs: 200, ...config } });
  cleanups.push(() => t.stop());
  await startPeer("a", t);
  return t;
}

/** An HTTP/2 server answering every stream with `onStream`; counts the connections it accepted. */
async function scriptedServer(onStream: (stream: http2.ServerHttp2Stream) => void): Promise<{ address: string; sessions: () => number }> {
  const server = http2.createServer();
  let sessions = 0;
  const open = new Set<http2.ServerHttp2Session>();
  server.on("session", (s) => {
    sessions++;
    open.add(s);
    s.on("error", () => {});
    s.on("close", () => open.delete(s));
  });
  server.on("stream", (stream) => {
    stream.on("error", () => {});
    onStream(stream);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        for (const s of open) s.destroy();
        server.close(() => resolve());
      }),
  );
  return { address: `127.0.0.1:${(server.address() as net.AddressInfo).port}`, sessions: () => sessions };
}

/** The error of the link's first backoff. */
function firstBackoff(link: Link): Promise<MeshError> {
  return nextEvent<MeshError>((deliver) => {
    const off = link.onState((s) => {
      if (s.t !== "backoff") return;
      off();
      deliver(s.error);
    });
  }, 10_000, "the link to back off");
}

const grpcHeaders = { ":status": 200, "content-type": "application/grpc" };

describe("a dialed link against a misbehaving peer", () => {
  it("fails with the code and message of non-zero grpc-status trailers", async () => {
    const peer = await scriptedServer((stream) => {
      stream.respond(grpcHeaders, { waitForTrailers: true });
      stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "7", "grpc-message": "not you, %C3%A9" }));
      stream.end();
    });
    const err = await firstBackoff((await dialer()).linkTo(undefined, peer.address));
    expect(err.code).toBe(Code.PermissionDenied);
    expect(err.message).toBe("not you, é");
  });

  it("fails with the status of a trailers-only response", async () => {
    const peer = await scriptedServer((stream) => stream.respond({ ...grpcHeaders, "grpc-status": "12", "grpc-message": "no Link here" }, { endStream: true }));
    const err = await firstBackoff((await dialer()).linkTo(undefined, peer.address));
    expect(err.code).toBe(Code.Unimplemented);
    expect(err.message).toBe("no Link here");
  });

  it("maps HTTP statuses other than 200 (503 UNAVAILABLE, 404 UNIMPLEMENTED)", async () => {
    for (const [status, code] of [
      [503, Code.Unavailable],
      [404, Code.Unimplemented],
    ] as const) {
      const peer = await scriptedServer((stream) => stream.respond({ ":status": status }, { endStream: true }));
      const err = await firstBackoff((await dialer()).linkTo(undefined, peer.address));
      expect(err.code).toBe(code);
    }
  });

  it("maps a stream reset (REFUSED_STREAM → UNAVAILABLE, ENHANCE_YOUR_CALM → RESOURCE_EXHAUSTED)", async () => {
    for (const [rst, code] of [
      [http2.constants.NGHTTP2_REFUSED_STREAM, Code.Unavailable],
      [http2.constants.NGHTTP2_ENHANCE_YOUR_CALM, Code.ResourceExhausted],
    ] as const) {
      const peer = await scriptedServer((stream) => stream.close(rst));
      const err = await firstBackoff((await dialer()).linkTo(undefined, peer.address));
      expect(err.code).toBe(code);
    }
  });

  it("does not reuse a connection after GOAWAY", async () => {
    const peer = await scriptedServer((stream) => {
      stream.respond(grpcHeaders);
      stream.session?.goaway(http2.constants.NGHTTP2_NO_ERROR, 0);
      stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
    });
    const link = (await dialer()).linkTo(undefined, peer.address);
    expect((await firstBackoff(link)).code).toBe(Code.Unavailable);
    await nextEvent<void>((deliver) => link.onState((s) => s.t === "backoff" && s.attempt >= 2 && deliver()), 10_000, "a second attempt");
    expect(peer.sessions()).toBeGreaterThanOrEqual(2);
  });

  it("fails with UNAVAILABLE when the connection drops mid-stream, and dials a new one", async () => {
    const peer = await scriptedServer((stream) => {
      stream.respond(grpcHeaders);
      stream.session?.destroy();
    });
    const link = (await dialer()).linkTo(undefined, peer.address);
    expect((await firstBackoff(link)).code).toBe(Code.Unavailable);
    await nextEvent<void>((deliver) => link.onState((s) => s.t === "backoff" && s.attempt >= 2 && deliver()), 10_000, "a second attempt");
    expect(peer.sessions()).toBeGreaterThanOrEqual(2);
  });

  it("fails with UNAVAILABLE when nothing listens", async () => {
    const closed = net.createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const err = await firstBackoff((await dialer()).linkTo(undefined, `127.0.0.1:${port}`));
    expect(err.code).toBe(Code.Unavailable);
    expect(err.message).toContain("ECONNREFUSED");
  });

  it("gives up on a peer that accepts the connection but never answers, after dialTimeoutMs", async () => {
    const sockets = new Set<net.Socket>();
    const silent = net.createServer((socket) => {
      sockets.add(socket);
      socket.on("error", () => {});
    });
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          for (const s of sockets) s.destroy();
          silent.close(() => resolve());
        }),
    );
    const started = Date.now();
    const err = await firstBackoff((await dialer({ dialTimeoutMs: 300 })).linkTo(undefined, `127.0.0.1:${(silent.address() as net.AddressInfo).port}`));
    expect(err.code).toBe(Code.Unavailable);
    expect(err.message).toContain("within 300 ms");
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
  });

  it("refuses malformed frames: INVALID_ARGUMENT for a bad envelope, INTERNAL for an unnegotiated compression, RESOURCE_EXHAUSTED over the limit", async () => {
    const cases: [Buffer, Code][] = [
      [Buffer.from([0, 0, 0, 0, 3, 0x0a, 0x05, 0x01]), Code.InvalidArgument], // an envelope longer than its frame
      [Buffer.from([0, 0, 0, 0, 4, 0x0a, 0x02, 0x1a, 0x05]), Code.InvalidArgument], // a string past the envelope's end
      [Buffer.from([1, 0, 0, 0, 1, 0]), Code.Internal],
      [Buffer.from([0, 0, 0, 8, 0]), Code.ResourceExhausted], // 2048 bytes announced, 1024 allowed
    ];
    for (const [frame, code] of cases) {
      const peer = await scriptedServer((stream) => {
        stream.respond(grpcHeaders);
        stream.write(frame);
      });
      const err = await firstBackoff((await dialer({ maxMessageBytes: 1024 })).linkTo(undefined, peer.address));
      expect(err.code).toBe(code);
    }
  });

  it("fails when the peer ends its side without a status", async () => {
    const peer = await scriptedServer((stream) => {
      stream.respond(grpcHeaders);
      stream.end();
    });
    const err = await firstBackoff((await dialer()).linkTo(undefined, peer.address));
    expect(err.code).toBe(Code.Internal);
    expect(err.message).toContain("without a grpc-status");
  });
});
