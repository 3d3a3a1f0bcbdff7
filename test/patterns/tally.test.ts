import { describe, expect, it } from "vitest";
import { majority, tallyVotes, type CastVote } from "../../src/patterns/consensus.js";

const vote = (agent: string, choice: string, weight = 1): CastVote => ({ agent, choice, weight, rationale: "" });
const voters = (...ids: string[]) => ids.map((agent) => ({ agent, weight: 1 }));

describe("majority", () => {
  it.each([
    [1, 1],
    [2, 2],
    [3, 2],
    [4, 3],
    [5, 3],
  ])("of %i voters is %i", (n, q) => expect(majority(n)).toBe(q));
});

describe("tallyVotes", () => {
  it("picks the choice with the most weight and reports confidence against all voters", () => {
    const d = tallyVotes([vote("a", "x"), vote("b", "x"), vote("c", "y")], [{ agent: "e", reason: "no vote" }], ["x", "y"], voters("a", "b", "c", "d", "e"), 3);
    expect(d.outcome).toBe("decided");
    expect(d.choice).toBe("x");
    expect(d.confidence).toBeCloseTo(2 / 5);
    expect(d.tally).toEqual([
      { choice: "x", weight: 2, votes: 2 },
      { choice: "y", weight: 1, votes: 1 },
    ]);
    expect(d.abstained).toEqual([{ agent: "e", reason: "no vote" }]);
  });

  it("breaks a weight tie by vote count, then by option order", () => {
    const byCount = tallyVotes([vote("a", "x", 2), vote("b", "y"), vote("c", "y")], [], ["x", "y"], voters("a", "b", "c"), 1);
    expect(byCount).toMatchObject({ outcome: "tie", choice: "y" });
    const byOrder = tallyVotes([vote("a", "y"), vote("b", "x")], [], ["x", "y"], voters("a", "b"), 1);
    expect(byOrder).toMatchObject({ outcome: "tie", choice: "x" });
    const freeForm = tallyVotes([vote("a", "zeta"), vote("b", "alpha")], [], [], voters("a", "b"), 1);
    expect(freeForm.choice).toBe("alpha");
  });

  it("uses weights", () => {
    const d = tallyVotes([vote("a", "x", 3), vote("b", "y"), vote("c", "y")], [], ["x", "y"], [
      { agent: "a", weight: 3 },
      { agent: "b", weight: 1 },
      { agent: "c", weight: 1 },
    ], 2);
    expect(d.choice).toBe("x");
    expect(d.confidence).toBeCloseTo(3 / 5);
  });

  it("reports no quorum without a choice", () => {
    const d = tallyVotes([vote("a", "x")], [{ agent: "b", reason: "dead" }, { agent: "c", reason: "dead" }], ["x"], voters("a", "b", "c"), 2);
    expect(d).toMatchObject({ outcome: "no_quorum", choice: undefined, confidence: 0 });
  });

  it("counts a choice outside the options as an abstention", () => {
    const d = tallyVotes([vote("a", "x"), vote("b", "nope")], [], ["x", "y"], voters("a", "b"), 1);
    expect(d.votes.map((v) => v.agent)).toEqual(["a"]);
    expect(d.abstained).toEqual([{ agent: "b", reason: 'invalid choice "nope"' }]);
  });
});
