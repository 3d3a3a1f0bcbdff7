/**
 * The AgentService methods of the collaboration patterns (consensus, auction, collaborative solve, team
 * invites, capability queries): request validation, the node's pattern call, and the response message.
 */
import { create } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import type { AgentService } from "../../gen/agentmesh/v1/agent_service_pb.js";
import { VoteSchema } from "../../gen/agentmesh/v1/consensus_pb.js";
import {
  AgentNoteSchema,
  AuctionTaskResponseSchema,
  AwardAttemptSchema,
  ChoiceTallySchema,
  CollaborativeSolveResponseSchema,
  ConsensusOutcome,
  InviteTeamResponseSchema,
  QueryCapabilityResponseSchema,
  ReachConsensusResponseSchema,
  ScoredBidSchema,
} from "../../gen/agentmesh/v1/patterns_pb.js";
import { fromPayload, toPayload } from "../protocol/payload.js";
import { requireCapability, requireNonEmpty } from "../protocol/validate.js";
import type { AgentNode } from "./agent-node.js";

type PatternMethods = Pick<ServiceImpl<typeof AgentService>, "reachConsensus" | "auctionTask" | "collaborativeSolve" | "inviteTeam" | "queryCapability">;

const OUTCOMES = { decided: ConsensusOutcome.DECIDED, tie: ConsensusOutcome.TIE, no_quorum: ConsensusOutcome.NO_QUORUM } as const;

const note = (n: { agent: string; reason: string }) => create(AgentNoteSchema, { agentId: n.agent, reason: n.reason });
const orUndefined = <T>(list: T[]): T[] | undefined => (list.length > 0 ? list : undefined);
const msOrUndefined = (ms: number): number | undefined => (ms > 0 ? ms : undefined);

/** The pattern methods of `node`'s AgentService; `guarded` turns thrown errors into gRPC statuses. */
export function createPatternService(node: AgentNode, guarded: <T>(fn: () => Promise<T> | T) => Promise<T>): PatternMethods {
  return {
    reachConsensus: (req) =>
      guarded(async () => {
        const d = await node.reachConsensus({
          question: requireNonEmpty(req.question, "question"),
          options: req.options,
          voters: orUndefined(req.voters),
          capability: req.capability === "" ? undefined : requireCapability(req.capability),
          quorum: req.quorum > 0 ? req.quorum : undefined,
          deadlineMs: msOrUndefined(req.deadlineMs),
          weights: req.weights,
          correlationId: req.correlationId === "" ? undefined : req.correlationId,
        });
        return create(ReachConsensusResponseSchema, {
          outcome: OUTCOMES[d.outcome],
          choice: d.choice ?? "",
          confidence: d.confidence,
          tally: d.tally.map((t) => create(ChoiceTallySchema, t)),
          votes: d.votes.map((v) => create(VoteSchema, { agentId: v.agent, choice: v.choice, weight: v.weight, rationale: v.rationale })),
          abstained: d.abstained.map(note),
          quorum: d.quorum,
          correlationId: d.correlationId,
          durationMs: Math.round(d.durationMs),
        });
      }),

    auctionTask: (req) =>
      guarded(async () => {
        const capability = requireCapability(req.capability);
        const input = fromPayload(req.input, "input");
        const a = await node.auctionTask(capability, input, {
          biddingDeadlineMs: msOrUndefined(req.biddingDeadlineMs),
          timeoutMs: msOrUndefined(req.timeoutMs),
          correlationId: req.correlationId === "" ? undefined : req.correlationId,
        });
        const out = a.result.outcome;
        return create(AuctionTaskResponseSchema, {
          taskId: a.result.taskId,
          correlationId: a.correlationId,
          winnerId: a.winner,
          output: out.case === "output" ? out.value : toPayload(null),
          bids: a.bids.map((b) => create(ScoredBidSchema, { bid: b.bid, score: b.score })),
          declined: a.declined.map(note),
          awards: a.awards.map((w) => create(AwardAttemptSchema, { agentId: w.agent, outcome: w.outcome })),
          biddingMs: Math.round(a.biddingMs),
          durationMs: Math.round(a.durationMs),
        });
      }),

    collaborativeSolve: (req) =>
      guarded(async () => {
        const s = await node.collaborativeSolve(requireNonEmpty(req.problem, "problem"), {
          agents: orUndefined(req.agents),
          timeouts: {
            brainstormMs: msOrUndefined(req.brainstormMs),
            critiqueMs: msOrUndefined(req.critiqueMs),
            voteMs: msOrUndefined(req.voteMs),
            implementMs: msOrUndefined(req.implementMs),
          },
          correlationId: req.correlationId === "" ? undefined : req.correlationId,
        });
        return create(CollaborativeSolveResponseSchema, {
          solution: s.solution,
          implementerId: s.implementer,
          result: toPayload(s.result),
          correlationId: s.correlationId,
          trail: toPayload(s.trail),
          durationMs: Math.round(s.durationMs),
        });
      }),

    inviteTeam: (req) =>
      guarded(async () => {
        const team = await node.inviteTeam({
          goal: requireNonEmpty(req.goal, "goal"),
          role: req.role,
          capabilities: req.capabilities.map((c) => requireCapability(c, "capabilities")),
          agents: orUndefined(req.agents),
          timeoutMs: msOrUndefined(req.timeoutMs),
          context: fromPayload(req.context, "context"),
        });
        return create(InviteTeamResponseSchema, { teamId: team.teamId, members: team.members, declined: team.declined.map(note) });
      }),

    queryCapability: (req) =>
      guarded(async () => {
        const q = await node.queryCapability(requireCapability(req.capability), { timeoutMs: msOrUndefined(req.timeoutMs) });
        return create(QueryCapabilityResponseSchema, { capability: q.capability, capable: q.capable, incapable: q.incapable, missing: q.missing.map(note) });
      }),
  };
}
