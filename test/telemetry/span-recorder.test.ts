/**
 * The node's span recorder: parent and child through the API's context, roots and remote parents, the
 * sampler's decision (sampled-out spans record nothing but carry their context on), status, events, links
 * and limits as the SDK has them, times on the wall clock, and recorded spans handed to SDK span processors
 * as ReadableSpans. The ring's contents (wire spans) and its overwriting of the oldest.
 */
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, TraceFlags, type Context, type Span } from "@opentelemetry/api";
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { describe, expect, it } from "vitest";
import { SpanStatusCode as WireStatus, SpanKind as WireKind } from "../../gen/agentmesh/v1/trace_pb.js";
import { ATTR_CORRELATION_ID, withSpan } from "../../src/protocol/trace-context.js";
import { RecordedSpan } from "../../src/telemetry/recorded-span.js";
import { leanSampler, samplerSpecFromEnv } from "../../src/telemetry/sampling.js";
import { SpanRecorder, type SpanSink } from "../../src/telemetry/span-recorder.js";
import { SpanRing } from "../../src/telemetry/span-ring.js";
import { startTracing, tracingResource } from "../../src/telemetry/tracing.js";

/** A recorder keeping finished spans in a list (and a ring), with the sampler OTEL_TRACES_SAMPLER names in `env`. */
function recorder(env: NodeJS.ProcessEnv = {}, limits = {}) {
  const ended: RecordedSpan[] = [];
  const ring = new SpanRing(8, "agent-r");
  const list: SpanSink = { onEnd: (s) => void ended.push(s), forceFlush: () => Promise.resolve(), shutdown: () => Promise.resolve() };
  const provider = new SpanRecorder({ sampler: leanSampler(samplerSpecFromEnv(env)), limits, sinks: [list, ring], resource: () => tracingResource("agent-r", {}) });
  return { provider, tracer: provider.getTracer("test", "1.0"), ended, ring };
}

const remoteParent = (flags: TraceFlags): Context =>
  trace.setSpanContext(ROOT_CONTEXT, { traceId: "0af7651916cd43dd8448eb211c80319c", spanId: "b7ad6b7169203331", traceFlags: flags, isRemote: true });

describe("SpanRecorder", () => {
  it("makes children of the span in the context, roots elsewhere, and new roots on request", () => {
    const { tracer } = recorder();
    const root = tracer.startSpan("root");
    const ctx = withSpan(ROOT_CONTEXT, root);
    const child = tracer.startSpan("child", {}, ctx) as RecordedSpan;
    const grandchild = tracer.startSpan("grandchild", {}, trace.setSpan(ctx, child)) as RecordedSpan;
    const other = tracer.startSpan("other", { root: true }, ctx) as RecordedSpan;
    expect(root).toBeInstanceOf(RecordedSpan);
    expect(root.spanContext().traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(root.spanContext().spanId).toMatch(/^[0-9a-f]{16}$/);
    expect(child.spanContext().traceId).toBe(root.spanContext().traceId);
    expect(child.parentSpanContext?.spanId).toBe(root.spanContext().spanId);
    expect(grandchild.parentSpanContext?.spanId).toBe(child.spanContext().spanId);
    expect(other.parentSpanContext).toBeUndefined();
    expect(other.spanContext().traceId).not.toBe(root.spanContext().traceId);
    expect(new Set([root, child, grandchild, other].map((s) => s.spanContext().spanId)).size).toBe(4);
  });

  it("continues a remote parent's trace, and follows its sampling decision by default", () => {
    const { tracer } = recorder();
    const sampled = tracer.startSpan("handle", { kind: SpanKind.SERVER }, remoteParent(TraceFlags.SAMPLED)) as RecordedSpan;
    expect(sampled.isRecording()).toBe(true);
    expect(sampled.spanContext()).toMatchObject({ traceId: "0af7651916cd43dd8448eb211c80319c", traceFlags: TraceFlags.SAMPLED });
    expect(sampled.parentSpanContext).toMatchObject({ spanId: "b7ad6b7169203331", isRemote: true });
    const unsampled = tracer.startSpan("handle", {}, remoteParent(TraceFlags.NONE));
    expect(unsampled.isRecording()).toBe(false);
    // Not recorded, but its context is valid and says "not sampled": the decision travels on.
    expect(unsampled.spanContext()).toMatchObject({ traceId: "0af7651916cd43dd8448eb211c80319c", traceFlags: TraceFlags.NONE });
    expect(unsampled.spanContext().spanId).toMatch(/^[0-9a-f]{16}$/);
    expect(unsampled.spanContext().isRemote).toBe(false);
    expect(tracer.startSpan("child", {}, withSpan(ROOT_CONTEXT, unsampled)).isRecording()).toBe(false);
  });

  it("records nothing under always_off, and a ratio sampler's share of roots", () => {
    expect(recorder({ OTEL_TRACES_SAMPLER: "always_off" }).tracer.startSpan("x").isRecording()).toBe(false);
    const { tracer } = recorder({ OTEL_TRACES_SAMPLER: "traceidratio", OTEL_TRACES_SAMPLER_ARG: "0.25" });
    let recorded = 0;
    for (let i = 0; i < 4000; i++) if (tracer.startSpan("x").isRecording()) recorded++;
    expect(recorded).toBeGreaterThan(800);
    expect(recorded).toBeLessThan(1200);
  });

  it("hands each span to the sinks once, when it ends, with status, events, links and times", () => {
    const { tracer, ended } = recorder();
    const linked = tracer.startSpan("linked");
    const before = Date.now();
    const span = tracer.startSpan("work", { kind: SpanKind.CLIENT, attributes: { a: 1 }, links: [{ context: linked.spanContext(), attributes: { why: "batch" } }] });
    span.setAttributes({ b: "two", c: true, list: ["x", "y"], skipped: undefined });
    span.addEvent("retry", { attempt: 2 });
    span.setStatus({ code: SpanStatusCode.ERROR, message: "agent b unreachable" });
    span.setStatus({ code: SpanStatusCode.UNSET });
    span.recordException(new Error("boom"));
    expect(ended).toEqual([]);
    span.end();
    span.end(); // a second end is ignored
    span.setAttribute("late", 1); // after the end: ignored
    const after = Date.now();
    expect(ended).toEqual([span]);
    const s = ended[0];
    expect(s.attributes).toEqual({ a: 1, b: "two", c: true, list: ["x", "y"] });
    expect(s.status).toEqual({ code: SpanStatusCode.ERROR, message: "agent b unreachable" });
    expect(s.events.map((e) => e.name)).toEqual(["retry", "exception"]);
    expect(s.events[1].attributes).toMatchObject({ "exception.type": "Error", "exception.message": "boom" });
    expect(s.links).toEqual([{ context: linked.spanContext(), attributes: { why: "batch" } }]);
    const startMs = s.startTime[0] * 1000 + s.startTime[1] / 1e6;
    const endMs = s.endTime[0] * 1000 + s.endTime[1] / 1e6;
    expect(startMs).toBeGreaterThanOrEqual(before - 5);
    expect(endMs).toBeLessThanOrEqual(after + 5);
    expect(endMs).toBeGreaterThanOrEqual(startMs);
    expect(s.events[0].time[0] * 1000 + s.events[0].time[1] / 1e6).toBeGreaterThanOrEqual(startMs);
    expect(s.ended).toBe(true);
    expect(s.instrumentationScope).toMatchObject({ name: "test", version: "1.0" });
    expect(s.resource.attributes["service.instance.id"]).toBe("agent-r");
  });

  it("applies the span limits and counts what they drop", () => {
    const { tracer } = recorder({}, { attributeCount: 2, eventCount: 2, linkCount: 1, attributeValueLength: 3 });
    const span = tracer.startSpan("limited") as RecordedSpan;
    span.setAttributes({ a: "abcdef", b: 2, c: 3 });
    for (const name of ["e1", "e2", "e3"]) span.addEvent(name);
    span.addLinks([{ context: span.spanContext() }, { context: span.spanContext() }]);
    span.end();
    expect(span.attributes).toEqual({ a: "abc", b: 2 });
    expect(span.droppedAttributesCount).toBe(1);
    expect(span.events.map((e) => e.name)).toEqual(["e2", "e3"]);
    expect(span.droppedEventsCount).toBe(1);
    expect(span.links).toHaveLength(1);
    expect(span.droppedLinksCount).toBe(1);
  });

  it("keeps attributes as a flat key/value list: a key once, replaced in place, limited, frozen at the end", () => {
    const { tracer } = recorder({}, { attributeCount: 3, attributeValueLength: 4 });
    const span = tracer.startSpan("flat", { attributes: { a: 1 } }) as RecordedSpan;
    span.setAttribute("b", "long value");
    span.setAttribute("a", 2); // replaced where it is, not appended
    span.setAttribute("c", true);
    span.setAttribute("d", 4); // over the limit of 3: dropped
    span.setAttribute("b", "xy"); // an existing key is replaced even at the limit
    span.setAttribute("e", undefined); // no value: ignored, not counted
    span.setAttribute("f", { no: "object" } as never); // invalid: ignored, not counted
    expect(span.attributeList).toEqual(["a", 2, "b", "xy", "c", true]);
    expect(span.droppedAttributesCount).toBe(1);
    const before = span.attributes;
    expect(before).toEqual({ a: 2, b: "xy", c: true });
    expect(span.attributes).toBe(before); // made once while nothing changes
    span.setAttribute("c", false);
    expect(span.attributes).toEqual({ a: 2, b: "xy", c: false });
    span.end();
    const after = span.attributes;
    span.setAttribute("a", 3);
    span.setAttribute("g", 1);
    expect(span.attributeList).toEqual(["a", 2, "b", "xy", "c", false]);
    expect(span.attributes).toBe(after);
    expect(after).toEqual({ a: 2, b: "xy", c: false });
    expect(span.droppedAttributesCount).toBe(1);
  });

  it("makes no recording spans after shutdown, and none where tracing is suppressed", async () => {
    const { provider, tracer } = recorder();
    const suppressed = ROOT_CONTEXT.setValue(Symbol.for("OpenTelemetry SDK Context Key SUPPRESS_TRACING"), true);
    expect(tracer.startSpan("x", {}, suppressed).isRecording()).toBe(false);
    await provider.shutdown();
    expect(tracer.startSpan("x").isRecording()).toBe(false);
  });

  it("runs startActiveSpan's function with the new span active", () => {
    const { tracer } = recorder();
    const seen = tracer.startActiveSpan("active", (span: Span) => {
      span.end();
      return span;
    });
    expect(seen).toBeInstanceOf(RecordedSpan);
  });

  it("gives SDK span processors ReadableSpans they can export", async () => {
    const exporter = new InMemorySpanExporter();
    const t = startTracing({ agentId: "agent-s", env: {}, register: false, spanProcessors: [new SimpleSpanProcessor(exporter)] });
    const tracer = t.tracerProvider.getTracer("agent-mesh");
    const parent = tracer.startSpan("parent");
    tracer.startSpan("child", { kind: SpanKind.SERVER, attributes: { [ATTR_CORRELATION_ID]: "c" } }, withSpan(ROOT_CONTEXT, parent)).end();
    parent.end();
    const [child, p] = exporter.getFinishedSpans();
    expect(child.name).toBe("child");
    expect(child.parentSpanContext?.spanId).toBe(p.spanContext().spanId);
    expect(child.resource.attributes).toMatchObject({ "agentmesh.agent_id": "agent-s", "service.name": "agent-s", "service.namespace": "agent-mesh" });
    expect(child.duration[0] * 1e9 + child.duration[1]).toBeGreaterThanOrEqual(0);
    await t.shutdown();
  });
});

describe("the ring of recorded spans", () => {
  it("keeps the newest spans and answers queries with wire spans", () => {
    const { tracer, ring } = recorder();
    const root = tracer.startSpan("route echo", { attributes: { [ATTR_CORRELATION_ID]: "c1" } });
    const child = tracer.startSpan("send task_request", { kind: SpanKind.CLIENT, attributes: { [ATTR_CORRELATION_ID]: "c1", "agentmesh.hops": 1 } }, withSpan(ROOT_CONTEXT, root));
    child.setStatus({ code: SpanStatusCode.ERROR, message: "no" });
    child.end();
    root.end();
    const spans = ring.query({ correlationId: "c1" });
    expect(spans.map((s) => s.name)).toEqual(["send task_request", "route echo"]);
    expect(spans[0]).toMatchObject({
      traceId: root.spanContext().traceId,
      spanId: child.spanContext().spanId,
      parentSpanId: root.spanContext().spanId,
      agentId: "agent-r",
      kind: WireKind.CLIENT,
      statusCode: WireStatus.ERROR,
      statusMessage: "no",
      attributes: { [ATTR_CORRELATION_ID]: "c1", "agentmesh.hops": "1" },
    });
    expect(spans[1].parentSpanId).toBe("");
    const now = BigInt(Date.now()) * 1_000_000n;
    for (const s of spans) {
      expect(s.endUnixNanos).toBeGreaterThanOrEqual(s.startUnixNanos);
      expect(now - s.startUnixNanos).toBeLessThan(60_000_000_000n);
    }
    for (let i = 0; i < 10; i++) tracer.startSpan(`s${i}`, { attributes: { [ATTR_CORRELATION_ID]: "c2" } }).end();
    expect(ring.size).toBe(8);
    expect(ring.query({ correlationId: "c1" })).toEqual([]);
    expect(ring.query({ correlationId: "c2" }).map((s) => s.name)).toEqual(["s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9"]);
  });
});
