/**
 * Collaborative consensus (the source document's Pattern 2, made safe): ask voters a question, collect their
 * votes until every voter answered or the deadline passed — a voter that is slow, frozen or dead abstains
 * instead of hanging the round — and tally them.
 *
 * Tally rules (a pure function, table-tested):
 * - each vote counts with its weight (the caller's weights, default 1); a vote for a choice outside the
 *   options (when options are given) counts as an abstention;
 * - the quorum is a number of votes cast (default: a strict majority of the voters); below it the outcome is
 *   "no_quorum" and there is no choice;
 * - the winner has the most weight; a tie goes to the choice with more votes, then to the one listed first in
 *   the options (or, for free-form questions, the alphabetically first) — the decision says it was a tie;
 * - confidence = the winner's weight / the total weight of all voters (abstainers included).
 */
import { create } from "@bufbuild/protobuf";
import { VoteRequestSchema } from "../../gen/agentmesh/v1/consensus_pb.js";
import type { MeshMessageBus } from "../bus/mesh-bus.js";
import type { Clock } from "../protocol/clock.js";
import { Code, MeshError } from "../protocol/errors.js";
import { newId } from "../protocol/ids.js";

/** One vote cast. */
export interface CastVote {
  /** The voter. */
  agent: string;
  /** Its choice. */
  choice: string;
  /** Its weight in the tally. */
  weight: number;
  /** Why, if it said. */
  rationale: string;
}

/** A voter that did not vote, and why. */
export interface Abstention {
  /** The voter. */
  agent: string;
  /** Why it did not vote (deadline passed, unreachable, declined, invalid choice). */
  reason: string;
}

/** The result of a round. */
export interface Decision {
  /** "decided" (a clear winner), "tie" (won by the tie-break rule) or "no_quorum". */
  outcome: "decided" | "tie" | "no_quorum";
  /** The winning choice; undefined without quorum. */
  choice: string | undefined;
  /** The winner's weight / the total weight of all voters, 0..1. */
  confidence: number;
  /** Weight and votes per choice, best first. */
  tally: { choice: string; weight: number; votes: number }[];
  /** Every vote counted. */
  votes: CastVote[];
  /** Every voter that did not vote. */
  abstained: Abstention[];
  /** Votes needed. */
  quorum: number;
  /** The round's correlation id. */
  correlationId: string;
  /** Time the round took, ms. */
  durationMs: number;
}

/** Options of a round. */
export interface ConsensusOptions {
  /** The question. */
  question: string;
  /** Allowed choices; empty means free-form. */
  options?: string[];
  /** Agent ids of the voters. */
  voters: string[];
  /** Votes needed; default a strict majority of the voters. */
  quorum?: number;
  /** How long the round may take, ms. Default 5000. */
  deadlineMs?: number;
  /** Weight per voter (default 1). */
  weights?: Record<string, number>;
  /** Correlation id; default a new one. */
  correlationId?: string;
}

/** Default round length, ms. */
export const DEFAULT_CONSENSUS_DEADLINE_MS = 5000;

/** The default quorum: a strict majority of `voters`. */
export function majority(voters: number): number {
  return Math.floor(voters / 2) + 1;
}

/** Tallies votes by the rules above (pure). `allVoters` are every voter asked, with their weights. */
export function tallyVotes(
  votes: readonly CastVote[],
  abstained: readonly Abstention[],
  options: readonly string[],
  allVoters: readonly { agent: string; weight: number }[],
  quorum: number,
): Pick<Decision, "outcome" | "choice" | "confidence" | "tally" | "votes" | "abstained" | "quorum"> {
  const valid: CastVote[] = [];
  const absent = [...abstained];
  for (const v of votes) {
    if (options.length > 0 && !options.includes(v.choice)) absent.push({ agent: v.agent, reason: `invalid choice "${v.choice}"` });
    else valid.push(v);
  }
  const byChoice = new Map<string, { choice: string; weight: number; votes: number }>();
  for (const v of valid) {
    const t = byChoice.get(v.choice) ?? { choice: v.choice, weight: 0, votes: 0 };
    t.weight += v.weight;
    t.votes += 1;
    byChoice.set(v.choice, t);
  }
  const order = (c: string) => (options.length > 0 ? options.indexOf(c) : 0);
  const tally = [...byChoice.values()].sort(
    (a, b) => b.weight - a.weight || b.votes - a.votes || order(a.choice) - order(b.choice) || a.choice.localeCompare(b.choice),
  );
  const totalWeight = allVoters.reduce((sum, v) => sum + v.weight, 0);
  if (valid.length < quorum || tally.length === 0) {
    return { outcome: "no_quorum", choice: undefined, confidence: 0, tally, votes: valid, abstained: absent, quorum };
  }
  const [first, second] = tally;
  const tie = second !== undefined && second.weight === first.weight;
  return {
    outcome: tie ? "tie" : "decided",
    choice: first.choice,
    confidence: totalWeight > 0 ? first.weight / totalWeight : 0,
    tally,
    votes: valid,
    abstained: absent,
    quorum,
  };
}

/** Runs a consensus round over the mesh bus: every voter is asked at once; the round ends at the last vote or the deadline. */
export async function reachConsensus(bus: MeshMessageBus, clock: Clock, options: ConsensusOptions): Promise<Decision> {
  if (options.question === "") throw new MeshError(Code.InvalidArgument, "question: must not be empty");
  const voters = [...new Set(options.voters)];
  if (voters.length === 0) throw new MeshError(Code.FailedPrecondition, "voters: no agent to ask");
  const choices = options.options ?? [];
  const quorum = options.quorum ?? majority(voters.length);
  if (!Number.isInteger(quorum) || quorum < 1 || quorum > voters.length) {
    throw new MeshError(Code.InvalidArgument, `quorum: must be an integer from 1 to ${voters.length} (the voters), got ${quorum}`);
  }
  const deadlineMs = options.deadlineMs ?? DEFAULT_CONSENSUS_DEADLINE_MS;
  const correlationId = options.correlationId ?? newId();
  const started = clock.now();
  const weightOf = (agent: string) => options.weights?.[agent] ?? 1;
  const request = create(VoteRequestSchema, { question: options.question, options: choices, deadlineMs: BigInt(Date.now() + deadlineMs) });
  const votes: CastVote[] = [];
  const abstained: Abstention[] = [];
  await Promise.all(
    voters.map(async (agent) => {
      try {
        const reply = await bus.call(agent, { case: "voteRequest", value: request }, { correlationId, timeoutMs: deadlineMs });
        if (reply.body.case !== "vote") throw new MeshError(Code.Internal, `answered with ${reply.body.case}`);
        votes.push({ agent, choice: reply.body.value.choice, weight: weightOf(agent), rationale: reply.body.value.rationale });
      } catch (err) {
        const e = MeshError.from(err);
        abstained.push({ agent, reason: e.code === Code.DeadlineExceeded ? "no vote before the deadline" : e.message });
      }
    }),
  );
  const decision = tallyVotes(votes, abstained, choices, voters.map((agent) => ({ agent, weight: weightOf(agent) })), quorum);
  return { ...decision, correlationId, durationMs: clock.now() - started };
}
