/** MeshView: counts kept from status changes (dead everywhere, converged), live peers, crashed observers. */
import { describe, expect, it } from "vitest";
import { MemberStatus } from "../../gen/agentmesh/v1/membership_pb.js";
import { MeshView } from "../../src/sim/mesh-view.js";

const { ALIVE, SUSPECT, DEAD, LEFT } = MemberStatus;

function full(n: number): MeshView {
  const v = new MeshView(Array.from({ length: n }, (_, i) => `n${i}`));
  for (let o = 0; o < n; o++) for (let t = 0; t < n; t++) if (o !== t) v.observe(o, t, ALIVE);
  return v;
}

describe("MeshView", () => {
  it("is converged when every node holds every other alive, and not while one is suspect", () => {
    const v = new MeshView(["a", "b", "c"]);
    expect(v.converged()).toBe(false);
    const w = full(3);
    expect(w.converged()).toBe(true);
    w.observe(0, 2, SUSPECT);
    expect(w.converged()).toBe(false);
    w.observe(0, 2, ALIVE);
    expect(w.converged()).toBe(true);
    expect(w.index("n1")).toBe(1);
    expect(w.index("zz")).toBeUndefined();
  });

  it("knows when every running node holds a member dead or left, counting a crashed observer out", () => {
    const v = full(4);
    v.stop(3);
    expect(v.runningNodes).toBe(3);
    expect(v.converged()).toBe(true); // the crashed node is not expected alive
    expect(v.goneEverywhere(3)).toBe(false);
    v.observe(0, 3, SUSPECT);
    v.observe(0, 3, DEAD);
    v.observe(1, 3, LEFT);
    expect(v.goneCount(3)).toBe(2);
    expect(v.goneEverywhere(3)).toBe(false);
    v.observe(2, 3, DEAD);
    expect(v.goneEverywhere(3)).toBe(true);
    // a running member held dead by all others (a frozen node) counts the same way
    v.observe(0, 2, DEAD);
    v.observe(1, 2, DEAD);
    expect(v.goneEverywhere(2)).toBe(true);
    // an observer that crashes no longer counts, and its old views are dropped from the counts
    v.stop(1);
    expect(v.goneCount(2)).toBe(1);
    expect(v.goneEverywhere(2)).toBe(true);
  });

  it("keeps each node's live peers (alive or suspect) as an array", () => {
    const v = new MeshView(["a", "b", "c", "d"]);
    v.observe(0, 1, ALIVE);
    v.observe(0, 2, ALIVE);
    v.observe(0, 3, SUSPECT);
    expect([...v.peers(0)].sort()).toEqual(["b", "c", "d"]);
    v.observe(0, 1, DEAD);
    expect([...v.peers(0)].sort()).toEqual(["c", "d"]);
    v.observe(0, 3, ALIVE);
    v.observe(0, 1, SUSPECT); // suspected at a newer incarnation: live again
    expect([...v.peers(0)].sort()).toEqual(["b", "c", "d"]);
    v.observe(0, 2, LEFT);
    v.observe(0, 3, DEAD);
    expect(v.peers(0)).toEqual(["b"]);
    expect(v.peers(1)).toEqual([]);
    expect(v.statusOf(0, 2)).toBe(LEFT);
  });
});
