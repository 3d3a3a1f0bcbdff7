/**
 * Many GossipState nodes on a virtual network, in virtual time: convergence after writes, under loss,
 * duplication and reordering, with conflicting writes, deletes, partitions and large states.
 */
import { describe, expect, it } from "vitest";
import type { Body } from "../../src/protocol/envelope.js";
import { compareVersions } from "../../src/state/versions.js";
import { makeCluster, median } from "./sim-cluster.js";

describe("simulated cluster", () => {
  it("50 nodes converge after one write, every node holding the value", () => {
    const c = makeCluster({ n: 50, seed: 1 });
    c.round();
    expect(c.converged()).toBe(true);
    c.nodes[17].set("agent/17/load", { load: 2, capacity: 8 });
    expect(c.converged()).toBe(false);
    const rounds = c.roundsToConverge(30);
    expect(rounds).toBeDefined();
    expect(rounds).toBeLessThanOrEqual(Math.ceil(Math.log2(50)) + 5);
    for (const n of c.nodes) expect(n.get("agent/17/load")).toEqual({ load: 2, capacity: 8 });
  });

  it.each([1, 2, 3])("50 nodes converge with 5 in 100 messages lost, duplicated and reordered, over the wire encoding (seed %i)", (seed) => {
    const c = makeCluster({ n: 50, seed, wire: true, faults: { lossRate: 0.05, duplicateRate: 0.05, reorderRate: 0.05, reorderDelayMs: 30 } });
    c.round();
    for (let i = 0; i < 10; i++) c.nodes[(i * 7) % 50].set(`key-${i}`, { i });
    const rounds = c.roundsToConverge(40);
    expect(rounds).toBeDefined();
    expect(c.net.stats.lost).toBeGreaterThan(0);
    expect(c.net.stats.duplicated).toBeGreaterThan(0);
    expect(c.net.stats.reordered).toBeGreaterThan(0);
    for (const n of c.nodes) expect(n.keys()).toHaveLength(10);
    for (const n of c.nodes) expect(n.get("key-3")).toEqual({ i: 3 });
  });

  it("concurrent writes to one key resolve to the same winner everywhere: the higher Lamport clock, then the higher origin", () => {
    const c = makeCluster({ n: 30, seed: 4 });
    const [x, y, z] = [c.nodes[3], c.nodes[20], c.nodes[9]];
    // equal clocks: origin decides
    const vx = x.set("leader", "x");
    const vy = y.set("leader", "y");
    expect(vx.clock).toBe(vy.clock);
    // z has written more before, so its concurrent write carries a higher clock despite the lowest origin... here node-0009 < node-0020
    z.set("z-1", 1);
    z.set("z-2", 2);
    const vz = z.set("term", "z");
    const vx2 = x.set("term", "x");
    expect(vz.clock).toBeGreaterThan(vx2.clock);
    expect(c.roundsToConverge(30)).toBeDefined();
    const expectedLeader = compareVersions(vx, vy) > 0 ? "x" : "y";
    expect(expectedLeader).toBe("y"); // node-0020 > node-0003
    for (const n of c.nodes) {
      expect(n.get("leader")).toBe(expectedLeader);
      expect(n.get("term")).toBe("z");
    }
    // a write made after seeing the winner beats it everywhere
    const late = c.nodes[0].set("leader", "late");
    expect(late.clock).toBeGreaterThan(vy.clock);
    expect(c.roundsToConverge(30)).toBeDefined();
    for (const n of c.nodes) expect(n.get("leader")).toBe("late");
  });

  it("a delete reaches every node (one cut off meanwhile too), its tombstone is collected after the TTL, and the key stays gone", () => {
    const c = makeCluster({ n: 40, seed: 5, config: { tombstoneTtlMs: 2000 } });
    c.nodes[1].set("task/42", { owner: "node-0001" });
    c.nodes[1].set("keep", true);
    expect(c.roundsToConverge(30)).toBeDefined();
    let deletes = 0;
    for (const n of c.nodes) n.onChange((ch) => ch.key === "task/42" && ch.deleted && !ch.local && deletes++);
    const isolated = c.ids[39];
    c.net.partition(c.ids.slice(0, 39), [isolated]);
    expect(c.nodes[30].delete("task/42")).toBe(true);
    c.clock.advance(1000);
    expect(c.node(isolated).get("task/42")).toEqual({ owner: "node-0001" });
    c.net.heal();
    expect(c.roundsToConverge(30)).toBeDefined();
    expect(deletes).toBe(39);
    for (const n of c.nodes) {
      expect(n.has("task/42")).toBe(false);
      expect(n.getEntry("task/42")?.tombstone).toBe(true);
      expect(n.storedCount).toBe(2);
    }
    c.clock.advance(2000 + c.nodes[0].config.gossipIntervalMs);
    for (const n of c.nodes) {
      expect(n.getEntry("task/42")).toBeUndefined();
      expect(n.storedCount).toBe(1);
      expect(n.get("keep")).toBe(true);
    }
    expect(c.converged()).toBe(true);
    for (let i = 0; i < 50; i++) c.round();
    for (const n of c.nodes) expect(n.getEntry("task/42")).toBeUndefined();
    expect(c.nodes.reduce((s, n) => s + n.stats().tombstonesCollected, 0)).toBe(40);
  });

  it("a partitioned half converges on its own, then the whole cluster converges after healing", () => {
    const c = makeCluster({ n: 40, seed: 6 });
    const left = c.ids.slice(0, 20);
    const right = c.ids.slice(20);
    c.net.partition(left, right);
    const l = c.node(left[3]);
    const r = c.node(right[5]);
    l.set("left-only", "L");
    r.set("right-only", "R");
    l.set("contested", "from-left");
    r.set("contested", "from-right");
    r.set("contested", "from-right-again"); // higher clock: wins after healing
    for (let i = 0; i < 20; i++) c.round();
    const hashesOf = (ids: string[]) => new Set(ids.map((id) => c.node(id).digestHash()));
    expect(hashesOf(left).size).toBe(1);
    expect(hashesOf(right).size).toBe(1);
    expect([...hashesOf(left)][0]).not.toBe([...hashesOf(right)][0]);
    expect(c.distinct()).toBe(2);
    for (const id of left) expect(c.node(id).has("right-only")).toBe(false);
    c.net.heal();
    const rounds = c.roundsToConverge(30);
    expect(rounds).toBeDefined();
    for (const n of c.nodes) {
      expect(n.get("left-only")).toBe("L");
      expect(n.get("right-only")).toBe("R");
      expect(n.get("contested")).toBe("from-right-again");
    }
  });

  it("is reproducible: the same seed gives the same rounds and the same traffic", () => {
    const runOnce = () => {
      const c = makeCluster({ n: 60, seed: 99, faults: { lossRate: 0.05, duplicateRate: 0.05, reorderRate: 0.05 } });
      c.nodes[0].set("k", 1);
      const rounds = c.roundsToConverge(40);
      return { rounds, net: { ...c.net.stats }, time: c.clock.now() };
    };
    expect(runOnce()).toEqual(runOnce());
  });
});

describe("bounded messages", () => {
  it("a state of more than maxEntriesPerMessage keys still converges, no GossipUpdates above the limit", () => {
    const c = makeCluster({ n: 10, seed: 7 });
    let largest = 0;
    c.net.tap((_f, _t, body: Body) => {
      if (body.case === "gossipUpdates") largest = Math.max(largest, body.value.entries.length);
    });
    const limit = c.nodes[0].config.maxEntriesPerMessage;
    for (let i = 0; i < 1500; i++) c.nodes[2].set(`bulk/${i}`, i);
    const rounds = c.roundsToConverge(60);
    expect(rounds).toBeDefined();
    expect(rounds).toBeGreaterThanOrEqual(3); // 1500 entries cannot cross in one 512-entry message
    expect(largest).toBe(limit);
    for (const n of c.nodes) expect(n.keys("bulk/")).toHaveLength(1500);
  });

  it("a state larger than maxDigestEntries gossips in rotating windows and converges, within every limit", () => {
    const config = { maxDigestEntries: 64, maxEntriesPerMessage: 16, maxUpdateBytes: 600 };
    const c = makeCluster({ n: 20, seed: 8, config, faults: { lossRate: 0.02 } });
    let maxDigest = 0;
    let maxUpdates = 0;
    let maxWanted = 0;
    let maxBytes = 0;
    let partialDigests = 0;
    c.net.tap((_f, _t, body: Body) => {
      if (body.case === "gossipDigest") {
        maxDigest = Math.max(maxDigest, body.value.entries.length);
        if (body.value.entries.some((e) => e.key === "")) partialDigests++;
      } else if (body.case === "gossipUpdates") {
        maxUpdates = Math.max(maxUpdates, body.value.entries.length);
        maxWanted = Math.max(maxWanted, body.value.wanted.length);
        const bytes = body.value.entries.reduce((s, e) => s + e.key.length + e.value.length, 0);
        if (body.value.entries.length > 1) maxBytes = Math.max(maxBytes, bytes);
      }
    });
    for (let i = 0; i < 300; i++) c.nodes[i % 20].set(`k/${String(i).padStart(3, "0")}`, { i, pad: "x".repeat(20) });
    c.nodes[5].delete("k/005");
    const rounds = c.roundsToConverge(200);
    expect(rounds).toBeDefined();
    expect(partialDigests).toBeGreaterThan(0);
    expect(maxDigest).toBeLessThanOrEqual(64);
    expect(maxUpdates).toBeLessThanOrEqual(16);
    expect(maxWanted).toBeLessThanOrEqual(16);
    expect(maxBytes).toBeLessThanOrEqual(600);
    for (const n of c.nodes) {
      expect(n.keys()).toHaveLength(299);
      expect(n.get("k/123")).toEqual({ i: 123, pad: "x".repeat(20) });
    }
  });
});

describe("rounds to converge", () => {
  it("one write reaches all of N nodes within ceil(log2 N) + 5 rounds (median over seeds), for N = 10, 100, 1000 at 0 % and 1 % loss", () => {
    const seeds = [1, 2, 3, 4, 5, 6, 7];
    const rows: string[] = [];
    for (const n of [10, 100, 1000]) {
      const bound = Math.ceil(Math.log2(n)) + 5;
      for (const lossRate of [0, 0.01]) {
        const rounds = seeds.map((seed) => {
          const c = makeCluster({ n, seed, faults: { lossRate } });
          c.round(); // every node has begun its rounds
          c.nodes[seed % n].set("update", { seed });
          const r = c.roundsToConverge(4 * bound);
          expect(r).toBeDefined();
          for (const node of c.nodes) expect(node.get("update")).toEqual({ seed });
          return r as number;
        });
        const med = median(rounds);
        rows.push(`| ${String(n).padStart(5)} | ${String(lossRate * 100).padStart(3)} % | ${rounds.join(" ").padEnd(14)} | ${String(med).padStart(6)} | ${String(Math.max(...rounds)).padStart(3)} | ${String(bound).padStart(5)} |`);
        expect(med).toBeLessThanOrEqual(bound);
      }
    }
    console.log(
      ["rounds until all nodes agree after one write (fanout 3, latency 1-5 ms, interval 20 ms)", "|     N | loss | per seed       | median | max | bound |", ...rows].join("\n"),
    );
  });
});
