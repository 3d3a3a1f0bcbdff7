import { create } from "@bufbuild/protobuf";
import { afterEach, describe, expect, it } from "vitest";
import { AgentInfoSchema, MemberStatus } from "../../gen/agentmesh/v1/membership_pb.js";
import type { BusConfig } from "../../src/bus/bus.js";
import { MeshMessageBus } from "../../src/bus/mesh-bus.js";
import { Code, MeshError } from "../../src/protocol/errors.js";
import type { LinkState, Transport } from "../../src/transport/transport.js";
import { MemoryNetwork, type MemoryTransport } from "../../src/transport/memory-transport.js";
import type { TransportConfig } from "../../src/transport/config.js";
import { note, startPeer, type LinkPeer } from "../helpers/link-host.js";
import { waitFor } from "../helpers/wait.js";

const fast: Partial<TransportConfig> = { reconnectInitialMs: 10, reconnectMaxMs: 100, closeGraceMs: 200 };

const started: Transport[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((t) => t.stop()));
});

function transport(network: MemoryNetwork, config: Partial<TransportConfig> = {}): MemoryTransport {
  const t = network.transport({ config: { ...fast, ...config } });
  started.push(t);
  return t;
}

async function pair(network: MemoryNetwork, config: Partial<TransportConfig> = {}): Promise<[LinkPeer, LinkPeer]> {
  return [await startPeer("a", transport(network, config)), await startPeer("b", transport(network, config))];
}

async function expectMeshError(promise: Promise<unknown>): Promise<MeshError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(MeshError);
    return err as MeshError;
  }
  throw new Error("expected a MeshError, the promise resolved");
}

/** Two agents with a bus each over their own transports, knowing each other's address (no discovery). */
async function busPair(network: MemoryNetwork, busConfig: Partial<BusConfig> = {}) {
  const addresses = new Map<string, string>();
  const make = async (id: string) => {
    const t = transport(network);
    addresses.set(id, t.address);
    const bus: MeshMessageBus = new MeshMessageBus({
      selfId: id,
      transport: t,
      directory: { addressOf: (x) => addresses.get(x), peerIds: () => [...addresses.keys()].filter((x) => x !== id) },
      config: { maxAttempts: 3, retryInitialMs: 10, retryMaxMs: 50, ...busConfig },
    });
    const info = create(AgentInfoSchema, { id, status: MemberStatus.ALIVE, address: t.address });
    await t.start({ localInfo: () => info, onEnvelope: (env, link) => bus.receive(env, link) });
    return { id, t, bus };
  };
  const a = await make("a");
  const b = await make("b");
  b.bus.attach("b", (m) => ({ echo: m.payload }));
  return { a, b };
}

describe("MemoryTransport", () => {
  it("exchanges envelopes both ways over one link, introducing each side", async () => {
    const network = new MemoryNetwork();
    const [a, b] = await pair(network);
    a.transport.linkTo("b", b.transport.address).send(note("a", "b", { n: 1 }));
    await waitFor(() => b.notes().length === 1, { what: "b to receive" });
    expect(b.notes()).toEqual([{ n: 1 }]);
    expect(b.received[0].from).toBe("a");
    expect(b.hellos.map((h) => h.id)).toEqual(["a"]);
    expect(a.hellos.map((h) => h.id)).toEqual(["b"]);
    // b answers over the link a opened: no second stream.
    const back = b.transport.linkTo("a", a.transport.address);
    expect(back.direction).toBe("inbound");
    back.send(note("b", "a", "pong"));
    await waitFor(() => a.notes().length === 1, { what: "a to receive" });
    expect(a.notes()).toEqual(["pong"]);
    expect(network.openConnections).toBe(1);
  });

  it("delivers envelopes in the order they were sent", async () => {
    const network = new MemoryNetwork();
    const [a, b] = await pair(network);
    const link = a.transport.linkTo("b", b.transport.address);
    for (let i = 0; i < 300; i++) {
      link.send(note("a", "b", i));
      if (i % 7 === 0) await new Promise<void>((r) => setImmediate(r)); // spread over several frames
    }
    await waitFor(() => b.notes().length === 300, { what: "300 envelopes" });
    expect(b.notes()).toEqual(Array.from({ length: 300 }, (_, i) => i));
  });

  it("sends the envelopes written in one tick in one frame", async () => {
    const network = new MemoryNetwork();
    const [a, b] = await pair(network);
    const link = a.transport.linkTo("b", b.transport.address);
    link.send(note("a", "b", "warm-up"));
    await waitFor(() => b.notes().length === 1 && link.state.t === "ready", { what: "the link to be up" });
    const before = network.framesDelivered;
    for (let i = 0; i < 25; i++) link.send(note("a", "b", i));
    await waitFor(() => b.notes().length === 26, { what: "the batch" });
    expect(network.framesDelivered - before).toBe(1);
    // Sent in separate ticks, they travel in separate frames.
    const before2 = network.framesDelivered;
    for (let i = 0; i < 3; i++) {
      link.send(note("a", "b", `tick ${i}`));
      await waitFor(() => b.notes().length === 27 + i, { what: `tick ${i}` });
    }
    expect(network.framesDelivered - before2).toBe(3);
  });

  it("splits a large batch into frames of at most maxBatchEnvelopes", async () => {
    const network = new MemoryNetwork();
    const [a, b] = await pair(network, { maxBatchEnvelopes: 10 });
    const link = a.transport.linkTo("b", b.transport.address);
    link.send(note("a", "b", "warm-up"));
    await waitFor(() => b.notes().length === 1 && link.state.t === "ready", { what: "the link to be up" });
    const before = network.framesDelivered;
    for (let i = 0; i < 35; i++) link.send(note("a", "b", i));
    await waitFor(() => b.notes().length === 36, { what: "35 envelopes" });
    expect(network.framesDelivered - before).toBe(4);
    expect(b.notes().slice(1)).toEqual(Array.from({ length: 35 }, (_, i) => i));
  });

  it("refuses a send with RESOURCE_EXHAUSTED when the peer is unreachable and the queue is full", async () => {
    const network = new MemoryNetwork();
    const a = await startPeer("a", transport(network, { maxQueuedEnvelopes: 4 }));
    const link = a.transport.linkTo("ghost", "mem:999");
    for (let i = 0; i < 4; i++) link.send(note("a", "ghost", i));
    expect(link.queued).toBe(4);
    let err: unknown;
    try {
      link.send(note("a", "ghost", 4));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(MeshError);
    expect((err as MeshError).code).toBe(Code.ResourceExhausted);
    expect((err as MeshError).message).toContain("mem:999");
    expect((err as MeshError).message).toContain("queue full");
    expect(link.queued).toBe(4);
    await waitFor(() => link.state.t === "backoff", { what: "the link to back off" });
  });

  it("refuses a send on a closed link with UNAVAILABLE", async () => {
    const network = new MemoryNetwork();
    const [a, b] = await pair(network);
    const link = a.transport.linkTo("b", b.transport.address);
    link.close("done");
    expect(link.usable).toBe(false);
    expect(() => link.send(note("a", "b", 1))).toThrow(MeshError);
    try {
      link.send(note("a", "b", 1));
    } catch (e) {
      expect((e as MeshError).code).toBe(Code.Unavailable);
    }
    await waitFor(() => link.state.t === "closed", { what: "the link to close" });
  });

  it("reconnects a cut link with backoff and delivers what is sent during and after the outage", async () => {
    const network = new MemoryNetwork();
    const [a, b] = await pair(network, { reconnectInitialMs: 100, reconnectJitter: 0 });
    const link = a.transport.linkTo("b", b.transport.address);
    link.send(note("a", "b", "before"));
    await waitFor(() => b.notes().length === 1 && link.state.t === "ready", { what: "the link to be up" });
    const states: LinkState[] = [];
    link.onState((s) => states.push(s));
    network.cutBetween(a.transport.address, b.transport.address);
    await waitFor(() => states.some((s) => s.t === "backoff"), { what: "backoff" });
    const backoff = states.find((s) => s.t === "backoff");
    expect(backoff?.t).toBe("backoff");
    if (backoff?.t === "backoff") {
      expect(backoff.retryInMs).toBeGreaterThan(0);
      expect(backoff.error.code).toBe(Code.Unavailable);
    }
    link.send(note("a", "b", "during"));
    await new Promise<void>((r) => setImmediate(r)); // a tick in which a writer could take it
    expect(link.state.t).toBe("backoff");
    expect(link.queued).toBe(1);
    await waitFor(() => link.state.t === "ready", { what: "the link to reconnect" });
    link.send(note("a", "b", "after"));
    await waitFor(() => b.notes().length === 3, { what: "both notes" });
    expect(b.notes()).toEqual(["before", "during", "after"]);
    expect(states.map((s) => s.t)).toEqual(["backoff", "connecting", "ready"]);
    // The peer can answer over the new link.
    b.transport.linkTo("a", a.transport.address).send(note("b", "a", "hi again"));
    await waitFor(() => a.notes().includes("hi again"), { what: "the reply" });
  });

  it("backs off longer after each failed attempt while the peer stays unreachable", async () => {
    const network = new MemoryNetwork();
    const a = await startPeer("a", transport(network, { reconnectInitialMs: 5, reconnectMaxMs: 1000, reconnectJitter: 0 }));
    const link = a.transport.linkTo(undefined, "mem:404");
    const delays: number[] = [];
    link.onState((s) => s.t === "backoff" && delays.push(s.retryInMs));
    await waitFor(() => delays.length >= 4, { what: "four failed attempts" });
    expect(delays.slice(0, 4)).toEqual([5, 10, 20, 40]);
  });

  it("fails a bus request to a partitioned peer with UNAVAILABLE after maxAttempts, and works again once healed", async () => {
    const network = new MemoryNetwork();
    const { a, b } = await busPair(network);
    expect((await a.bus.request("b", { type: "ping", payload: 1 })).payload).toEqual({ echo: 1 });
    network.partition(a.t.address, b.t.address);
    const e = await expectMeshError(a.bus.request("b", { type: "ping", payload: 2 }, { timeoutMs: 10_000 }));
    expect(e.code).toBe(Code.Unavailable);
    expect(e.message).toContain("agent b unreachable after 3 attempts");
    expect(a.bus.pendingCount).toBe(0);
    network.heal(a.t.address, b.t.address);
    const reply = await waitFor(() => a.bus.request("b", { type: "ping", payload: 3 }, { timeoutMs: 2000 }), { what: "a request after healing" });
    expect(reply.payload).toEqual({ echo: 3 });
    expect(reply.from).toBe("b");
  });

  it("fails a bus request with DEADLINE_EXCEEDED when the partition outlasts its timeout", async () => {
    const network = new MemoryNetwork();
    const { a, b } = await busPair(network, { maxAttempts: 1000 });
    network.partition(a.t.address, b.t.address);
    const startedAt = Date.now();
    const e = await expectMeshError(a.bus.request("b", { type: "ping", payload: 1 }, { timeoutMs: 300 }));
    expect(e.code).toBe(Code.DeadlineExceeded);
    expect(e.message).toContain("no reply from agent b within 300 ms");
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(290);
    expect(a.bus.pendingCount).toBe(0);
  });

  it("keeps exactly one usable link per pair when two agents dial each other at once", async () => {
    const network = new MemoryNetwork();
    const [a, b] = await pair(network);
    const ab = a.transport.linkTo("b", b.transport.address);
    const ba = b.transport.linkTo("a", a.transport.address);
    ab.send(note("a", "b", "from a"));
    ba.send(note("b", "a", "from b"));
    // Settled: the redundant link is gone on both sides, and the survivor is up.
    const settled = (p: LinkPeer) => p.transport.links().length === 1 && p.transport.links()[0].state.t === "ready";
    await waitFor(() => settled(a) && settled(b) && network.openConnections === 1, { what: "one link per pair" });
    expect(a.usableLinksTo("b")).toHaveLength(1);
    expect(b.usableLinksTo("a")).toHaveLength(1);
    // The survivor is the stream dialed by the smaller id, on both sides.
    expect(a.usableLinksTo("b")[0].direction).toBe("outbound");
    expect(b.usableLinksTo("a")[0].direction).toBe("inbound");
    await waitFor(() => a.notes().includes("from b") && b.notes().includes("from a"), { what: "the first notes" });
    // Both sides now pick the survivor and it carries traffic both ways.
    a.transport.linkTo("b", b.transport.address).send(note("a", "b", "again from a"));
    b.transport.linkTo("a", a.transport.address).send(note("b", "a", "again from b"));
    await waitFor(() => a.notes().includes("again from b") && b.notes().includes("again from a"), { what: "traffic over the survivor" });
    expect(network.openConnections).toBe(1);
    expect(a.usableLinksTo("b")).toHaveLength(1);
    expect(b.usableLinksTo("a")).toHaveLength(1);
  });

  it("closes a link that dialed its own transport instead of redialing it", async () => {
    const network = new MemoryNetwork();
    const a = await startPeer("a", transport(network));
    const link = a.transport.linkTo(undefined, a.transport.address);
    const states: string[] = [];
    link.onState((s) => states.push(s.t));
    await waitFor(() => link.state.t === "closed", { what: "the self-link to close" });
    expect(link.state).toEqual({ t: "closed", reason: "dialed itself" });
    expect(states).not.toContain("backoff");
    expect(a.transport.links()).toEqual([]);
  });

  it("closes its links on stop, telling peers, and refuses new streams", async () => {
    const network = new MemoryNetwork();
    const [a, b] = await pair(network);
    const link = a.transport.linkTo("b", b.transport.address);
    link.send(note("a", "b", 1));
    await waitFor(() => b.notes().length === 1, { what: "the link to be up" });
    await b.transport.stop();
    await waitFor(() => link.state.t === "backoff", { what: "a to see b go" });
    expect(b.transport.links()).toEqual([]);
    expect(network.openConnections).toBe(0);
  });
});
