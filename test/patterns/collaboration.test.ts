import { afterEach, describe, expect, it } from "vitest";
import type { AgentNode } from "../../src/node/agent-node.js";
import { installExampleCollaborator } from "../../src/node/example-collaborator.js";
import { MeshError } from "../../src/protocol/errors.js";
import { exampleHandlers } from "../../src/node/examples.js";
import { startMemoryMesh, type MemoryMesh } from "../helpers/memory-mesh.js";
import { waitFor } from "../helpers/wait.js";

let current: MemoryMesh | undefined;
afterEach(async () => {
  await current?.stopAll();
  current = undefined;
});

async function mesh(n: number, capabilities: (i: number) => string[] = () => ["echo"]): Promise<AgentNode[]> {
  const specs = Array.from({ length: n }, (_, i) => ({
    id: `a${i + 1}`,
    handlers: Object.fromEntries(capabilities(i).map((c) => [c, exampleHandlers[c]])),
  }));
  current = await startMemoryMesh(specs);
  return current.nodes;
}

describe("collaboration patterns on a mesh", () => {
  it("reaches consensus among five voters with the tally and every vote", async () => {
    const [a, b, c, d, e] = await mesh(5);
    a.onVote(() => "x");
    b.onVote(() => "x");
    c.onVote(() => ({ choice: "y", rationale: "prefer y" }));
    d.onVote(() => "x");
    // e has no vote handler: it abstains.
    const decision = await a.reachConsensus({ question: "x or y?", options: ["x", "y"], deadlineMs: 2000 });
    expect(decision.outcome).toBe("decided");
    expect(decision.choice).toBe("x");
    expect(decision.confidence).toBeCloseTo(3 / 5);
    expect(decision.votes.map((v) => v.agent).sort()).toEqual(["a1", "a2", "a3", "a4"]);
    expect(decision.abstained.map((x) => x.agent)).toEqual([e.id]);
    expect(decision.votes.find((v) => v.agent === c.id)?.rationale).toBe("prefer y");
  });

  it("lets a voter that never answers abstain at the deadline instead of hanging the round", async () => {
    const [a, b, c] = await mesh(3);
    a.onVote(() => "x");
    b.onVote(() => "x");
    c.onVote(() => new Promise(() => {}));
    const started = Date.now();
    const decision = await a.reachConsensus({ question: "x?", options: ["x"], deadlineMs: 300 });
    expect(Date.now() - started).toBeLessThan(3000);
    expect(decision.choice).toBe("x");
    expect(decision.abstained).toEqual([{ agent: c.id, reason: "no vote before the deadline" }]);
  });

  it("auctions a task to the best bidder and runs it there; the runner-up takes over when the winner fails", async () => {
    const [a, b, c] = await mesh(3, (i) => (i === 0 ? [] : ["echo"]));
    b.announceCapability("job", () => {
      throw new MeshError(14, "b is broken");
    });
    c.announceCapability("job", (input: unknown) => ({ by: "c", input }));
    await waitFor(() => a.registry.withCapability("job").length === 2, { what: "a to learn both job holders" });
    const outcome = await a.auctionTask("job", { n: 1 }, { biddingDeadlineMs: 2000 });
    expect(outcome.bids.map((x) => x.bid.agentId).sort()).toEqual([b.id, c.id]);
    expect(outcome.winner).toBe(c.id);
    expect(outcome.awards).toEqual([
      { agent: b.id, outcome: "b is broken" },
      { agent: c.id, outcome: "completed" },
    ]);
    expect(outcome.output).toEqual({ by: "c", input: { n: 1 } });
    expect(outcome.biddingMs).toBeLessThan(2000);
  });

  it("fails an auction nobody bids on with NOT_FOUND naming the capability", async () => {
    const [a] = await mesh(2);
    await expect(a.auctionTask("nobody-has-this", 1)).rejects.toThrow(/nobody-has-this/);
  });

  it("solves collaboratively with the example collaborators and returns the whole trail", async () => {
    const all = await mesh(4, (i) => [["uppercase"], ["reverse"], ["wordcount"], ["keywords"]][i]);
    for (const n of all) installExampleCollaborator(n);
    const solution = await all[0].collaborativeSolve("plan the weekly release notes for the mesh release", { timeouts: { brainstormMs: 2000, critiqueMs: 2000, voteMs: 2000, implementMs: 2000 } });
    expect(solution.trail.ideas).toHaveLength(4);
    expect(solution.trail.critiques).toHaveLength(4);
    expect(solution.trail.decision.votes.length).toBeGreaterThanOrEqual(3);
    expect(solution.trail.refined.map((r) => r.text)).toContain(solution.solution);
    expect(solution.result).toMatchObject({ implementedBy: solution.implementer, solution: solution.solution });
  });

  it("invites a team (capable agents accept) and queries who can handle a capability", async () => {
    const [a, b, c] = await mesh(3, (i) => (i === 2 ? ["echo", "uppercase"] : ["echo"]));
    const team = await a.inviteTeam({ goal: "shout", capabilities: ["uppercase"] });
    expect(team.members).toEqual([c.id]);
    expect(team.declined.map((d) => d.agent)).toEqual([b.id]);
    const q = await a.queryCapability("uppercase");
    expect(q.capable).toEqual([c.id]);
    expect(q.incapable.sort()).toEqual([a.id, b.id]);
  });
});
