import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { BidSchema } from "../../gen/agentmesh/v1/auction_pb.js";
import { defaultBidWeights, rankBids, scoreBid } from "../../src/patterns/auction.js";
import { recordRun } from "../../src/patterns/performance.js";

const bid = (agentId: string, load: number, capacity: number, successRate = 1, latencyMs = 0, capabilityMatch = 1) =>
  create(BidSchema, { agentId, load, capacity, successRate, latencyMs, capabilityMatch });

describe("scoreBid", () => {
  it.each([
    ["idle, perfect, instant", bid("a", 0, 4), 1],
    ["full, perfect, instant", bid("a", 4, 4), 0.7],
    ["half loaded", bid("a", 2, 4), 0.85],
    ["never succeeds", bid("a", 0, 4, 0), 0.8],
    ["latency at the scale", bid("a", 0, 4, 1, 1000), 0.95],
    ["no capability match", bid("a", 0, 4, 1, 0, 0), 0.6],
    ["zero capacity", bid("a", 0, 0), 0.7],
  ])("%s", (_name, b, expected) => expect(scoreBid(b, defaultBidWeights)).toBeCloseTo(expected as number));

  it("ranks by score, then by agent id", () => {
    const ranked = rankBids([bid("c", 2, 4), bid("b", 0, 4), bid("a", 0, 4)]);
    expect(ranked.map((b) => b.agentId)).toEqual(["a", "b", "c"]);
  });
});

describe("recordRun", () => {
  it("starts from the first run and moves by the EWMA weight", () => {
    const first = recordRun(undefined, true, 100);
    expect(first).toEqual({ successRate: 1, latencyMs: 100, runs: 1 });
    const second = recordRun(first, false, 200, 0.5);
    expect(second).toEqual({ successRate: 0.5, latencyMs: 150, runs: 2 });
  });
});
