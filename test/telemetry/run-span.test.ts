/**
 * The task runner's spans: a task gets its own "run CAPABILITY" span, a child of the context it was submitted
 * in, which the runner ends; with `inParentSpan` (a peer's request being handled) the run happens in the
 * parent's recording span instead — renamed, given the task's attributes and events, and left for its owner
 * to end. A parent without a recording span still gets a span of the run's own.
 */
import { create } from "@bufbuild/protobuf";
import { ROOT_CONTEXT, SpanKind, trace, type Context } from "@opentelemetry/api";
import { describe, expect, it } from "vitest";
import { TaskRequestSchema } from "../../gen/agentmesh/v1/task_pb.js";
import { TaskRunner } from "../../src/node/task-runner.js";
import { silentLogger } from "../../src/protocol/logger.js";
import { toPayload } from "../../src/protocol/payload.js";
import { withSpan } from "../../src/protocol/trace-context.js";
import { ManualClock } from "../helpers/manual-clock.js";
import { waitFor } from "../helpers/wait.js";
import { spanWorld } from "./span-world.js";

const world = spanWorld(async () => {});

function setup(capacity = 4) {
  const tracing = world.tracingFor("w1");
  const tracer = tracing.tracerProvider.getTracer("test");
  const clock = new ManualClock();
  const runner = new TaskRunner({ agentId: "w1", capacity, maxQueued: 10, clock, logger: silentLogger, onLoadChange: () => {}, tracer: tracing.tracerProvider.getTracer("agent-mesh") });
  let n = 0;
  const run = (capability: string, parent: Context, inParentSpan: boolean) =>
    runner.run(create(TaskRequestSchema, { taskId: `t${++n}`, capability, input: toPayload(n), attempt: 2 }), { correlationId: "corr-1", deadlineMs: clock.now() + 60_000, parent, inParentSpan });
  return { tracer, runner, run };
}

describe("the task runner's spans", () => {
  it("runs a task in a span of its own, a child of the submitting context, and ends it", async () => {
    const { tracer, runner, run } = setup();
    runner.register("echo", (x) => x);
    const outer = tracer.startSpan("outer");
    await run("echo", withSpan(ROOT_CONTEXT, outer), false);
    const [span] = world.exporter.getFinishedSpans();
    expect(span.name).toBe("run echo");
    expect(span.kind).toBe(SpanKind.INTERNAL);
    expect(span.parentSpanContext?.spanId).toBe(outer.spanContext().spanId);
    expect(span.attributes).toMatchObject({ "agentmesh.correlation_id": "corr-1", "agentmesh.capability": "echo", "agentmesh.task_id": "t1", "agentmesh.attempt": 2 });
    outer.end();
  });

  it("with inParentSpan, runs in the parent's span: renamed, with the task's attributes, not ended by the runner", async () => {
    const { tracer, runner, run } = setup(1);
    const gate: (() => void)[] = [];
    runner.register("slow", () => new Promise<string>((resolve) => gate.push(() => resolve("done"))));
    const first = tracer.startSpan("handle task_request", { kind: SpanKind.SERVER });
    const second = tracer.startSpan("handle task_request", { kind: SpanKind.SERVER });
    const seen: (string | undefined)[] = [];
    runner.register("probe", () => void seen.push(trace.getActiveSpan()?.spanContext().spanId));
    const a = run("slow", withSpan(ROOT_CONTEXT, first), true);
    const b = run("probe", withSpan(ROOT_CONTEXT, second), true); // waits: capacity 1
    await waitFor(() => gate.length === 1, { what: "the first task to start" });
    gate[0]();
    await Promise.all([a, b]);
    expect(world.exporter.getFinishedSpans()).toEqual([]); // the runner made no span and ended none
    expect(seen).toEqual([second.spanContext().spanId]); // the handler ran with the parent's span active
    first.end();
    second.end();
    const spans = world.exporter.getFinishedSpans();
    expect(spans.map((s) => s.name)).toEqual(["run slow", "run probe"]);
    expect(spans.map((s) => s.kind)).toEqual([SpanKind.SERVER, SpanKind.SERVER]);
    expect(spans[1].attributes).toMatchObject({ "agentmesh.capability": "probe", "agentmesh.task_id": "t2", "agentmesh.attempt": 2 });
    expect(spans[1].events.map((e) => e.name)).toEqual(["queued", "started"]);
  });

  it("with inParentSpan but no recording span in the parent, still gives the run a span of its own", async () => {
    const { runner, run } = setup();
    runner.register("echo", (x) => x);
    await run("echo", withSpan(ROOT_CONTEXT, trace.wrapSpanContext({ traceId: "4bf92f3577b34da6a3ce929d0e0e4736", spanId: "00f067aa0ba902b7", traceFlags: 1, isRemote: true })), true);
    const [span] = world.exporter.getFinishedSpans();
    expect(span.name).toBe("run echo");
    expect(span.parentSpanContext?.spanId).toBe("00f067aa0ba902b7");
    expect(span.spanContext().traceId).toBe("4bf92f3577b34da6a3ce929d0e0e4736");
  });
});
