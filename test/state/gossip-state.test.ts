import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import {
  DigestEntrySchema,
  GossipDigestSchema,
  GossipUpdatesSchema,
  StateEntrySchema,
  StateVersionSchema,
  type GossipUpdates,
} from "../../gen/agentmesh/v1/gossip_pb.js";
import { HeartbeatSchema } from "../../gen/agentmesh/v1/membership_pb.js";
import { Code, MeshError } from "../../src/protocol/errors.js";
import type { Body } from "../../src/protocol/envelope.js";
import type { StateConfig } from "../../src/state/config.js";
import { GossipState, type StateChange } from "../../src/state/gossip-state.js";
import { MAX_TRACE_TEXT } from "../../src/state/wire.js";
import { mulberry32, VirtualClock } from "../helpers/virtual-net.js";
import { makeCluster } from "./sim-cluster.js";

const enc = new TextEncoder();

/** One node whose sends are captured instead of delivered. */
function lone(selfId = "a", opts: { peers?: string[]; config?: Partial<StateConfig>; send?: (to: string, b: Body) => void } = {}) {
  const clock = new VirtualClock(1_000_000);
  const sent: Array<{ to: string; body: Body }> = [];
  const node = new GossipState({
    selfId,
    clock,
    random: mulberry32(1),
    peers: () => opts.peers ?? ["a", "b", "c", "d"],
    send: opts.send ?? ((to, body) => sent.push({ to, body })),
    config: { gossipIntervalMs: 100, tombstoneTtlMs: 1000, ...opts.config },
  });
  return { clock, sent, node };
}

const version = (clock: number, origin: string) => create(StateVersionSchema, { clock: BigInt(clock), origin });
const digest = (...entries: Array<[string, number, string] | "marker">): Body => ({
  case: "gossipDigest",
  value: create(GossipDigestSchema, {
    entries: entries.map((e) => (e === "marker" ? create(DigestEntrySchema, { key: "" }) : create(DigestEntrySchema, { key: e[0], version: version(e[1], e[2]) }))),
  }),
});
const entry = (key: string, value: unknown, clock: number, origin: string, tombstone = false) =>
  create(StateEntrySchema, { key, value: enc.encode(JSON.stringify(value)), version: version(clock, origin), tombstone });
const updates = (entries: ReturnType<typeof entry>[], wanted: string[] = []): Body => ({
  case: "gossipUpdates",
  value: create(GossipUpdatesSchema, { entries, wanted }),
});
const asUpdates = (b: Body): GossipUpdates => {
  if (b.case !== "gossipUpdates") throw new Error(`expected gossipUpdates, got ${b.case}`);
  return b.value;
};
const summary = (u: GossipUpdates) => ({ entries: u.entries.map((e) => `${e.key}@${e.version?.clock}`).sort(), wanted: [...u.wanted].sort() });

describe("GossipState: the local map", () => {
  it("sets, gets, lists and deletes JSON values", () => {
    const { node } = lone();
    node.set("agent/a/load", { load: 3, capacity: 10 });
    node.set("agent/b/load", 7);
    node.set("other", ["x", null, true]);
    expect(node.get("agent/a/load")).toEqual({ load: 3, capacity: 10 });
    expect(node.get<number>("agent/b/load")).toBe(7);
    expect(node.get("missing")).toBeUndefined();
    expect(node.keys()).toEqual(["agent/a/load", "agent/b/load", "other"]);
    expect(node.keys("agent/")).toEqual(["agent/a/load", "agent/b/load"]);
    expect(node.entries("agent/b").map((e) => [e.key, e.value, e.version.clock])).toEqual([["agent/b/load", 7, 2n]]);
    expect(node.delete("agent/b/load")).toBe(true);
    expect(node.has("agent/b/load")).toBe(false);
    expect(node.get("agent/b/load")).toBeUndefined();
    expect(node.getEntry("agent/b/load")?.tombstone).toBe(true);
    expect(node.keys("agent/")).toEqual(["agent/a/load"]);
    expect(node.delete("agent/b/load")).toBe(false);
    expect(node.delete("never")).toBe(false);
    expect(node.storedCount).toBe(3);
  });

  it("returns a fresh copy on every get, so callers cannot change the replicated value", () => {
    const { node } = lone();
    node.set("k", { n: 1 });
    (node.get("k") as { n: number }).n = 99;
    expect(node.get("k")).toEqual({ n: 1 });
  });

  it("ticks the Lamport clock on every local write and stamps writes with its own id", () => {
    const { node } = lone("me");
    expect(node.set("a", 1)).toEqual({ clock: 1n, origin: "me" });
    expect(node.set("a", 2)).toEqual({ clock: 2n, origin: "me" });
    node.delete("a");
    expect(node.getEntry("a")?.version).toEqual({ clock: 3n, origin: "me" });
    expect(node.lamportClock).toBe(3n);
  });

  it("starts from initialLamport when given", () => {
    const node = new GossipState({ selfId: "x", send: () => {}, peers: () => [], clock: new VirtualClock(), initialLamport: 500n });
    expect(node.set("k", 1).clock).toBe(501n);
  });

  it.each([
    ["an empty key", "", 1, Code.InvalidArgument, "non-empty"],
    ["undefined", "k", undefined, Code.InvalidArgument, "JSON"],
    ["a function", "k", () => 1, Code.InvalidArgument, "JSON"],
    ["a bigint", "k", 1n, Code.InvalidArgument, "JSON"],
    ["a value over maxValueBytes", "k", "x".repeat(200), Code.ResourceExhausted, "maxValueBytes"],
  ])("refuses %s with a MeshError naming the problem", (_n, key, value, code, text) => {
    const { node } = lone("a", { config: { maxValueBytes: 100 } });
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    let err: unknown;
    try {
      node.set(key, value);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(MeshError);
    expect((err as MeshError).code).toBe(code);
    expect((err as MeshError).message).toContain(text);
    expect(() => node.set("k", cyclic)).toThrow(/JSON/);
    expect(node.lamportClock).toBe(0n);
  });

  it("tells listeners about local writes and deletes, and stops after unsubscribe", () => {
    const { node } = lone("me");
    const seen: StateChange[] = [];
    const off = node.onChange((c) => seen.push(c));
    node.set("k", { a: 1 });
    node.delete("k");
    node.delete("k");
    off();
    node.set("k", 2);
    expect(seen).toEqual([
      { key: "k", value: { a: 1 }, deleted: false, version: { clock: 1n, origin: "me" }, origin: "me", local: true },
      { key: "k", value: undefined, deleted: true, version: { clock: 2n, origin: "me" }, origin: "me", local: true },
    ]);
  });

  it("keeps calling other listeners when one throws", () => {
    const { node } = lone();
    const seen: string[] = [];
    node.onChange(() => {
      throw new Error("boom");
    });
    node.onChange((c) => seen.push(c.key));
    node.set("k", 1);
    expect(seen).toEqual(["k"]);
  });
});

describe("GossipState: the exchange", () => {
  it("answers a digest with what it has newer or the digest lacks, and wants what the digest has newer", () => {
    const { node, sent } = lone("a");
    node.set("same", 1); // 1@a
    node.set("mine-newer", 1); // 2@a
    node.set("only-mine", 1); // 3@a
    node.set("theirs-newer", 1); // 4@a
    expect(node.receive("b", digest(["same", 1, "a"], ["mine-newer", 1, "b"], ["theirs-newer", 9, "b"], ["only-theirs", 1, "b"]))).toBe(true);
    expect(sent).toHaveLength(1);
    expect(sent[0].to).toBe("b");
    expect(summary(asUpdates(sent[0].body))).toEqual({ entries: ["mine-newer@2", "only-mine@3"], wanted: ["only-theirs", "theirs-newer"] });
  });

  it("stays silent when the digest matches its state", () => {
    const { node, sent } = lone("a");
    node.set("k", 1);
    node.receive("b", digest(["k", 1, "a"]));
    expect(sent).toEqual([]);
  });

  it("pushes everything to an empty digest (a new node)", () => {
    const { node, sent } = lone("a");
    node.set("x", 1);
    node.set("y", 2);
    node.receive("new", digest());
    expect(summary(asUpdates(sent[0].body))).toEqual({ entries: ["x@1", "y@2"], wanted: [] });
  });

  it("pushes lacking keys of a windowed digest only within the window's key range", () => {
    const { node, sent } = lone("a");
    for (const k of ["a", "c", "e", "g"]) node.set(k, k);
    node.receive("b", digest(["b", 1, "b"], ["f", 1, "b"], "marker"));
    expect(summary(asUpdates(sent[0].body))).toEqual({ entries: ["c@2", "e@3"], wanted: ["b", "f"] });
  });

  it("applies updates, moves its Lamport clock past them, answers `wanted` with an empty `wanted`, and tells listeners", () => {
    const { node, sent } = lone("a");
    node.set("asked", "v");
    const seen: StateChange[] = [];
    node.onChange((c) => seen.push(c));
    node.receive("b", updates([entry("pushed", { x: 1 }, 10, "b")], ["asked", "unknown"]));
    expect(node.get("pushed")).toEqual({ x: 1 });
    expect(node.lamportClock).toBe(11n);
    expect(node.set("pushed", 2).clock).toBe(12n);
    expect(seen[0]).toEqual({ key: "pushed", value: { x: 1 }, deleted: false, version: { clock: 10n, origin: "b" }, origin: "b", local: false });
    expect(sent).toHaveLength(1);
    expect(summary(asUpdates(sent[0].body))).toEqual({ entries: ["asked@1"], wanted: [] });
  });

  it("ends the exchange: updates with an empty `wanted` get no answer", () => {
    const { node, sent } = lone("a");
    node.set("k", 1);
    node.receive("b", updates([entry("j", 1, 5, "b")]));
    expect(sent).toEqual([]);
  });

  it("applies a duplicated or stale update once, and ignores older versions", () => {
    const { node } = lone("a");
    const seen: unknown[] = [];
    node.onChange((c) => seen.push(c.value));
    const u = updates([entry("k", "new", 5, "b")]);
    node.receive("b", u);
    node.receive("b", u);
    node.receive("c", updates([entry("k", "old", 4, "z"), entry("k", "tie-loser", 5, "a")]));
    expect(node.get("k")).toBe("new");
    expect(seen).toEqual(["new"]);
    expect(node.stats().entriesApplied).toBe(1);
    expect(node.stats().entriesStale).toBe(3);
  });

  it("applies a remote delete and tells listeners; an unknown key's tombstone is kept silently", () => {
    const { node } = lone("a");
    node.set("k", 1);
    const seen: StateChange[] = [];
    node.onChange((c) => seen.push(c));
    node.receive("b", updates([entry("k", { deletedAtMs: 1_000_000 }, 7, "b", true), entry("u", { deletedAtMs: 1_000_000 }, 7, "b", true)]));
    expect(node.has("k")).toBe(false);
    expect(node.getEntry("u")?.tombstone).toBe(true);
    expect(seen.map((c) => [c.key, c.deleted, c.local])).toEqual([["k", true, false]]);
  });

  it("skips malformed entries without failing", () => {
    const { node } = lone("a");
    const noVersion = create(StateEntrySchema, { key: "nv", value: enc.encode("1") });
    const emptyKey = entry("", 1, 3, "b");
    const notJson = create(StateEntrySchema, { key: "raw", value: new Uint8Array([0xff]), version: version(3, "b") });
    node.receive("b", updates([noVersion, emptyKey, notJson, entry("ok", 1, 4, "b")]));
    expect(node.keys()).toEqual(["ok", "raw"]);
    expect(() => node.get("raw")).toThrow(MeshError);
    expect(node.getEntry("raw")?.value).toEqual(new Uint8Array([0xff]));
    node.receive("b", digest(["ok", 4, "b"]));
  });

  it("does not consume bodies that are not gossip", () => {
    const { node, sent } = lone("a");
    expect(node.receive("b", { case: "heartbeat", value: create(HeartbeatSchema, {}) })).toBe(false);
    expect(sent).toEqual([]);
  });
});

describe("GossipState: rounds", () => {
  it("sends a digest to `fanout` distinct live peers per interval, never to itself, only while started", () => {
    const { node, sent, clock } = lone("a", { peers: ["a", "b", "c", "d", "e"], config: { fanout: 2 } });
    node.set("k", 1);
    clock.advance(1000);
    expect(sent).toEqual([]);
    node.start();
    node.start();
    clock.advance(1000); // the first round falls within one interval, then one per interval
    const rounds = node.stats().rounds;
    expect(rounds).toBeGreaterThanOrEqual(10);
    expect(rounds).toBeLessThanOrEqual(11);
    expect(sent).toHaveLength(rounds * 2);
    for (const s of sent) {
      expect(s.to).not.toBe("a");
      expect(s.body.case).toBe("gossipDigest");
    }
    for (let i = 0; i < sent.length; i += 2) expect(sent[i].to).not.toBe(sent[i + 1].to);
    node.stop();
    expect(node.running).toBe(false);
    expect(clock.pendingTimers).toBe(0);
    const before = sent.length;
    clock.advance(1000);
    expect(sent).toHaveLength(before);
  });

  it("sends nothing when it has no live peers, and survives a send that throws", () => {
    let peers: string[] = ["a"];
    const clock = new VirtualClock();
    let calls = 0;
    const node = new GossipState({
      selfId: "a",
      clock,
      random: mulberry32(2),
      peers: () => peers,
      send: () => {
        calls++;
        throw new MeshError(Code.ResourceExhausted, "link queue full");
      },
      config: { gossipIntervalMs: 10 },
    });
    node.start();
    clock.advance(100);
    expect(calls).toBe(0);
    peers = ["a", "b"];
    clock.advance(100);
    expect(calls).toBeGreaterThanOrEqual(9);
    expect(node.stats().sendFailures).toBe(calls);
    expect(node.running).toBe(true);
    node.stop();
  });
});

describe("GossipState: two nodes", () => {
  it("converge over the wire encoding, both ways, and report remote changes", () => {
    const c = makeCluster({ n: 2, seed: 11, wire: true });
    const [a, b] = c.nodes;
    const seenByB: StateChange[] = [];
    b.onChange((ch) => seenByB.push(ch));
    a.set("from-a", { n: 1 });
    a.set("shared", "a");
    b.set("from-b", [1, 2]);
    expect(a.digestHash()).not.toBe(b.digestHash());
    const rounds = c.roundsToConverge(10);
    expect(rounds).toBeDefined();
    expect(rounds).toBeLessThanOrEqual(3);
    for (const n of [a, b]) {
      expect(n.get("from-a")).toEqual({ n: 1 });
      expect(n.get("from-b")).toEqual([1, 2]);
      expect(n.get("shared")).toBe("a");
    }
    expect(seenByB.filter((ch) => !ch.local).map((ch) => [ch.key, ch.origin]).sort()).toEqual([
      ["from-a", a.selfId],
      ["shared", a.selfId],
    ]);
    // quiet once converged: digests flow, updates do not
    const updatesBefore = a.stats().updatesSent + b.stats().updatesSent;
    for (let i = 0; i < 5; i++) c.round();
    expect(a.stats().updatesSent + b.stats().updatesSent).toBe(updatesBefore);
  });
});

describe("GossipState: the trace of a write", () => {
  const TRACE = { traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", tracestate: "vendor=x" };

  it("keeps the writer's trace with the entry, sends it, and the receiver keeps it when it passes the entry on", () => {
    let current: typeof TRACE | undefined = TRACE;
    const clock = new VirtualClock(1_000_000);
    const sent: Array<{ to: string; body: Body }> = [];
    const a = new GossipState({ selfId: "a", clock, peers: () => ["b"], send: (to, body) => sent.push({ to, body }), traceOf: () => current });
    a.set("traced", 1);
    current = undefined;
    a.set("untraced", 2);
    current = TRACE;
    a.delete("untraced");
    expect(a.getEntry("traced")?.trace).toEqual(TRACE);
    expect(a.getEntry("untraced")?.trace).toEqual(TRACE); // the delete's trace: it was made in a traced span

    a.receive("b", digest()); // an empty digest: a pushes everything
    const pushed = asUpdates(sent[0].body).entries;
    expect(pushed.map((e) => [e.key, e.traceparent, e.tracestate]).sort()).toEqual([
      ["traced", TRACE.traceparent, TRACE.tracestate],
      ["untraced", TRACE.traceparent, TRACE.tracestate],
    ]);

    const { node: b, sent: fromB } = lone("b");
    b.receive("a", updates([...pushed, entry("plain", 3, 9, "a")]));
    expect(b.getEntry("traced")?.trace).toEqual(TRACE);
    expect(b.getEntry("plain")?.trace).toBeUndefined();
    b.receive("c", digest());
    const passedOn = asUpdates(fromB[0].body).entries;
    expect(passedOn.find((e) => e.key === "traced")?.traceparent).toBe(TRACE.traceparent);
    expect(passedOn.find((e) => e.key === "plain")?.traceparent).toBe("");
  });

  it("is not part of the state: versions decide, and the convergence hash ignores it", () => {
    const { node: traced } = lone("x");
    const { node: plain } = lone("x");
    traced.receive("b", updates([create(StateEntrySchema, { ...entry("k", 1, 5, "b"), traceparent: TRACE.traceparent })]));
    plain.receive("b", updates([entry("k", 1, 5, "b")]));
    expect(traced.digestHash()).toBe(plain.digestHash());
    // The same version again, now with a trace: not newer, so nothing changes.
    plain.receive("b", updates([create(StateEntrySchema, { ...entry("k", 1, 5, "b"), traceparent: TRACE.traceparent })]));
    expect(plain.getEntry("k")?.trace).toBeUndefined();
    expect(plain.stats().entriesStale).toBe(1);
  });

  it("writes without a trace when the seam throws", () => {
    const a = new GossipState({ selfId: "a", peers: () => [], send: () => {}, traceOf: () => { throw new Error("no propagator"); } });
    a.set("k", 1);
    expect(a.get("k")).toBe(1);
    expect(a.getEntry("k")?.trace).toBeUndefined();
  });

  it("drops a trace whose texts are over MAX_TRACE_TEXT, keeping the entry", () => {
    const { node } = lone("a");
    const long = "x".repeat(MAX_TRACE_TEXT + 1);
    node.receive("b", updates([
      create(StateEntrySchema, { ...entry("long-parent", 1, 5, "b"), traceparent: long }),
      create(StateEntrySchema, { ...entry("long-state", 1, 5, "b"), traceparent: TRACE.traceparent, tracestate: long }),
    ]));
    expect(node.get("long-parent")).toBe(1);
    expect(node.getEntry("long-parent")?.trace).toBeUndefined();
    expect(node.getEntry("long-state")?.trace).toBeUndefined();
  });
});
