/** SimNetwork: latency and loss, crash, isolation, partitions (also of messages in flight), counters by kind. */
import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { GossipDigestSchema } from "../../gen/agentmesh/v1/gossip_pb.js";
import { ProbeSchema } from "../../gen/agentmesh/v1/membership_pb.js";
import type { Body } from "../../src/protocol/envelope.js";
import { SimNetwork, trafficKind } from "../../src/sim/sim-network.js";
import { seededRandom, VirtualClock } from "../../src/sim/virtual-clock.js";

const probe = (seq: number): Body => ({ case: "probe", value: create(ProbeSchema, { seq: BigInt(seq), targetId: "b" }) });

function net(options: ConstructorParameters<typeof SimNetwork>[2] = {}, seed = 1) {
  const clock = new VirtualClock();
  const network = new SimNetwork(clock, seededRandom(seed), options);
  const got: Record<string, { from: string; seq: number; at: number }[]> = { a: [], b: [], c: [] };
  for (const id of ["a", "b", "c"]) {
    network.attach(id, `addr-${id}`, (from, body) => got[id].push({ from, seq: body.case === "probe" ? Number(body.value.seq) : -1, at: clock.now() }));
  }
  return { clock, network, got };
}

describe("SimNetwork", () => {
  it("delivers after a latency within its bounds, by id or by address", () => {
    const { clock, network, got } = net({ minLatencyMs: 1, maxLatencyMs: 3 });
    for (let i = 0; i < 200; i++) network.send("a", { id: "b", address: "" }, probe(i));
    network.send("a", { address: "addr-c" }, probe(999));
    expect(got.b).toEqual([]);
    clock.advance(3);
    expect(got.b).toHaveLength(200);
    for (const m of got.b) expect(m.at >= 1 && m.at <= 3).toBe(true);
    expect(got.c).toEqual([{ from: "a", seq: 999, at: got.c[0].at }]);
    expect(network.stats).toMatchObject({ sent: 201, delivered: 201, lost: 0, cut: 0 });
  });

  it("loses messages at about the loss rate, and the same ones for the same seed", () => {
    const run = (seed: number) => {
      const { clock, network, got } = net({ lossRate: 0.1 }, seed);
      for (let i = 0; i < 10_000; i++) network.send("a", { id: "b", address: "" }, probe(i));
      clock.advance(10);
      return { lost: network.stats.lost, seqs: got.b.map((m) => m.seq) };
    };
    const x = run(5);
    expect(x.lost).toBeGreaterThan(850);
    expect(x.lost).toBeLessThan(1150);
    expect(x.seqs).toHaveLength(10_000 - x.lost);
    expect(run(5)).toEqual(x);
    expect(run(6).seqs).not.toEqual(x.seqs);
  });

  it("crash: nothing reaches a crashed node or leaves it, messages in flight included", () => {
    const { clock, network, got } = net();
    network.send("a", { id: "b", address: "" }, probe(1)); // in flight when b crashes
    network.crash("b");
    network.send("a", { id: "b", address: "" }, probe(2));
    network.send("b", { id: "a", address: "" }, probe(3));
    clock.advance(10);
    expect(got.b).toEqual([]);
    expect(got.a).toEqual([]);
    expect(network.isCrashed("b")).toBe(true);
    expect(network.stats.cut).toBe(3);
  });

  it("isolation drops a node's traffic both ways until restored; its peers still talk", () => {
    const { clock, network, got } = net();
    network.isolate("b");
    network.send("a", { id: "b", address: "" }, probe(1));
    network.send("b", { id: "a", address: "" }, probe(2));
    network.send("a", { id: "c", address: "" }, probe(3));
    clock.advance(10);
    expect(got.a).toEqual([]);
    expect(got.b).toEqual([]);
    expect(got.c.map((m) => m.seq)).toEqual([3]);
    network.restore("b");
    network.send("a", { id: "b", address: "" }, probe(4));
    network.send("b", { id: "a", address: "" }, probe(5));
    clock.advance(10);
    expect(got.b.map((m) => m.seq)).toEqual([4]);
    expect(got.a.map((m) => m.seq)).toEqual([5]);
  });

  it("partitions into groups (unlisted nodes reach no one), drops messages in flight across the cut, and heals", () => {
    const { clock, network, got } = net();
    network.send("a", { id: "b", address: "" }, probe(1)); // in flight when the cut comes
    network.partition(["a", "c"], ["b"]);
    expect(network.reachable("a", "c")).toBe(true);
    expect(network.reachable("a", "b")).toBe(false);
    expect(network.reachable("a", "zz")).toBe(false);
    network.send("a", { id: "c", address: "" }, probe(2));
    network.send("b", { id: "c", address: "" }, probe(3));
    clock.advance(10);
    expect(got.b).toEqual([]);
    expect(got.c.map((m) => m.seq)).toEqual([2]);
    network.heal();
    network.send("b", { id: "c", address: "" }, probe(4));
    clock.advance(10);
    expect(got.c.map((m) => m.seq)).toEqual([2, 4]);
  });

  it("counts messages by kind and the membership updates they carry", () => {
    const { network } = net();
    const digest: Body = { case: "gossipDigest", value: create(GossipDigestSchema, {}) };
    expect(trafficKind(digest)).toBe("state");
    expect(trafficKind(probe(1))).toBe("membership");
    network.send("a", { id: "b", address: "" }, digest);
    network.send("a", { id: "b", address: "" }, probe(1));
    network.send("a", { id: "b", address: "" }, probe(2));
    expect(network.stats.sentByKind).toEqual({ membership: 2, state: 1 });
  });
});
