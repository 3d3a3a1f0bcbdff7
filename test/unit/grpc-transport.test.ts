import { afterEach, describe, expect, it } from "vitest";
import { GrpcTransport } from "../../src/transport/grpc-transport.js";
import type { Transport } from "../../src/transport/transport.js";
import { note, startPeer, type LinkPeer } from "../helpers/link-host.js";
import { waitFor } from "../helpers/wait.js";

const started: Transport[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((t) => t.stop()));
});

async function peer(id: string): Promise<LinkPeer> {
  const t = new GrpcTransport({ port: 0, config: { reconnectInitialMs: 20, reconnectMaxMs: 200, closeGraceMs: 500 } });
  started.push(t);
  return startPeer(id, t);
}

describe("GrpcTransport over loopback", () => {
  it("listens on a free port and advertises it", async () => {
    const a = await peer("a");
    expect(a.transport.address).toMatch(/^127\.0\.0\.1:\d+$/);
    expect((a.transport as GrpcTransport).port).toBeGreaterThan(0);
  });

  it("exchanges envelopes both ways over one link, in order", async () => {
    const a = await peer("a");
    const b = await peer("b");
    const link = a.transport.linkTo("b", b.transport.address);
    for (let i = 0; i < 200; i++) link.send(note("a", "b", i));
    await waitFor(() => b.notes().length === 200, { what: "200 envelopes at b" });
    expect(b.notes()).toEqual(Array.from({ length: 200 }, (_, i) => i));
    expect(b.hellos.map((h) => h.id)).toEqual(["a"]);
    expect(b.hellos[0].address).toBe(a.transport.address);
    const back = b.transport.linkTo("a", a.transport.address);
    expect(back.direction).toBe("inbound");
    back.send(note("b", "a", { reply: true }));
    await waitFor(() => a.notes().length === 1, { what: "the reply at a" });
    expect(a.notes()).toEqual([{ reply: true }]);
    expect(link.state.t).toBe("ready");
  });

  it("reconnects to a peer that restarted on the same port", async () => {
    const a = await peer("a");
    const b = await peer("b");
    const port = (b.transport as GrpcTransport).port;
    const link = a.transport.linkTo("b", b.transport.address);
    link.send(note("a", "b", "first"));
    await waitFor(() => b.notes().length === 1, { what: "the first note" });
    await b.transport.stop();
    await waitFor(() => link.state.t === "backoff", { what: "a to notice" });
    const b2t = new GrpcTransport({ port });
    started.push(b2t);
    const b2 = await startPeer("b", b2t);
    link.send(note("a", "b", "second"));
    await waitFor(() => b2.notes().includes("second"), { what: "the note after the restart" });
    await waitFor(() => link.state.t === "ready", { what: "the link to be ready again" });
    expect(link.peer?.id).toBe("b");
  });

  it("keeps one usable link per pair when both dial at once", async () => {
    const a = await peer("a");
    const b = await peer("b");
    a.transport.linkTo("b", b.transport.address).send(note("a", "b", "x"));
    b.transport.linkTo("a", a.transport.address).send(note("b", "a", "y"));
    // Settled: the redundant link is gone on both sides, and the survivor is up.
    const settled = (p: LinkPeer) => p.transport.links().length === 1 && p.transport.links()[0].state.t === "ready";
    await waitFor(() => settled(a) && settled(b), { what: "one link per pair" });
    expect(a.usableLinksTo("b")).toHaveLength(1);
    expect(b.usableLinksTo("a")).toHaveLength(1);
    await waitFor(() => a.notes().includes("y") && b.notes().includes("x"), { what: "both notes" });
    expect(a.usableLinksTo("b")[0].direction).toBe("outbound");
    expect(b.usableLinksTo("a")[0].direction).toBe("inbound");
  });
});
