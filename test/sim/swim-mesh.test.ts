/**
 * A simulated mesh of 20 nodes, each the product's Swim and GossipState at the default configuration: it
 * converges and replicates state; a crash is detected everywhere within the 3 s goal; 5 % loss for two minutes
 * declares no one dead; a partition into halves makes each side declare the other dead, and after healing every
 * node sees every node alive again; a node frozen for 5 s (all its traffic dropped, its process running) is
 * declared dead, then refutes and is alive everywhere again. At N = 100: the last node to join, crashed right
 * after the mesh converged, is detected in time too. And one small case of the simulator runs end to end.
 */
import { describe, expect, it } from "vitest";
import { MemberStatus } from "../../gen/agentmesh/v1/membership_pb.js";
import { SwimMesh, type SimNode } from "../../src/sim/swim-mesh.js";

function meshOf(seed: number, lossRate = 0): { mesh: SwimMesh; falseDeaths: () => number } {
  let deaths = 0;
  const mesh: SwimMesh = new SwimMesh({
    n: 20,
    seed,
    lossRate,
    onEvent: (_o, e) => {
      if (e.t === "leave" && e.reason === "dead" && !mesh.nodes[Number(e.agent.id.slice(1))].crashed) deaths++;
    },
  });
  return { mesh, falseDeaths: () => deaths };
}

function converge(mesh: SwimMesh): void {
  expect(mesh.runUntil(() => mesh.converged(), 30_000, 50)).toBeDefined();
}

/** Simulated ms until every node but `target` holds `target` dead or left, or undefined within `limitMs`. */
function timeToGone(mesh: SwimMesh, target: SimNode, limitMs: number): number | undefined {
  const start = mesh.clock.now();
  let at: number | undefined;
  mesh.whenGoneEverywhere(target, (t) => (at = t));
  mesh.runUntil(() => at !== undefined, limitMs, 20);
  return at === undefined ? undefined : at - start;
}

describe("SwimMesh (N = 20, default configuration)", () => {
  it.each([1, 2, 3])("converges: every node sees every other alive, and a state update reaches every node (seed %i)", (seed) => {
    const { mesh } = meshOf(seed);
    converge(mesh);
    for (const a of mesh.nodes) {
      expect(a.swim.liveMembers()).toHaveLength(19);
      for (const b of mesh.nodes) if (a !== b) expect(mesh.statusOf(a, b)).toBe(MemberStatus.ALIVE);
    }
    let at: number | undefined;
    const setAt = mesh.clock.now();
    mesh.nodes[7].state.set("agent/n7/load", { load: 3 });
    mesh.whenEverywhere("agent/n7/load", (t) => (at = t));
    mesh.runUntil(() => at !== undefined, 10_000, 20);
    expect(at).toBeDefined();
    expect((at as number) - setAt).toBeLessThan(2000);
    for (const n of mesh.nodes) expect(n.state.get("agent/n7/load")).toEqual({ load: 3 });
  });

  it.each([1, 2, 3, 4, 5])("marks a crashed node dead on every survivor within 3 s (seed %i)", (seed) => {
    const { mesh, falseDeaths } = meshOf(seed);
    converge(mesh);
    mesh.clock.advance(5000);
    const victim = mesh.nodes[5 + seed];
    mesh.crash(victim);
    const ms = timeToGone(mesh, victim, 10_000);
    expect(ms).toBeDefined();
    expect(ms).toBeLessThanOrEqual(3000);
    for (const n of mesh.survivors()) expect(mesh.statusOf(n, victim)).toBe(MemberStatus.DEAD);
    // the survivors' state peers no longer include it
    for (const n of mesh.survivors()) expect(mesh.view.peers(n.index)).not.toContain(victim.id);
    expect(falseDeaths()).toBe(0);
  });

  it("declares no one dead over 2 simulated minutes with 5 % of messages lost", () => {
    const { mesh, falseDeaths } = meshOf(11, 0.05);
    converge(mesh);
    mesh.clock.advance(120_000);
    expect(mesh.net.stats.lost).toBeGreaterThan(1000);
    expect(falseDeaths()).toBe(0);
    expect(mesh.converged()).toBe(true);
  });

  it("a partition into halves: each side marks the other dead; after healing every node sees every node alive again", () => {
    const { mesh } = meshOf(21);
    converge(mesh);
    const left = mesh.nodes.slice(0, 10);
    const right = mesh.nodes.slice(10);
    mesh.partition(left, right);
    mesh.clock.advance(10_000);
    for (const a of left) {
      for (const b of right) {
        expect(mesh.statusOf(a, b)).toBe(MemberStatus.DEAD);
        expect(mesh.statusOf(b, a)).toBe(MemberStatus.DEAD);
      }
    }
    for (const a of left) for (const b of left) if (a !== b) expect(mesh.statusOf(a, b)).toBe(MemberStatus.ALIVE);
    // state written on one side during the split reaches the other after healing
    left[0].state.set("written/in/split", "left");
    mesh.heal();
    const healed = mesh.runUntil(() => mesh.converged(), 30_000, 100);
    expect(healed).toBeDefined();
    expect(healed).toBeLessThan(15_000);
    mesh.clock.advance(2000);
    for (const n of mesh.nodes) expect(n.state.get("written/in/split")).toBe("left");
  });

  it("a node frozen for 5 s is declared dead by every other, then refutes and is alive everywhere again", () => {
    const { mesh } = meshOf(31);
    converge(mesh);
    mesh.clock.advance(3000);
    const frozen = mesh.nodes[13];
    const incarnation = frozen.info.incarnation;
    mesh.isolate(frozen);
    const ms = timeToGone(mesh, frozen, 5000);
    expect(ms).toBeDefined();
    expect(ms).toBeLessThanOrEqual(3000);
    mesh.clock.advance(5000 - (ms as number));
    mesh.restore(frozen);
    const back = mesh.runUntil(() => mesh.converged(), 30_000, 50);
    expect(back).toBeDefined();
    expect(back).toBeLessThan(10_000);
    expect(frozen.info.incarnation).toBeGreaterThan(incarnation);
    for (const n of mesh.nodes) if (n !== frozen) expect(mesh.statusOf(n, frozen)).toBe(MemberStatus.ALIVE);
  });
});

describe("SwimMesh (N = 100): a member that just joined is probed at once", () => {
  it.each([1, 2, 3])("the last node to join, crashed a second after the mesh converged, is dead everywhere within 3 s (seed %i)", (seed) => {
    const mesh = new SwimMesh({ n: 100, seed });
    expect(mesh.runUntil(() => mesh.converged(), 60_000, 50)).toBeDefined();
    mesh.clock.advance(1000);
    const last = mesh.nodes.reduce((a, b) => (b.info.startedAtMs > a.info.startedAtMs ? b : a));
    mesh.crash(last);
    const ms = timeToGone(mesh, last, 20_000);
    expect(ms).toBeDefined();
    expect(ms).toBeLessThanOrEqual(3000);
  });
});

describe("runCase", () => {
  it("times updates, freezes and crashes on one small mesh, with no false death", async () => {
    const { runCase } = await import("../../src/sim/experiment.js");
    const r = runCase({ n: 12, lossRate: 0.01, seed: 4, fpMs: 30_000, updates: 2, freezes: 2, crashes: 2 });
    expect(r.joinMs).not.toBeNull();
    expect(r.updates).toHaveLength(2);
    for (const u of r.updates) expect(u.rounds).toBeGreaterThanOrEqual(1);
    expect(r.freezeDetections).toHaveLength(2);
    for (const d of [...r.freezeDetections, ...r.detections]) expect(d).toBeLessThanOrEqual(3000);
    for (const b of r.rejoins) expect(b).not.toBeNull();
    expect(r.detections).toHaveLength(2);
    expect(r.watch?.falseDeaths).toBe(0);
    expect(r.falseDeathsElsewhere).toBe(0);
    expect(r.watch?.statePerNodePerSec).toBeCloseTo(15, 0);
  });
});
