/**
 * Request-response routing of tasks (the source document's Pattern 1 and the core of its self-organizing
 * behaviour): a task for a capability goes to the best capable agent (the local one included); a node that
 * receives a task it cannot run offers it to its own message handlers (`onMessage`: a task_request sent
 * straight to an agent is a message like any other), and when none answers forwards it, one hop more, to a
 * capable agent it has not visited; when no agent can run it the task fails with NOT_FOUND naming the
 * capability. A capable agent that is unreachable
 * is skipped and the next best tried, within the task's deadline.
 *
 * Tracing: each routing is a span ("route CAPABILITY" where the task was accepted, "forward CAPABILITY" on a
 * node passing it on) with one child per attempt: the link request's span (bus, naming the chosen agent and
 * the attempt) or the local run's; reassignments and waits are events on it.
 */
import { create } from "@bufbuild/protobuf";
import { context as otelContext, SpanKind, SpanStatusCode, trace, type Context, type Span, type Tracer } from "@opentelemetry/api";
import type { Envelope } from "../../gen/agentmesh/v1/envelope_pb.js";
import { AbortHandle } from "../protocol/abort-handle.js";
import { MemberStatus, type AgentInfo } from "../../gen/agentmesh/v1/membership_pb.js";
import { TaskRequestSchema, type TaskRequest, type TaskResult } from "../../gen/agentmesh/v1/task_pb.js";
import type { MeshMessageBus } from "../bus/mesh-bus.js";
import type { AgentRegistry } from "../discovery/registry.js";
import type { Clock } from "../protocol/clock.js";
import type { Body } from "../protocol/envelope.js";
import { Code, MeshError } from "../protocol/errors.js";
import type { Logger } from "../protocol/logger.js";
import {
  ATTR_ATTEMPT,
  ATTR_CAPABILITY,
  ATTR_CORRELATION_ID,
  ATTR_HOPS,
  ATTR_TASK_ID,
  ATTR_TO,
  failSpan,
  setAttempt,
  SPAN_OPTIONS,
  SpanNames,
  TRACER_NAME,
  withSpan,
} from "../protocol/trace-context.js";
import { leastLoaded, loadScore, type SelectStrategy } from "./select.js";

/** Names of the spans of tasks routed from here ("route CAPABILITY") and forwarded by here ("forward CAPABILITY"). */
const ROUTE_NAMES = new SpanNames("route ");
const FORWARD_NAMES = new SpanNames("forward ");

/** Runs tasks on the local agent. */
export interface LocalExecutor {
  /** True when the local agent has a handler for `capability` and accepts tasks. */
  canRun(capability: string): boolean;
  /** True when a task run now would start at once (running + queued below capacity). */
  hasSpareCapacity(): boolean;
  /**
   * Runs (or queues) the task locally, its span a child of `context.parent` (default: the active context), or
   * with `inParentSpan` that context's span itself (a peer's request being handled); failures come back inside the result.
   */
  run(task: TaskRequest, context: { correlationId: string; deadlineMs: number; hops: number; parent?: Context; inParentSpan?: boolean }): Promise<TaskResult>;
}

/** Where a task is routed from: its correlation id, deadline, hops so far and (optionally) the parent span's context. */
export interface RouteContext {
  /** The task's correlation id. */
  correlationId: string;
  /** Absolute deadline, ms on the router's clock. */
  deadlineMs: number;
  /** Hops the task already took to get here. */
  hops: number;
  /** The context the routing span is a child of; default: the active context. */
  parent?: Context;
  /** True when a peer sent this node the task (its span is then "forward CAPABILITY"). */
  forwarded?: boolean;
}

/** A routed task's outcome. */
export interface RoutedResult {
  /** The result (success or failure). */
  result: TaskResult;
  /** Hops from the accepting node to the agent that ran it. */
  hops: number;
}

/** Options of the router. */
export interface TaskRouterOptions {
  /** The local agent. */
  selfId: string;
  /** Who can do what. */
  registry: AgentRegistry;
  /** The mesh bus. */
  bus: MeshMessageBus;
  /** Local execution. */
  local: LocalExecutor;
  /** Time source. */
  clock: Clock;
  /** Where to log. */
  logger: Logger;
  /** Candidate choice; default leastLoaded. */
  select?: SelectStrategy;
  /** Tracer of the routing spans; default: the API's global tracer (a no-op without an SDK). */
  tracer?: Tracer;
}

/** Routes tasks to capable agents. */
export class TaskRouter {
  private readonly inFlight = new Map<string, number>();
  private readonly select: SelectStrategy;
  private readonly defaultSelect: boolean;
  private readonly calls = new Map<string, Set<AbortHandle>>();
  private readonly tracer: Tracer;
  private waitingCount = 0;

  /** Creates the router; call install() to answer task requests from peers. */
  constructor(private readonly options: TaskRouterOptions) {
    this.select = options.select ?? leastLoaded((id) => this.inFlight.get(id) ?? 0);
    this.defaultSelect = options.select === undefined;
    this.tracer = options.tracer ?? trace.getTracer(TRACER_NAME);
  }

  /** Answers task requests arriving over links, and reassigns tasks of agents that leave or die. */
  install(): () => void {
    const offHandler = this.options.bus.handle("taskRequest", (env) => this.onRequest(env));
    const offWatch = this.options.registry.watch((kind, agent) => {
      if (kind === "leave") this.agentGone(agent.id);
    });
    return () => {
      offHandler();
      offWatch();
    };
  }

  /**
   * Routes `task` from this node to the best capable agent, until `deadlineMs`. When the chosen agent is
   * unreachable, fails with a retryable error, or is declared dead while it runs the task, the task goes to
   * the next best with a higher attempt number (the fencing token: a late result of an older attempt is
   * ignored). When no capable agent is left but one was known (it died or left), the task waits for a capable
   * agent to join, up to its deadline. A capability nobody ever had fails at once with NOT_FOUND.
   * `hops` counts hops the task already took to get here.
   */
  async route(task: TaskRequest, context: RouteContext): Promise<RoutedResult> {
    const parent = context.parent ?? otelContext.active();
    const span = this.tracer.startSpan((context.forwarded === true ? FORWARD_NAMES : ROUTE_NAMES).of(task.capability), SPAN_OPTIONS[SpanKind.INTERNAL], parent);
    if (span.isRecording()) {
      span.setAttribute(ATTR_CORRELATION_ID, context.correlationId);
      span.setAttribute(ATTR_CAPABILITY, task.capability);
      span.setAttribute(ATTR_TASK_ID, task.taskId);
      span.setAttribute(ATTR_HOPS, context.hops);
      setAttempt(span, task.attempt);
      // The routing agent is the span's own (its resource names it); the chosen one is set below (agentmesh.to).
    }
    try {
      const ctx = withSpan(parent, span);
      const routed = await otelContext.with(ctx, () => this.routeIn(task, context, span, ctx));
      if (span.isRecording()) {
        span.setAttribute(ATTR_TO, routed.result.agentId);
        setAttempt(span, routed.result.attempt || task.attempt);
        if (routed.result.outcome.case === "failure") span.setStatus({ code: SpanStatusCode.ERROR, message: routed.result.outcome.value.message });
      }
      return routed;
    } catch (err) {
      failSpan(span, err);
      throw err;
    } finally {
      span.end();
    }
  }

  /** route() inside its span (`ctx` makes it active: the parent of each attempt's span): the selection loop. */
  private async routeIn(task: TaskRequest, context: RouteContext, span: Span, ctx: Context): Promise<RoutedResult> {
    const { selfId, registry, clock } = this.options;
    const visited = new Set(task.visited);
    visited.add(selfId);
    const excluded = new Set<string>();
    let attempt = Math.max(1, task.attempt);
    let lastError: MeshError | undefined;
    for (;;) {
      const holders = registry.withCapability(task.capability);
      const candidates = holders.filter(
        (a) => !excluded.has(a.id) && isAvailable(a) && (a.id === selfId ? this.options.local.canRun(task.capability) : !visited.has(a.id)),
      );
      if (candidates.length === 0) {
        // Wait when a holder exists but is busy elsewhere in its life (suspect, draining), failed, or died lately.
        const worthWaiting = lastError !== undefined || registry.lostCapabilityAgeMs(task.capability) !== undefined || holders.some((a) => !visited.has(a.id) || a.id === selfId);
        if (!worthWaiting) throw noCapableAgent(task.capability, registry.knownCapabilities());
        if (span.isRecording()) span.addEvent("waiting for a capable agent", { [ATTR_ATTEMPT]: attempt });
        await this.waitForCapable(task, context, lastError);
        excluded.clear(); // an agent that failed may be back (a frozen one resumes)
        continue;
      }
      const target = this.preferLocal(candidates, this.select(candidates, task));
      if (target.id === selfId) {
        return { result: await this.options.local.run(create(TaskRequestSchema, { ...task, attempt }), { ...context, parent: ctx }), hops: context.hops };
      }
      const remainingMs = context.deadlineMs - clock.now();
      if (remainingMs <= 0) throw lastError ?? new MeshError(Code.DeadlineExceeded, `task ${task.taskId} (${task.capability}) ran out of time while routing`);
      const forwarded = create(TaskRequestSchema, { ...task, attempt, visited: [...visited] });
      const abort = new AbortHandle();
      const untrack = this.track(target.id, abort);
      try {
        const reply = await this.options.bus.call(target.id, { case: "taskRequest", value: forwarded }, {
          correlationId: context.correlationId,
          hops: context.hops + 1,
          timeoutMs: remainingMs,
          abort,
          parent: ctx,
          // The task's id and capability are on this routing span, the send span's parent; the send names its attempt
          // when it is a reassignment's.
          attributes: span.isRecording() && attempt > 1 ? { [ATTR_ATTEMPT]: attempt } : undefined,
        });
        if (reply.body.case !== "taskResult") throw new MeshError(Code.Internal, `agent ${target.id} answered a task with ${reply.body.case}`);
        const result = reply.body.value;
        registry.observeLoad(result.agentId, result.workerLoad, result.workerCapacity);
        if (result.attempt !== 0 && result.attempt !== attempt) {
          throw new MeshError(Code.Aborted, `stale result of attempt ${result.attempt} for task ${task.taskId} (attempt ${attempt} is current)`);
        }
        if (result.outcome.case === "failure" && result.outcome.value.retryable) throw MeshError.fromFailure(result.outcome.value);
        return { result, hops: reply.hops };
      } catch (err) {
        const e = MeshError.from(err);
        if (!e.retryable) throw e;
        this.options.logger.warn({ correlation_id: context.correlationId, taskId: task.taskId, agent: target.id, attempt, err: e.message }, "task not done there, reassigning");
        if (span.isRecording()) span.addEvent("reassign", { [ATTR_TO]: target.id, [ATTR_ATTEMPT]: attempt + 1, "exception.message": e.message });
        excluded.add(target.id);
        lastError = e;
        attempt++;
      } finally {
        untrack();
      }
    }
  }

  /** Tasks waiting for a capable agent to join. */
  get waiting(): number {
    return this.waitingCount;
  }

  /** Waits until an available agent with the task's capability appears, or fails at the task's deadline. */
  private async waitForCapable(task: TaskRequest, context: { correlationId: string; deadlineMs: number }, lastError: MeshError | undefined): Promise<void> {
    const { registry, clock, selfId } = this.options;
    const remainingMs = context.deadlineMs - clock.now();
    const why = lastError !== undefined ? `; last failure: ${lastError.message}` : "";
    if (remainingMs <= 0) {
      throw new MeshError(Code.DeadlineExceeded, `task ${task.taskId}: no agent with capability "${task.capability}" became available before its deadline${why}`);
    }
    this.options.logger.info({ correlation_id: context.correlationId, taskId: task.taskId, capability: task.capability }, "no capable agent now: task queued until one joins");
    this.waitingCount++;
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = clock.setTimeout(() => {
          off();
          reject(new MeshError(Code.DeadlineExceeded, `task ${task.taskId}: no agent with capability "${task.capability}" became available within ${remainingMs} ms${why}`));
        }, remainingMs);
        const off = registry.watch((kind, agent) => {
          if (kind === "leave" || !agent.capabilities.includes(task.capability) || !isAvailable(agent)) return;
          if (agent.id === selfId && !this.options.local.canRun(task.capability)) return;
          timer.cancel();
          off();
          resolve();
        });
      });
    } finally {
      this.waitingCount--;
    }
  }

  /** Registers an in-flight call to `agentId` so it can be aborted if that agent dies; returns the cleanup. */
  private track(agentId: string, abort: AbortHandle): () => void {
    this.inFlight.set(agentId, (this.inFlight.get(agentId) ?? 0) + 1);
    let set = this.calls.get(agentId);
    if (set === undefined) this.calls.set(agentId, (set = new Set()));
    set.add(abort);
    return () => {
      const n = (this.inFlight.get(agentId) ?? 1) - 1;
      if (n <= 0) this.inFlight.delete(agentId);
      else this.inFlight.set(agentId, n);
      set.delete(abort);
      if (set.size === 0) this.calls.delete(agentId);
    };
  }

  /** Fails every call in flight to `agentId` (declared dead or gone) with a retryable error, so its tasks move on. */
  private agentGone(agentId: string): void {
    for (const abort of this.calls.get(agentId) ?? []) {
      abort.abort(new MeshError(Code.Unavailable, `agent ${agentId} left the mesh or was declared dead while running the task`));
    }
  }

  /** With the default strategy, the local agent instead of `chosen` when it scores no worse: running here saves a hop. */
  private preferLocal(candidates: readonly AgentInfo[], chosen: AgentInfo): AgentInfo {
    const { selfId } = this.options;
    if (chosen.id === selfId || !this.defaultSelect) return chosen;
    const self = candidates.find((c) => c.id === selfId);
    if (self === undefined) return chosen;
    const score = (a: AgentInfo) => loadScore(a, this.inFlight.get(a.id) ?? 0);
    return score(self) <= score(chosen) ? self : chosen;
  }

  /** A peer sent this node a task: run it when capable, else forward it. */
  private async onRequest(env: Envelope): Promise<Body> {
    if (env.body.case !== "taskRequest") throw new MeshError(Code.InvalidArgument, "expected a task request");
    const task = env.body.value;
    if (task.capability === "") throw new MeshError(Code.InvalidArgument, "task_request.capability: must not be empty");
    const deadlineMs = env.deadlineMs > 0n ? Number(env.deadlineMs) : this.options.clock.now() + this.options.bus.config.requestTimeoutMs;
    // The handling span's context, taken now (synchronously inside it) and passed on explicitly.
    const context: RouteContext = { correlationId: env.correlationId, deadlineMs, hops: env.hops, forwarded: true, parent: otelContext.active() };
    if (this.options.local.canRun(task.capability)) {
      // Run in the handling span: the peer's request and its run are one span here.
      if (this.options.local.hasSpareCapacity()) return { case: "taskResult", value: await this.options.local.run(task, { ...context, inParentSpan: true }) };
      // Overloaded: delegate to a capable agent with spare capacity (one more hop), or queue here when none has.
      const { result } = await this.route(task, context);
      return { case: "taskResult", value: result };
    }
    const answered = await this.options.bus.answerAttached(env);
    if (answered !== undefined) return answered;
    const { result } = await this.route(task, context);
    return { case: "taskResult", value: result };
  }
}

function isAvailable(agent: AgentInfo): boolean {
  return !agent.draining && (agent.status === MemberStatus.ALIVE || agent.status === MemberStatus.UNSPECIFIED);
}

/** The NOT_FOUND error for a capability nobody has. */
export function noCapableAgent(capability: string, known: string[]): MeshError {
  const list = known.length > 0 ? known.sort().join(", ") : "none";
  return new MeshError(Code.NotFound, `no agent can handle capability "${capability}" (capabilities in the mesh: ${list})`);
}
