import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { AgentInfoSchema, type AgentInfo } from "../../gen/agentmesh/v1/membership_pb.js";
import { leastLoaded, loadScore } from "../../src/patterns/select.js";

const agent = (id: string, load: number, capacity: number): AgentInfo => create(AgentInfoSchema, { id, load, capacity });
const task = { capability: "x" };

describe("loadScore", () => {
  it.each([
    { load: 0, capacity: 4, inFlight: 0, want: 0 },
    { load: 2, capacity: 4, inFlight: 0, want: 0.5 },
    { load: 2, capacity: 4, inFlight: 2, want: 1 },
    { load: 3, capacity: 1, inFlight: 0, want: 3 },
    { load: 1, capacity: 0, inFlight: 0, want: 1 }, // capacity 0 counts as 1
    { load: 0, capacity: 0, inFlight: 3, want: 3 },
  ])("load $load, capacity $capacity, in flight $inFlight → $want", ({ load, capacity, inFlight, want }) => {
    expect(loadScore(agent("a", load, capacity), inFlight)).toBe(want);
  });
});

describe("leastLoaded", () => {
  it.each([
    { name: "the idle agent", agents: [agent("a", 2, 4), agent("b", 0, 4), agent("c", 3, 4)], want: "b" },
    { name: "relative to capacity: 2/8 beats 1/2", agents: [agent("small", 1, 2), agent("big", 2, 8)], want: "big" },
    { name: "relative to capacity: 1/1 loses to 3/4", agents: [agent("one", 1, 1), agent("four", 3, 4)], want: "four" },
    { name: "the only candidate, however loaded", agents: [agent("only", 9, 1)], want: "only" },
  ])("picks $name", ({ agents, want }) => {
    expect(leastLoaded()(agents, task).id).toBe(want);
  });

  it("counts tasks in flight to an agent as load", () => {
    const inFlight = (id: string) => (id === "a" ? 3 : 0);
    expect(leastLoaded(inFlight)([agent("a", 0, 4), agent("b", 2, 4)], task).id).toBe("b");
  });

  it.each([
    [0, "a"],
    [0.34, "b"],
    [0.67, "c"],
    [0.9999, "c"],
  ])("breaks a tie with the random value %d → %s", (r, want) => {
    const agents = [agent("a", 1, 2), agent("b", 2, 4), agent("c", 0.5 * 6, 6), agent("busy", 4, 4)];
    expect(leastLoaded(() => 0, () => r)(agents, task).id).toBe(want);
  });

  it("spreads ties across equal agents", () => {
    const agents = [agent("a", 0, 4), agent("b", 0, 4), agent("c", 0, 4)];
    const pick = leastLoaded();
    const counts = new Map<string, number>();
    for (let i = 0; i < 3000; i++) {
      const id = pick(agents, task).id;
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    for (const id of ["a", "b", "c"]) expect(counts.get(id) ?? 0).toBeGreaterThan(800);
  });

  it("fills capacity evenly when it counts its own picks as in flight", () => {
    const agents = [agent("a", 0, 2), agent("b", 0, 4)];
    const inFlight = new Map<string, number>();
    const pick = leastLoaded((id) => inFlight.get(id) ?? 0);
    for (let i = 0; i < 6; i++) {
      const id = pick(agents, task).id;
      inFlight.set(id, (inFlight.get(id) ?? 0) + 1);
    }
    expect(inFlight.get("a")).toBe(2);
    expect(inFlight.get("b")).toBe(4);
  });
});
