/**
 * The agent's side of the collaboration patterns: answering vote requests (its vote handler), bidding in
 * task auctions and running awarded tasks, answering collaboration invites and capability queries, and
 * keeping its own performance record (shared through the replicated state for bid scoring).
 */
import { create } from "@bufbuild/protobuf";
import { BidSchema } from "../../gen/agentmesh/v1/auction_pb.js";
import { CapabilityAnswerSchema, CollaborationReplySchema, type CollaborationInvite } from "../../gen/agentmesh/v1/collaboration_pb.js";
import { VoteSchema } from "../../gen/agentmesh/v1/consensus_pb.js";
import type { AgentInfo } from "../../gen/agentmesh/v1/membership_pb.js";
import type { TaskRequest, TaskResult } from "../../gen/agentmesh/v1/task_pb.js";
import type { MeshMessageBus } from "../bus/mesh-bus.js";
import { parseRecord, perfKey, recordRun, type PerformanceRecord } from "../patterns/performance.js";
import type { Clock, TimerHandle } from "../protocol/clock.js";
import { Code, MeshError } from "../protocol/errors.js";
import { fromPayload } from "../protocol/payload.js";
import type { GossipState } from "../state/gossip-state.js";

/** A vote request as a vote handler sees it. */
export interface VoteQuestion {
  /** The question. */
  question: string;
  /** Allowed choices (empty: free-form). */
  options: string[];
  /** The agent that asks. */
  from: string;
  /** The round's correlation id. */
  correlationId: string;
}

/** Chooses a vote: a choice, or {choice, rationale}. Throw (or return undefined) to abstain. */
export type VoteHandler = (question: VoteQuestion) => string | { choice: string; rationale?: string } | undefined | Promise<string | { choice: string; rationale?: string } | undefined>;

/** An invitation as an invite handler sees it. */
export interface Invitation {
  /** The team. */
  teamId: string;
  /** What the team works on. */
  goal: string;
  /** The role offered. */
  role: string;
  /** Capabilities needed. */
  capabilities: string[];
  /** Extra context. */
  context: unknown;
  /** Who invites. */
  from: string;
}

/** Accepts (true / {accepted: true}) or declines an invitation. */
export type InviteHandler = (invite: Invitation) => boolean | { accepted: boolean; reason?: string } | Promise<boolean | { accepted: boolean; reason?: string }>;

/** What the collaboration side needs from its node. */
export interface CollaborationHost {
  /** The local agent. */
  info(): AgentInfo;
  /** True when the agent can run `capability` now. */
  canRun(capability: string): boolean;
  /** Tasks running. */
  load(): number;
  /** Runs a task locally (within capacity). */
  run(task: TaskRequest, context: { correlationId: string; deadlineMs: number }): Promise<TaskResult>;
}

/** Options of the collaboration side. */
export interface CollaborationOptions {
  /** The node's bus. */
  bus: MeshMessageBus;
  /** The replicated state (performance records). */
  state: GossipState;
  /** Time source. */
  clock: Clock;
  /** The node. */
  host: CollaborationHost;
  /** Auctioned tasks remembered for an award at most. Default 1000. */
  maxPendingAuctions?: number;
  /** How long an auctioned task waits for its award after bidding closes, ms. Default 10000. */
  awardGraceMs?: number;
  /** How often, at most, performance records are published, ms. Default 500. */
  perfPublishIntervalMs?: number;
  /** How long an awarded task may run when its auction gave no deadline, ms. Default 30000. */
  awardedTaskTimeoutMs?: number;
}

/** Installs the handlers on the bus and keeps the performance record. */
export class Collaboration {
  private voteHandler: VoteHandler | undefined;
  private inviteHandler: InviteHandler | undefined;
  private readonly auctions = new Map<string, { task: TaskRequest; expiresMs: number }>();
  private readonly perf = new Map<string, PerformanceRecord>();
  private readonly dirty = new Set<string>();
  private perfTimer: TimerHandle | undefined;
  private readonly offs: (() => void)[] = [];

  /** Creates the side; install() answers requests. */
  constructor(private readonly o: CollaborationOptions) {}

  /** Answers vote, auction, award, invite and capability-query requests. */
  install(): void {
    const { bus } = this.o;
    this.offs.push(
      bus.handle("voteRequest", async (env) => {
        if (env.body.case !== "voteRequest") throw new MeshError(Code.InvalidArgument, "expected a vote request");
        const handler = this.voteHandler;
        if (handler === undefined) {
          // No vote handler: the agent's message handlers may answer (a consensus_vote Message), else it abstains.
          const answered = await bus.answerAttached(env);
          if (answered !== undefined) return answered;
          throw new MeshError(Code.Unimplemented, `agent ${this.o.host.info().id} has no vote handler`);
        }
        const req = env.body.value;
        const answer = await handler({ question: req.question, options: req.options, from: env.from, correlationId: env.correlationId });
        if (answer === undefined) throw new MeshError(Code.FailedPrecondition, `agent ${this.o.host.info().id} abstained`);
        const vote = typeof answer === "string" ? { choice: answer, rationale: "" } : { choice: answer.choice, rationale: answer.rationale ?? "" };
        return { case: "vote", value: create(VoteSchema, { agentId: this.o.host.info().id, choice: vote.choice, weight: 1, rationale: vote.rationale }) };
      }),
      bus.handle("taskAuction", (env) => {
        if (env.body.case !== "taskAuction" || env.body.value.task === undefined) throw new MeshError(Code.InvalidArgument, "task_auction.task: required");
        const task = env.body.value.task;
        const self = this.o.host.info();
        if (!this.o.host.canRun(task.capability)) throw new MeshError(Code.FailedPrecondition, `agent ${self.id} does not bid: cannot run capability "${task.capability}" now`);
        this.remember(task, env.body.value.deadlineMs);
        const record = this.perf.get(task.capability);
        return {
          case: "bid",
          value: create(BidSchema, {
            agentId: self.id,
            taskId: task.taskId,
            load: this.o.host.load(),
            capacity: self.capacity,
            capabilityMatch: 1,
            successRate: record?.successRate ?? 1,
            latencyMs: record?.latencyMs ?? 0,
          }),
        };
      }),
      bus.handle("award", async (env) => {
        if (env.body.case !== "award") throw new MeshError(Code.InvalidArgument, "expected an award");
        const pending = this.auctions.get(env.body.value.taskId);
        if (pending === undefined) throw new MeshError(Code.FailedPrecondition, `agent ${this.o.host.info().id} holds no auction for task ${env.body.value.taskId} (expired or never bid)`);
        this.auctions.delete(env.body.value.taskId);
        const deadlineMs = env.deadlineMs > 0n ? Number(env.deadlineMs) : this.o.clock.now() + (this.o.awardedTaskTimeoutMs ?? 30_000);
        return { case: "taskResult", value: await this.o.host.run(pending.task, { correlationId: env.correlationId, deadlineMs }) };
      }),
      bus.handle("collaborationInvite", async (env) => {
        if (env.body.case !== "collaborationInvite") throw new MeshError(Code.InvalidArgument, "expected an invite");
        const inv = env.body.value;
        const answer = await (this.inviteHandler ?? ((i: Invitation) => this.defaultInvite(i)))(this.invitation(inv, env.from));
        const reply = typeof answer === "boolean" ? { accepted: answer, reason: answer ? "" : "declined" } : { accepted: answer.accepted, reason: answer.reason ?? "" };
        return { case: "collaborationReply", value: create(CollaborationReplySchema, { teamId: inv.teamId, ...reply }) };
      }),
      bus.handle("capabilityQuery", async (env) => {
        if (env.body.case !== "capabilityQuery") throw new MeshError(Code.InvalidArgument, "expected a capability query");
        // The agent's message handlers may answer for it; otherwise it answers from what it can run now.
        const answered = await bus.answerAttached(env);
        if (answered !== undefined) return answered;
        const capability = env.body.value.capability;
        return { case: "capabilityAnswer", value: create(CapabilityAnswerSchema, { capability, canHandle: this.o.host.canRun(capability), agent: this.o.host.info() }) };
      }),
    );
  }

  /** Sets the handler that chooses this agent's votes (without one, it abstains). */
  onVote(handler: VoteHandler | undefined): void {
    this.voteHandler = handler;
  }

  /** Sets the handler that answers invitations (default: accept when able to run every capability asked for). */
  onInvite(handler: InviteHandler | undefined): void {
    this.inviteHandler = handler;
  }

  /** Records a local run in the performance record (published through the state, batched). */
  recordRun(capability: string, ok: boolean, durationMs: number): void {
    this.perf.set(capability, recordRun(this.perf.get(capability), ok, durationMs));
    this.dirty.add(capability);
    if (this.perfTimer !== undefined) return;
    this.perfTimer = this.o.clock.setTimeout(() => this.publish(), this.o.perfPublishIntervalMs ?? 500);
  }

  /** The record of `agent` for `capability`: local for this agent, else from the replicated state. */
  performance(agent: string, capability: string): PerformanceRecord | undefined {
    if (agent === this.o.host.info().id) return this.perf.get(capability);
    return parseRecord(this.o.state.get(perfKey(agent, capability)));
  }

  /** Removes the handlers and stops publishing. */
  close(): void {
    for (const off of this.offs.splice(0)) off();
    this.perfTimer?.cancel();
    this.perfTimer = undefined;
  }

  private publish(): void {
    this.perfTimer = undefined;
    const id = this.o.host.info().id;
    for (const capability of this.dirty) {
      const record = this.perf.get(capability);
      if (record !== undefined) this.o.state.set(perfKey(id, capability), record);
    }
    this.dirty.clear();
  }

  private remember(task: TaskRequest, deadlineMs: bigint): void {
    const now = this.o.clock.now();
    for (const [id, a] of this.auctions) if (a.expiresMs < now) this.auctions.delete(id);
    const max = this.o.maxPendingAuctions ?? 1000;
    if (this.auctions.size >= max) {
      throw new MeshError(Code.ResourceExhausted, `agent ${this.o.host.info().id} holds ${max} auctioned tasks awaiting awards; not bidding`, { retryable: true });
    }
    const closes = deadlineMs > 0n ? Number(deadlineMs) - Date.now() + now : now;
    this.auctions.set(task.taskId, { task, expiresMs: closes + (this.o.awardGraceMs ?? 10_000) });
  }

  private invitation(inv: CollaborationInvite, from: string): Invitation {
    return { teamId: inv.teamId, goal: inv.goal, role: inv.role, capabilities: inv.capabilities, context: fromPayload(inv.context, "context"), from };
  }

  private defaultInvite(inv: Invitation): { accepted: boolean; reason?: string } {
    const missing = inv.capabilities.filter((c) => !this.o.host.canRun(c));
    return missing.length === 0 ? { accepted: true } : { accepted: false, reason: `cannot run ${missing.join(", ")}` };
  }
}
