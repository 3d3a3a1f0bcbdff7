/**
 * A dialed link's connection under stress, through a TCP proxy that can freeze: HTTP/2 flow control and the
 * link's bounded queue push back on the sender (RESOURCE_EXHAUSTED, then everything arrives in order once the
 * path thaws); an unanswered keepalive PING closes the connection and the link redials; the windows are
 * those TransportConfig sets.
 */
import { once } from "node:events";
import type * as http2 from "node:http2";
import { afterEach, describe, expect, it } from "vitest";
import { systemClock } from "../../src/protocol/clock.js";
import { Code, MeshError } from "../../src/protocol/errors.js";
import { transportConfig, type TransportConfig } from "../../src/transport/config.js";
import { GrpcTransport } from "../../src/transport/grpc-transport.js";
import { PeerSession } from "../../src/transport/peer-session.js";
import type { Link } from "../../src/transport/transport.js";
import { note, startPeer, type LinkPeer } from "../helpers/link-host.js";
import { startTcpProxy, type TcpProxy } from "../helpers/tcp-proxy.js";
import { nextEvent, waitFor } from "../helpers/wait.js";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function peer(id: string, config: Partial<TransportConfig> = {}): Promise<LinkPeer> {
  const t = new GrpcTransport({ port: 0, config: { reconnectInitialMs: 20, reconnectMaxMs: 200, closeGraceMs: 300, ...config } });
  cleanups.push(() => t.stop());
  return startPeer(id, t);
}

async function proxyTo(p: LinkPeer): Promise<TcpProxy> {
  const proxy = await startTcpProxy(p.transport.address);
  cleanups.push(() => proxy.close());
  return proxy;
}

async function readyLink(a: LinkPeer, b: LinkPeer, address: string): Promise<Link> {
  const link = a.transport.linkTo("b", address);
  link.send(note("a", "b", "hi"));
  await waitFor(() => link.state.t === "ready" && b.notes().length === 1, { what: "the link to be up" });
  return link;
}

describe("a dialed link under stress", () => {
  it("pushes back on the sender when the peer stops reading, and delivers everything in order afterwards", async () => {
    const a = await peer("a", { maxQueuedEnvelopes: 100 });
    const b = await peer("b", { flowControlWindowBytes: 65_535 });
    const proxy = await proxyTo(b);
    const link = await readyLink(a, b, proxy.address);
    proxy.freeze();
    const text = "q".repeat(1000);
    let sent = 0;
    let refusal: unknown;
    // Send in bursts (a turn of the event loop between them lets the writer run into the full window).
    while (refusal === undefined && sent < 10_000) {
      try {
        for (let i = 0; i < 50; i++) {
          link.send(note("a", "b", { i: sent, text }));
          sent++;
        }
      } catch (err) {
        refusal = err;
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(refusal).toBeInstanceOf(MeshError);
    expect((refusal as MeshError).code).toBe(Code.ResourceExhausted);
    expect((refusal as MeshError).message).toContain("outbound queue full");
    // What left before the refusal: the queue (100), one 64 KiB window of 1 KB notes and a frame in the stream's buffer.
    expect(sent).toBeLessThan(500);
    proxy.thaw();
    await waitFor(() => b.notes().length === 1 + sent, { what: `all ${sent} notes at b`, timeoutMs: 20_000 });
    expect(b.notes().slice(1)).toEqual(Array.from({ length: sent }, (_, i) => ({ i, text })));
  });

  it("closes a connection whose keepalive PING goes unanswered; the link redials once the path is back", async () => {
    const a = await peer("a", { keepalivePingMs: 100, keepaliveTimeoutMs: 300, dialTimeoutMs: 500 });
    const b = await peer("b");
    const proxy = await proxyTo(b);
    const link = await readyLink(a, b, proxy.address);
    proxy.freeze();
    const err = await nextEvent<MeshError>((deliver) => link.onState((s) => s.t === "backoff" && deliver(s.error)), 10_000, "the link to back off");
    expect(err.code).toBe(Code.Unavailable);
    expect(err.message).toContain("keepalive PING");
    proxy.thaw();
    link.send(note("a", "b", "after"));
    await waitFor(() => b.notes().includes("after"), { what: "a note over the new connection", timeoutMs: 20_000 });
    expect(proxy.connections).toBeGreaterThanOrEqual(2);
  });

  it("sets the stream and connection windows TransportConfig asks for", async () => {
    const b = await peer("b");
    const windowBytes = 1 << 20;
    const session = new PeerSession(b.transport.address, transportConfig({ flowControlWindowBytes: windowBytes }), systemClock);
    cleanups.push(() => session.close(true));
    const s: http2.ClientHttp2Session = session.get();
    await once(s, "connect");
    if (s.pendingSettingsAck) await once(s, "localSettings");
    expect(s.localSettings.initialWindowSize).toBe(windowBytes);
    expect(s.state.localWindowSize).toBe(windowBytes);
    expect(session.get()).toBe(s); // reused while usable
  });
});
