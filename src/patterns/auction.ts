/**
 * Task auction (the source document's Pattern 3, without its fixed five-second wait): the task is announced
 * to every capable agent at once; bidding closes as soon as every bidder answered, or at the deadline. The
 * best bid by scoreBid() wins and is awarded the task, which it runs at once (the award carries the result
 * back). If the winner fails, declines or dies, the runner-up is awarded, and so on. With no bids, the task
 * fails with a clear error or, when configured, waits for a capable agent (the routing queue).
 *
 * Score (pure, table-tested), each term in 0..1:
 *   score = wMatch·match + wLoad·(1 - load/capacity) + wSuccess·successRate + wLatency·1/(1 + latency/latencyScaleMs)
 * with default weights 0.4, 0.3, 0.2, 0.1 and latencyScaleMs 1000. Ties go to the lower agent id.
 */
import { create } from "@bufbuild/protobuf";
import { AwardSchema, TaskAuctionSchema, type Bid } from "../../gen/agentmesh/v1/auction_pb.js";
import type { TaskRequest, TaskResult } from "../../gen/agentmesh/v1/task_pb.js";
import type { MeshMessageBus } from "../bus/mesh-bus.js";
import type { Clock } from "../protocol/clock.js";
import { Code, MeshError } from "../protocol/errors.js";
import type { AgentWatch } from "./agent-watch.js";

/** Weights of the bid score. */
export interface BidWeights {
  /** Capability match. Default 0.4. */
  match: number;
  /** Spare capacity. Default 0.3. */
  load: number;
  /** Past success rate. Default 0.2. */
  success: number;
  /** Past latency. Default 0.1. */
  latency: number;
  /** Latency at which the latency term is 0.5, ms. Default 1000. */
  latencyScaleMs: number;
}

/** The default weights. */
export const defaultBidWeights: Readonly<BidWeights> = Object.freeze({ match: 0.4, load: 0.3, success: 0.2, latency: 0.1, latencyScaleMs: 1000 });

/** The score of a bid (higher wins). */
export function scoreBid(bid: Pick<Bid, "capabilityMatch" | "load" | "capacity" | "successRate" | "latencyMs">, w: BidWeights = defaultBidWeights): number {
  const spare = bid.capacity > 0 ? 1 - Math.min(1, bid.load / bid.capacity) : 0;
  const latency = 1 / (1 + Math.max(0, bid.latencyMs) / w.latencyScaleMs);
  return w.match * clamp01(bid.capabilityMatch) + w.load * spare + w.success * clamp01(bid.successRate) + w.latency * latency;
}

/** Bids best first (score, then agent id). */
export function rankBids(bids: readonly Bid[], w: BidWeights = defaultBidWeights): Bid[] {
  return [...bids].sort((a, b) => scoreBid(b, w) - scoreBid(a, w) || a.agentId.localeCompare(b.agentId));
}

/** What happened to one award. */
export interface AwardAttempt {
  /** The bidder awarded. */
  agent: string;
  /** "completed", or why it did not. */
  outcome: string;
}

/** The result of an auction. */
export interface AuctionResult {
  /** Every bid received, best first, with its score. */
  bids: { bid: Bid; score: number }[];
  /** Bidders that declined or did not answer in time, with why. */
  declined: { agent: string; reason: string }[];
  /** The agent that ran the task. */
  winner: string;
  /** The task's result. */
  result: TaskResult;
  /** Awards made, in order (the runner-up follows a failed winner). */
  awards: AwardAttempt[];
  /** Time until bidding closed, ms. */
  biddingMs: number;
  /** Total time, ms. */
  durationMs: number;
  /** The auction's correlation id. */
  correlationId: string;
}

/** Options of an auction. */
export interface AuctionOptions {
  /** The task (its capability decides who may bid). */
  task: TaskRequest;
  /** Agent ids to ask for bids (the capable agents). */
  bidders: string[];
  /** How long bidding may stay open, ms. Default 2000. */
  biddingDeadlineMs?: number;
  /** How long the awarded task may run, ms. Default 30000. */
  taskTimeoutMs?: number;
  /** Score weights. */
  weights?: BidWeights;
  /** Correlation id. */
  correlationId: string;
  /** When given, an award to an agent that leaves or dies fails at once (and the runner-up is awarded). */
  watch?: AgentWatch;
}

/** Runs an auction over the mesh bus. Fails with NOT_FOUND when nobody bids, or with the last award's error. */
export async function auctionTask(bus: MeshMessageBus, clock: Clock, options: AuctionOptions): Promise<AuctionResult> {
  const started = clock.now();
  const biddingMs = options.biddingDeadlineMs ?? 2000;
  const weights = options.weights ?? defaultBidWeights;
  const announce = create(TaskAuctionSchema, { task: options.task, deadlineMs: BigInt(Date.now() + biddingMs) });
  const bids: Bid[] = [];
  const declined: { agent: string; reason: string }[] = [];
  await Promise.all(
    [...new Set(options.bidders)].map(async (agent) => {
      try {
        const reply = await bus.call(agent, { case: "taskAuction", value: announce }, { correlationId: options.correlationId, timeoutMs: biddingMs });
        if (reply.body.case !== "bid") throw new MeshError(Code.Internal, `answered with ${reply.body.case}`);
        bids.push({ ...reply.body.value, agentId: agent });
      } catch (err) {
        const e = MeshError.from(err);
        declined.push({ agent, reason: e.code === Code.DeadlineExceeded ? "no bid before the deadline" : e.message });
      }
    }),
  );
  const closedAt = clock.now();
  const ranked = rankBids(bids, weights);
  if (ranked.length === 0) {
    throw new MeshError(Code.NotFound, `auction of task ${options.task.taskId}: no bids for capability "${options.task.capability}" (${declined.map((d) => `${d.agent}: ${d.reason}`).join("; ") || "no capable agent"})`);
  }
  const awards: AwardAttempt[] = [];
  let lastError: MeshError | undefined;
  for (const bid of ranked) {
    const watched = options.watch?.watch(bid.agentId);
    try {
      const reply = await bus.call(
        bid.agentId,
        { case: "award", value: create(AwardSchema, { taskId: options.task.taskId, winnerId: bid.agentId }) },
        { correlationId: options.correlationId, timeoutMs: options.taskTimeoutMs ?? 30_000, signal: watched?.signal },
      );
      if (reply.body.case !== "taskResult") throw new MeshError(Code.Internal, `answered the award with ${reply.body.case}`);
      const result = reply.body.value;
      if (result.outcome.case === "failure") throw MeshError.fromFailure(result.outcome.value);
      awards.push({ agent: bid.agentId, outcome: "completed" });
      return {
        bids: ranked.map((b) => ({ bid: b, score: scoreBid(b, weights) })),
        declined,
        winner: bid.agentId,
        result,
        awards,
        biddingMs: closedAt - started,
        durationMs: clock.now() - started,
        correlationId: options.correlationId,
      };
    } catch (err) {
      lastError = MeshError.from(err);
      awards.push({ agent: bid.agentId, outcome: lastError.message });
    } finally {
      watched?.release();
    }
  }
  throw new MeshError(lastError?.code ?? Code.Unavailable, `auction of task ${options.task.taskId}: every bidder failed (${awards.map((a) => `${a.agent}: ${a.outcome}`).join("; ")})`, {
    retryable: lastError?.retryable ?? false,
  });
}

function clamp01(x: number): number {
  return Math.max(0, Math.min(1, Number.isFinite(x) ? x : 0));
}
