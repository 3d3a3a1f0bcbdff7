import { create } from "@bufbuild/protobuf";
import { afterEach, describe, expect, it } from "vitest";
import { AgentInfoSchema, MemberStatus } from "../../gen/agentmesh/v1/membership_pb.js";
import { MeshMessageBus } from "../../src/bus/mesh-bus.js";
import { Code, MeshError } from "../../src/protocol/errors.js";
import type { TransportConfig } from "../../src/transport/config.js";
import { faultPolicy, noFaults, seededRandom, type FaultPolicy } from "../../src/transport/faults.js";
import { MemoryNetwork, type MemoryNetworkOptions, type MemoryTransport } from "../../src/transport/memory-transport.js";
import type { Link, Transport } from "../../src/transport/transport.js";
import { note, startPeer, type LinkPeer } from "../helpers/link-host.js";
import { ManualClock } from "../helpers/manual-clock.js";
import { waitFor } from "../helpers/wait.js";

const fast: Partial<TransportConfig> = { reconnectInitialMs: 10, reconnectMaxMs: 100, closeGraceMs: 200 };

const started: Transport[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((t) => t.stop()));
});

function transport(network: MemoryNetwork, address?: string): MemoryTransport {
  const t = network.transport({ address, config: fast });
  started.push(t);
  return t;
}

/** A network with agents a and b and a ready link a → b (faults start after the handshake). */
async function linkedPair(options: MemoryNetworkOptions = {}): Promise<{ network: MemoryNetwork; a: LinkPeer; b: LinkPeer; link: Link }> {
  const network = new MemoryNetwork(options);
  const a = await startPeer("a", transport(network));
  const b = await startPeer("b", transport(network));
  const link = a.transport.linkTo("b", b.transport.address);
  await waitFor(() => link.state.t === "ready", { what: "the link to be up" });
  return { network, a, b, link };
}

const tick = () => new Promise<void>((r) => setImmediate(r));

/** Sends notes 0..count-1 from a to b, one frame each (one per tick); returns the frames the network took. */
async function sendFrames(network: MemoryNetwork, link: Link, count: number): Promise<number> {
  const before = network.frames.sent;
  for (let i = 0; i < count; i++) {
    link.send(note("a", "b", i));
    await tick();
    await tick();
  }
  await waitFor(() => network.frames.sent - before === count && link.queued === 0, { what: `${count} frames to enter the network` });
  return network.frames.sent - before;
}

/** Counts of the frame counters since `before`. */
function since(network: MemoryNetwork, before: typeof network.frames) {
  const now = network.frames;
  return {
    sent: now.sent - before.sent,
    delivered: now.delivered - before.delivered,
    dropped: now.dropped - before.dropped,
    duplicated: now.duplicated - before.duplicated,
    reordered: now.reordered - before.reordered,
    delayed: now.delayed - before.delayed,
  };
}

async function expectMeshError(fn: () => unknown): Promise<MeshError> {
  try {
    await fn();
  } catch (err) {
    expect(err).toBeInstanceOf(MeshError);
    return err as MeshError;
  }
  throw new Error("expected a MeshError");
}

describe("fault policy", () => {
  it("is all off by default and validates every knob, naming it", async () => {
    expect(faultPolicy()).toEqual({ dropRate: 0, duplicateRate: 0, reorderRate: 0, reorderWindowMs: 100, delayMs: 0, jitterMs: 0 });
    expect(faultPolicy({ dropRate: 0.5, delayMs: undefined })).toEqual({ ...noFaults, dropRate: 0.5 });
    const cases: [Partial<FaultPolicy>, string][] = [
      [{ dropRate: 1.5 }, "faults.dropRate: must be a probability in [0, 1], got 1.5"],
      [{ duplicateRate: -0.1 }, "faults.duplicateRate: must be a probability in [0, 1]"],
      [{ reorderRate: Number.NaN }, "faults.reorderRate"],
      [{ delayMs: -1 }, "faults.delayMs: must be a duration of 0 ms or more, got -1"],
      [{ jitterMs: Number.POSITIVE_INFINITY }, "faults.jitterMs"],
      [{ lossRate: 0.1 } as unknown as Partial<FaultPolicy>, "faults.lossRate: unknown fault knob"],
    ];
    for (const [policy, message] of cases) {
      const e = await expectMeshError(() => faultPolicy(policy));
      expect(e.code).toBe(Code.InvalidArgument);
      expect(e.message).toContain(message);
    }
    const network = new MemoryNetwork();
    expect((await expectMeshError(() => network.setFaults({ dropRate: 2 }))).code).toBe(Code.InvalidArgument);
  });

  it("draws from a seeded source: the same seed, the same numbers", () => {
    const take = (seed: number) => Array.from({ length: 5 }, seededRandom(seed));
    expect(take(7)).toEqual(take(7));
    expect(take(7)).not.toEqual(take(8));
    for (const x of take(9)) expect(x >= 0 && x < 1).toBe(true);
  });
});

describe("MemoryNetwork faults", () => {
  it("takes the fast path with no policy: every frame delivered once, no random number drawn", async () => {
    let draws = 0;
    const random = seededRandom(1);
    const { network, b, link } = await linkedPair({ random: () => (draws++, random()) });
    const before = { ...network.frames };
    await sendFrames(network, link, 50);
    await waitFor(() => b.notes().length === 50, { what: "50 notes" });
    expect(since(network, before)).toEqual({ sent: 50, delivered: 50, dropped: 0, duplicated: 0, reordered: 0, delayed: 0 });
    expect(b.notes()).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(draws).toBe(0);
    expect(network.faultsBetween(link.remoteAddress, b.transport.address)).toBeUndefined();
  });

  it("drops about dropRate of the frames and delivers the rest in order; the same seed drops the same frames", async () => {
    const run = async () => {
      const { network, b, link } = await linkedPair({ seed: 42 });
      network.setFaults({ dropRate: 0.3 });
      const before = { ...network.frames };
      expect(await sendFrames(network, link, 200)).toBe(200);
      const c = since(network, before);
      await waitFor(() => b.notes().length === 200 - c.dropped, { what: "the surviving notes" });
      expect(c.delivered).toBe(200 - c.dropped);
      expect(c.dropped).toBeGreaterThan(30);
      expect(c.dropped).toBeLessThan(90);
      const got = b.notes() as number[];
      expect([...got].sort((x, y) => x - y)).toEqual(got); // in order, none twice
      expect(new Set(got).size).toBe(got.length);
      return got;
    };
    const first = await run();
    expect(await run()).toEqual(first);
  });

  it("never drops the first frame of a stream, so a link comes up even when every later frame is lost", async () => {
    const network = new MemoryNetwork({ faults: { dropRate: 1 } });
    const a = await startPeer("a", transport(network));
    const b = await startPeer("b", transport(network));
    const link = a.transport.linkTo("b", b.transport.address);
    await waitFor(() => link.state.t === "ready" && b.hellos.length === 1, { what: "the handshake through a network that drops the rest" });
    const before = { ...network.frames };
    await sendFrames(network, link, 10);
    expect(since(network, before)).toMatchObject({ sent: 10, dropped: 10, delivered: 0 });
    expect(b.notes()).toEqual([]);
    expect(link.state.t).toBe("ready");
  });

  it("duplicates about duplicateRate of the frames, each copy right after its original", async () => {
    const { network, b, link } = await linkedPair({ seed: 3 });
    network.setFaults({ duplicateRate: 0.25 });
    const before = { ...network.frames };
    await sendFrames(network, link, 200);
    const c = since(network, before);
    expect(c.duplicated).toBeGreaterThan(20);
    expect(c.duplicated).toBeLessThan(80);
    await waitFor(() => b.notes().length === 200 + c.duplicated, { what: "every note and its copies" });
    expect(c.delivered).toBe(200 + c.duplicated);
    const got = b.notes() as number[];
    expect([...new Set(got)]).toEqual(Array.from({ length: 200 }, (_, i) => i));
    expect([...got].sort((x, y) => x - y)).toEqual(got);
    expect(got.filter((x, i) => got[i + 1] === x)).toHaveLength(c.duplicated);
  });

  it("holds back about reorderRate of the frames so that the next one overtakes each", async () => {
    const { network, b, link } = await linkedPair({ seed: 5 });
    network.setFaults({ reorderRate: 0.2, reorderWindowMs: 5000 });
    const before = { ...network.frames };
    await sendFrames(network, link, 200);
    const last = since(network, before);
    // A frame held at the very end waits for its window; one more frame releases it.
    link.send(note("a", "b", 200));
    await waitFor(() => b.notes().length === 201, { what: "all 201 notes" });
    const c = since(network, before);
    expect(c.reordered).toBeGreaterThan(15);
    expect(c.reordered).toBeLessThan(60);
    expect(c.reordered - last.reordered).toBeLessThanOrEqual(1);
    const got = b.notes() as number[];
    expect([...got].sort((x, y) => x - y)).toEqual(Array.from({ length: 201 }, (_, i) => i)); // each exactly once
    const inversions = got.filter((x, i) => i > 0 && got[i - 1] > x).length;
    expect(inversions).toBe(c.reordered);
    // Each inversion is one frame overtaken by the next: a swap of neighbours.
    for (let i = 1; i < got.length; i++) if (got[i - 1] > got[i]) expect(got[i - 1] - got[i]).toBe(1);
  });

  it("releases a held frame after reorderWindowMs when no later frame comes", async () => {
    const clock = new ManualClock();
    const { network, b, link } = await linkedPair({ clock });
    network.setFaults({ reorderRate: 1, reorderWindowMs: 100 });
    link.send(note("a", "b", "held"));
    await waitFor(() => network.frames.sent === 3, { what: "the frame to enter the network" }); // 2 hellos + 1
    await tick();
    expect(b.notes()).toEqual([]);
    clock.advance(99);
    await tick();
    expect(b.notes()).toEqual([]);
    clock.advance(1);
    await waitFor(() => b.notes().length === 1, { what: "the held frame" });
    expect(network.frames.reordered).toBe(0); // nothing overtook it
  });

  it("delays every frame by delayMs plus jitter, keeping the stream's order", async () => {
    const clock = new ManualClock();
    const { network, b, link } = await linkedPair({ clock, seed: 11 });
    network.setFaults({ delayMs: 50, jitterMs: 30 });
    const before = { ...network.frames };
    await sendFrames(network, link, 40); // manual time stands still while they are sent
    await tick();
    expect(b.notes()).toEqual([]);
    clock.advance(49);
    await tick();
    expect(b.notes()).toEqual([]);
    for (let t = 0; t < 31 && b.notes().length < 40; t++) {
      clock.advance(1);
      await tick();
      await tick();
    }
    await waitFor(() => b.notes().length === 40, { what: "the delayed notes" });
    expect(b.notes()).toEqual(Array.from({ length: 40 }, (_, i) => i));
    expect(since(network, before)).toMatchObject({ sent: 40, delivered: 40, delayed: 40, dropped: 0 });
  });

  it("applies a pair's policy instead of the network-wide one, and clearPairFaults restores it", async () => {
    const network = new MemoryNetwork();
    const a = await startPeer("a", transport(network));
    const b = await startPeer("b", transport(network));
    const c = await startPeer("c", transport(network));
    const ab = a.transport.linkTo("b", b.transport.address);
    const ac = a.transport.linkTo("c", c.transport.address);
    await waitFor(() => ab.state.t === "ready" && ac.state.t === "ready", { what: "both links" });
    network.setFaults({ dropRate: 1 });
    network.setPairFaults(a.transport.address, b.transport.address, {}); // exempt
    expect(network.faultsBetween(b.transport.address, a.transport.address)).toBeUndefined();
    expect(network.faultsBetween(a.transport.address, c.transport.address)?.dropRate).toBe(1);
    ab.send(note("a", "b", 1));
    ac.send(note("a", "c", 1));
    await waitFor(() => b.notes().length === 1 && network.frames.dropped === 1, { what: "b's note through, c's lost" });
    expect(c.notes()).toEqual([]);
    network.clearPairFaults(a.transport.address, b.transport.address);
    ab.send(note("a", "b", 2));
    await waitFor(() => network.frames.dropped === 2, { what: "b's second note to be lost" });
    network.clearFaults();
    ab.send(note("a", "b", 3));
    ac.send(note("a", "c", 3));
    await waitFor(() => b.notes().length === 2 && c.notes().length === 1, { what: "traffic after clearFaults" });
    expect(b.notes()).toEqual([1, 3]);
    expect(c.notes()).toEqual([3]);
  });

  it("delivers frames still delayed when the faults are cleared, before the frames sent after", async () => {
    const clock = new ManualClock();
    const { network, b, link } = await linkedPair({ clock });
    network.setFaults({ delayMs: 100 });
    link.send(note("a", "b", "slow"));
    await waitFor(() => network.frames.sent === 3, { what: "the delayed frame" });
    network.clearFaults();
    link.send(note("a", "b", "after"));
    await waitFor(() => network.frames.sent === 4, { what: "the next frame" });
    await tick();
    expect(b.notes()).toEqual([]); // it waits behind the delayed one
    clock.advance(100);
    await waitFor(() => b.notes().length === 2, { what: "both notes" });
    expect(b.notes()).toEqual(["slow", "after"]);
  });

  it("partitions groups both ways until healAll, each side still talking within itself", async () => {
    const network = new MemoryNetwork();
    const peers = await Promise.all(["p1", "p2", "p3", "p4"].map(async (id) => startPeer(id, transport(network))));
    const [p1, p2, p3, p4] = peers;
    const addr = (p: LinkPeer) => p.transport.address;
    network.partitionGroups([addr(p1), addr(p2)], [addr(p3), addr(p4)]);
    p1.transport.linkTo("p2", addr(p2)).send(note("p1", "p2", "inside"));
    p3.transport.linkTo("p4", addr(p4)).send(note("p3", "p4", "inside"));
    const across = p1.transport.linkTo("p3", addr(p3));
    const back = p4.transport.linkTo("p2", addr(p2));
    across.send(note("p1", "p3", "across"));
    back.send(note("p4", "p2", "across"));
    await waitFor(() => p2.notes().length === 1 && p4.notes().length === 1, { what: "traffic within each side" });
    await waitFor(() => across.state.t === "backoff" && back.state.t === "backoff", { what: "links across to be refused" });
    expect(p3.notes()).toEqual([]);
    network.healAll();
    await waitFor(() => p3.notes().length === 1 && p2.notes().length === 2, { what: "the queued notes after healing" });
    expect(p2.notes()).toEqual(["inside", "across"]);
  });

  it("crashes a transport: its streams break, it can neither dial nor be dialed, and its address can be reused", async () => {
    const network = new MemoryNetwork();
    const a = await startPeer("a", transport(network));
    const b = await startPeer("b", transport(network));
    const ab = a.transport.linkTo("b", b.transport.address);
    ab.send(note("a", "b", 1));
    await waitFor(() => b.notes().length === 1 && ab.state.t === "ready", { what: "the link to be up" });
    network.crash(b.transport.address);
    await waitFor(() => ab.state.t === "backoff", { what: "a to lose the link" });
    expect(network.openConnections).toBe(0);
    // The crashed side's own dials fail too: no message leaves it.
    const ba = b.transport.linkTo("a", a.transport.address);
    ba.send(note("b", "a", "from the grave"));
    await waitFor(() => ba.state.t === "backoff", { what: "the crashed side's dial to fail" });
    expect(ba.state.t === "backoff" && ba.state.error.message).toContain("crashed");
    expect(a.notes()).toEqual([]);
    expect(() => network.crash(b.transport.address)).toThrow(/no transport listens/);
    // A restart at the same address is reachable again; the old transport stays dead.
    const b2 = await startPeer("b", transport(network, b.transport.address));
    await waitFor(() => ab.state.t === "ready", { what: "a to reach the restarted b" });
    ab.send(note("a", "b", 2));
    await waitFor(() => b2.notes().includes(2), { what: "the restarted b to receive" });
    expect(a.notes()).toEqual([]);
  });
});

describe("links to agents that are gone", () => {
  it("forget() closes a link dialed for the agent that never got through, and no other", async () => {
    const network = new MemoryNetwork();
    const a = await startPeer("a", transport(network));
    const b = await startPeer("b", transport(network));
    const ghost = a.transport.linkTo("ghost", "mem:404");
    const seed = a.transport.linkTo(undefined, "mem:405");
    const toB = a.transport.linkTo("b", b.transport.address);
    ghost.send(note("a", "ghost", "stale"));
    await waitFor(() => ghost.state.t === "backoff" && seed.state.t === "backoff" && toB.state.t === "ready", { what: "the links to settle" });
    a.transport.forget("ghost");
    await waitFor(() => ghost.state.t === "closed", { what: "the ghost link to close" });
    expect(ghost.state).toEqual({ t: "closed", reason: "agent ghost left the mesh" });
    expect(ghost.queued).toBe(0);
    expect([seed.state.t, toB.state.t]).toEqual(["backoff", "ready"]);
    a.transport.forget("b");
    await waitFor(() => toB.state.t === "closed", { what: "the link to b to close" });
    expect(a.transport.links()).toEqual([seed]);
  });
});

describe("the bus over a faulty network", () => {
  /** Agents a and b with a bus each; b's handler counts its runs per message id. */
  async function busPair(network: MemoryNetwork) {
    const addresses = new Map<string, string>();
    const runs = new Map<string, number>();
    const make = async (id: string) => {
      const t = transport(network);
      addresses.set(id, t.address);
      const bus = new MeshMessageBus({
        selfId: id,
        transport: t,
        directory: { addressOf: (x) => addresses.get(x), peerIds: () => [...addresses.keys()].filter((x) => x !== id) },
        config: { maxAttempts: 3, retryInitialMs: 10, retryMaxMs: 50 },
      });
      const info = create(AgentInfoSchema, { id, status: MemberStatus.ALIVE, address: t.address });
      await t.start({ localInfo: () => info, onEnvelope: (env, link) => bus.receive(env, link) });
      return bus;
    };
    const a = await make("a");
    const b = await make("b");
    b.attach("b", (m) => {
      runs.set(m.id, (runs.get(m.id) ?? 0) + 1);
      return { echo: m.payload };
    });
    return { a, b, runs };
  }

  it("completes each request once under drop + duplicate + reorder when the caller retries with the same message id; the handler runs once", async () => {
    const network = new MemoryNetwork({ seed: 2024 });
    const { a, runs } = await busPair(network);
    expect((await a.request("b", { type: "ping", payload: "warm-up" })).payload).toEqual({ echo: "warm-up" });
    network.setFaults({ dropRate: 0.2, duplicateRate: 0.3, reorderRate: 0.3, reorderWindowMs: 50 });
    const before = { ...network.frames };
    let attempts = 0;
    /** One request, asked again with the same id whenever no reply came in time. */
    const ask = async (i: number): Promise<unknown> => {
      // A lost request or reply is noticed only at the deadline (the link stays up); the caller then asks
      // again with the same id, and b answers from its reply cache without running the handler again.
      for (let attempt = 1; ; attempt++) {
        attempts++;
        try {
          return (await a.request("b", { id: `req-${i}`, type: "ping", payload: i }, { timeoutMs: 300 })).payload;
        } catch (err) {
          expect(MeshError.from(err).code).toBe(Code.DeadlineExceeded);
          if (attempt === 30) throw err;
        }
      }
    };
    // Twenty requests in flight at once, each in its own frame, so that frames can overtake each other.
    const asked: Promise<unknown>[] = [];
    for (let i = 0; i < 20; i++) {
      asked.push(ask(i));
      await tick();
      await tick();
    }
    expect(await Promise.all(asked)).toEqual(Array.from({ length: 20 }, (_, i) => ({ echo: i })));
    for (let i = 0; i < 20; i++) expect(runs.get(`req-${i}`)).toBe(1);
    const c = since(network, before);
    expect(c.dropped).toBeGreaterThan(0);
    expect(c.duplicated).toBeGreaterThan(0);
    expect(c.reordered).toBeGreaterThan(0);
    expect(attempts).toBeGreaterThan(20); // some requests or replies were lost and asked again
    expect(a.pendingCount).toBe(0);
  });
});
