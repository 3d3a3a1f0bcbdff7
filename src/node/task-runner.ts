/**
 * Local task execution with a capacity: at most `capacity` handlers run at once, the rest wait in a bounded
 * FIFO queue (never dropped, never run beyond capacity). A handler that throws produces a failed result, not
 * a dead node; a task past its deadline is aborted through its signal.
 *
 * Each task is a span "run CAPABILITY", a child of the context it was submitted in, from acceptance (queue
 * time included; "started" marks the slot) to its result — or, for a task a peer sent (`inParentSpan`), the
 * span that handles the peer's request, renamed "run CAPABILITY" and ended by its owner: one span for the
 * remote handling and the run, not two. The handler runs inside it, so its log lines carry
 * its trace and span ids (ctx.log always, other loggers as the context allows) and the sub-tasks it submits are its children — across its awaits with the
 * AsyncLocalStorage context manager, up to its first await with the synchronous one (telemetry/
 * context-manager.ts); sub-tasks of TaskContext.delegate are its children either way.
 */
import { AbortHandle } from "../protocol/abort-handle.js";
import { abortable } from "../protocol/abortable.js";
import { create } from "@bufbuild/protobuf";
import { context as otelContext, SpanKind, SpanStatusCode, trace, type Context, type Span, type Tracer } from "@opentelemetry/api";
import { TaskResultSchema, type TaskRequest, type TaskResult } from "../../gen/agentmesh/v1/task_pb.js";
import type { Clock } from "../protocol/clock.js";
import { Code, MeshError } from "../protocol/errors.js";
import type { Logger } from "../protocol/logger.js";
import { fromPayload, toPayload } from "../protocol/payload.js";
import { ATTR_CAPABILITY, ATTR_CORRELATION_ID, ATTR_TASK_ID, setAttempt, SPAN_OPTIONS, SpanNames, TRACER_NAME, withSpan } from "../protocol/trace-context.js";
import { loggerInContext } from "../telemetry/context-manager.js";

/** What a task handler receives besides the input. */
export interface TaskContext {
  /** The task's id. */
  taskId: string;
  /** The task's correlation id (put it in your logs). */
  correlationId: string;
  /** The capability invoked. */
  capability: string;
  /** The agent running it. */
  agentId: string;
  /** Aborted when the task's deadline passes or the node stops. */
  signal: AbortSignal;
  /** A logger with the correlation id on every line. */
  log: Logger;
  /** Hops the task took to reach this agent. */
  hops: number;
  /**
   * Hands a sub-task to the mesh (the best capable agent, possibly this one) as part of this task: same
   * correlation id and trace, one hop more, within this task's deadline. A chain of agents that keep
   * delegating stops at the hop limit with FAILED_PRECONDITION.
   */
  delegate(capability: string, input: unknown): Promise<unknown>;
}

/** How a runner hands sub-tasks to the mesh (see TaskContext.delegate); `parent.context` makes the task's span active. */
export type Delegate = (capability: string, input: unknown, parent: { correlationId: string; hops: number; deadlineMs: number; context: Context }) => Promise<unknown>;

/** Runs one task: returns (or resolves) its output; throw a MeshError to choose the status code. */
export type TaskHandler = (input: any, context: TaskContext) => unknown | Promise<unknown>;

interface Job {
  task: TaskRequest;
  correlationId: string;
  deadlineMs: number;
  hops: number;
  /** The task's span and the context that makes it active. */
  span: Span;
  ctx: Context;
  /** True when the runner started `span` (and ends it); false when it is the caller's (inParentSpan). */
  ownSpan: boolean;
  /** True when it waited for a slot. */
  queued?: boolean;
  resolve(result: TaskResult): void;
}

/** Names of the spans of task runs: "run CAPABILITY". */
const RUN_NAMES = new SpanNames("run ");

/** Options of a TaskRunner. */
export interface TaskRunnerOptions {
  /** The local agent id. */
  agentId: string;
  /** Concurrent tasks at most. */
  capacity: number;
  /** Waiting tasks at most. */
  maxQueued: number;
  /** Time source. */
  clock: Clock;
  /** Where to log. */
  logger: Logger;
  /** Called whenever the number of running or waiting tasks changes, with the number running. */
  onLoadChange(load: number): void;
  /** Hands sub-tasks to the mesh (TaskContext.delegate); without it, delegate fails UNIMPLEMENTED. */
  delegate?: Delegate;
  /** Called after each task ran (not for tasks refused before they started), with its outcome and run time. */
  onRunFinished?(capability: string, ok: boolean, durationMs: number): void;
  /** Tracer of the task spans; default: the API's global tracer (a no-op without an SDK). */
  tracer?: Tracer;
}

/** Runs tasks locally within a capacity. */
export class TaskRunner {
  private readonly handlers = new Map<string, TaskHandler>();
  private readonly queue: Job[] = [];
  private running = 0;
  private readonly controllers = new Set<AbortHandle>();
  private idleWaiters: (() => void)[] = [];
  private readonly tracer: Tracer;

  /** Creates a runner without handlers. */
  constructor(private readonly options: TaskRunnerOptions) {
    this.tracer = options.tracer ?? trace.getTracer(TRACER_NAME);
  }

  /** Registers (or replaces) the handler of `capability`. */
  register(capability: string, handler: TaskHandler): void {
    this.handlers.set(capability, handler);
  }

  /** Removes the handler of `capability`. */
  unregister(capability: string): void {
    this.handlers.delete(capability);
  }

  /** Capabilities with handlers. */
  capabilities(): string[] {
    return [...this.handlers.keys()];
  }

  /** True when a handler for `capability` exists. */
  has(capability: string): boolean {
    return this.handlers.has(capability);
  }

  /** Tasks running now. */
  get load(): number {
    return this.running;
  }

  /** Tasks waiting. */
  get queued(): number {
    return this.queue.length;
  }

  /**
   * Runs `task` now or when a slot frees; resolves with its result (a failure result when it fails). Its span
   * is a child of `context.parent`, default the active context; with `inParentSpan`, it is the recording span
   * of `context.parent` itself (renamed "run CAPABILITY"; its owner ends it after the result), when it has one.
   */
  run(task: TaskRequest, context: { correlationId: string; deadlineMs: number; hops?: number; parent?: Context; inParentSpan?: boolean }): Promise<TaskResult> {
    const parent = context.parent ?? otelContext.active();
    const adopted = context.inParentSpan === true ? trace.getSpan(parent) : undefined;
    const ownSpan = adopted === undefined || !adopted.isRecording();
    const span = ownSpan ? this.tracer.startSpan(RUN_NAMES.of(task.capability), SPAN_OPTIONS[SpanKind.INTERNAL], parent) : adopted;
    if (span.isRecording()) {
      if (!ownSpan) span.updateName(RUN_NAMES.of(task.capability));
      else span.setAttribute(ATTR_CORRELATION_ID, context.correlationId);
      span.setAttribute(ATTR_CAPABILITY, task.capability);
      span.setAttribute(ATTR_TASK_ID, task.taskId);
      setAttempt(span, task.attempt);
    }
    return new Promise<TaskResult>((resolve) => {
      const job: Job = { task, correlationId: context.correlationId, deadlineMs: context.deadlineMs, hops: context.hops ?? 0, span, ctx: ownSpan ? withSpan(parent, span) : parent, ownSpan, resolve };
      if (this.running < this.options.capacity) {
        void this.start(job);
        return;
      }
      if (this.queue.length >= this.options.maxQueued) {
        const err = new MeshError(Code.ResourceExhausted, `agent ${this.options.agentId}: task queue full (${this.options.maxQueued} waiting)`, { retryable: true });
        if (ownSpan) endTaskSpan(span, err.message);
        resolve(this.failure(task, 0, err));
        return;
      }
      if (span.isRecording()) span.addEvent("queued", { "agentmesh.queue_length": this.queue.length + 1 });
      job.queued = true;
      this.queue.push(job);
      this.options.onLoadChange(this.running);
    });
  }

  /** Resolves once nothing runs or waits, or after `timeoutMs` (then aborts what still runs). */
  async drain(timeoutMs: number): Promise<void> {
    if (this.running === 0 && this.queue.length === 0) return;
    let timer: { cancel(): void } | undefined;
    await Promise.race([
      new Promise<void>((resolve) => this.idleWaiters.push(resolve)),
      new Promise<void>((resolve) => (timer = this.options.clock.setTimeout(resolve, timeoutMs))),
    ]);
    timer?.cancel();
    for (const c of this.controllers) c.abort(new MeshError(Code.Unavailable, `agent ${this.options.agentId} stopped`));
  }

  private async start(job: Job): Promise<void> {
    this.running++;
    this.options.onLoadChange(this.running);
    const { task } = job;
    const started = this.options.clock.now();
    const controller = new AbortHandle();
    this.controllers.add(controller);
    const remaining = job.deadlineMs - started;
    const timer = this.options.clock.setTimeout(
      () => controller.abort(new MeshError(Code.DeadlineExceeded, `task ${task.taskId} (${task.capability}) exceeded its deadline`)),
      Math.max(0, remaining),
    );
    let result: TaskResult;
    let ran = false; // the handler was called (a task refused before it started is no run)
    try {
      const handler = this.handlers.get(task.capability);
      if (handler === undefined) throw new MeshError(Code.NotFound, `agent ${this.options.agentId} has no handler for capability "${task.capability}"`);
      if (remaining <= 0) throw new MeshError(Code.DeadlineExceeded, `task ${task.taskId} (${task.capability}) expired before it started`);
      const input = fromPayload(task.input, "input");
      // Lines carry the run span's trace and span ids even after the handler's awaits (see loggerInContext).
      const log = loggerInContext(this.options.logger.child({ correlation_id: job.correlationId, taskId: task.taskId, capability: task.capability }), job.ctx);
      const context = new RunContext(job, this.options.agentId, log, controller, this.options.delegate);
      if (job.queued === true && job.span.isRecording()) job.span.addEvent("started");
      ran = true;
      const output = await abortable(
        otelContext.with(job.ctx, () => Promise.resolve(handler(input, context))),
        controller,
      );
      result = create(TaskResultSchema, {
        taskId: task.taskId,
        agentId: this.options.agentId,
        attempt: task.attempt,
        outcome: { case: "output", value: toPayload(output) },
      });
    } catch (err) {
      const e = MeshError.from(err, Code.Unknown);
      otelContext.with(job.ctx, () =>
        this.options.logger.warn({ correlation_id: job.correlationId, taskId: task.taskId, capability: task.capability, code: e.codeName, err: e.message }, "task failed"),
      );
      result = this.failure(task, 0, e);
    } finally {
      timer.cancel();
      this.controllers.delete(controller);
    }
    result.durationMs = Math.max(0, Math.round(this.options.clock.now() - started));
    this.running--;
    const next = this.queue.shift();
    if (next !== undefined) void this.start(next);
    result.workerLoad = this.running;
    result.workerCapacity = this.options.capacity;
    this.options.onLoadChange(this.running);
    if (ran) this.options.onRunFinished?.(task.capability, result.outcome.case === "output", result.durationMs);
    if (job.ownSpan) endTaskSpan(job.span, result.outcome.case === "failure" ? result.outcome.value.message : undefined);
    job.resolve(result);
    if (this.running === 0 && this.queue.length === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  private failure(task: TaskRequest, durationMs: number, err: MeshError): TaskResult {
    return create(TaskResultSchema, {
      taskId: task.taskId,
      agentId: this.options.agentId,
      attempt: task.attempt,
      durationMs,
      workerLoad: this.running,
      workerCapacity: this.options.capacity,
      outcome: { case: "failure", value: err.toFailure() },
    });
  }
}


/**
 * The TaskContext a handler receives. A class, not an object literal: V8 makes a literal with a getter a
 * dictionary-mode object, and with the literal's getter closing over the task's scope, young-generation GCs
 * kept and promoted the objects of nearly every task (measured on a TaskRunner alone at concurrency 1: each
 * scavenge promoted ~5 MB and took ~3.5 ms; with the prototype's getter, ~0.1 MB and ~0.25 ms).
 */
class RunContext implements TaskContext {
  readonly taskId: string;
  readonly correlationId: string;
  readonly capability: string;
  readonly hops: number;
  /** Hands a sub-task to the mesh as part of this task (an own function, so `const { delegate } = ctx` works). */
  readonly delegate: (capability: string, input: unknown) => Promise<unknown>;

  /** The context of `job`, run by agent `agentId`. */
  constructor(
    job: Job,
    readonly agentId: string,
    readonly log: Logger,
    private readonly controller: AbortHandle,
    delegateTo: Delegate | undefined,
  ) {
    this.taskId = job.task.taskId;
    this.correlationId = job.correlationId;
    this.capability = job.task.capability;
    this.hops = job.hops;
    this.delegate =
      delegateTo === undefined
        ? () => Promise.reject(new MeshError(Code.Unimplemented, `agent ${agentId} cannot delegate`))
        : (capability, input) => delegateTo(capability, input, { correlationId: job.correlationId, hops: job.hops, deadlineMs: job.deadlineMs, context: job.ctx });
  }

  /** Aborted when the task's deadline passes or the node stops; an AbortSignal is made only for a handler that reads it. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }
}

/** Ends a task's span: ERROR with `failure` as its message when the task failed. */
function endTaskSpan(span: Span, failure: string | undefined): void {
  if (failure !== undefined && span.isRecording()) span.setStatus({ code: SpanStatusCode.ERROR, message: failure });
  span.end();
}
