/**
 * OTLP/protobuf export from the span ring's records: the request transcoded from the records is byte for byte
 * what encodeSpansProto writes from the span objects (decoded: the same ids, parent, name, kind, times to the
 * nanosecond, status, attributes of every type, events, links, scope and resource) without reading the
 * objects; a span whose record would be cut, or could not hold it exactly, goes the object path whole; the
 * ring as export queue keeps only sampled spans, at most its queue size (the oldest waiting go, counted), and
 * through random interleavings of spans and batches exports exactly what a model of its policy keeps, records
 * overwritten before their export counted as dropped; the export queue batches, warns and flushes on shutdown;
 * tracing exports everything over OTLP/HTTP with the ring off too.
 */
import { diag, DiagLogLevel, ROOT_CONTEXT, SamplingDecision, SpanKind, SpanStatusCode, trace, TraceFlags, createTraceState, type Attributes } from "@opentelemetry/api";
import type { ExportResult } from "@opentelemetry/core";
import type { ReadableSpan, SpanExporter } from "@opentelemetry/sdk-trace-base";
import { afterEach, describe, expect, it } from "vitest";
import { seededRandom } from "../../src/protocol/random.js";
import { ExportQueue } from "../../src/telemetry/export-queue.js";
import { encodeSpansProto } from "../../src/telemetry/otlp-proto.js";
import { EncodedSpans, RecordBacklog } from "../../src/telemetry/otlp-records.js";
import type { RecordedSpan } from "../../src/telemetry/recorded-span.js";
import { leanSampler, samplerSpecFromEnv } from "../../src/telemetry/sampling.js";
import { InternTable, ScopeTable } from "../../src/telemetry/span-record-intern.js";
import { SpanRecordWriter } from "../../src/telemetry/span-record.js";
import { SpanRing } from "../../src/telemetry/span-ring.js";
import { SpanRecorder } from "../../src/telemetry/span-recorder.js";
import { startTracing, tracingResource } from "../../src/telemetry/tracing.js";
import { RandomValues } from "../helpers/random-message.js";
import { waitFor } from "../helpers/wait.js";
import { startOtlpReceiver } from "./otlp-receiver.js";
import { decode, exactNanos, hex, normal, recordedSpans } from "./otlp-world.js";

/** A ring that only queues spans for export (no queries), with its backlog. */
function exportRing(queueSize = 100_000, spanBytes = 65_536, capacity = 0) {
  const ring = new SpanRing(capacity, "ring-agent", spanBytes, queueSize);
  return { ring, backlog: new RecordBacklog(ring) };
}

/** Everything waiting in `backlog`, as one request. */
function takeAll(backlog: RecordBacklog): EncodedSpans {
  return backlog.take(1_000_000);
}

/** A recorder whose sampler decides `decision` for every span, collecting finished spans in `ended`. */
function recorderWith(decision: SamplingDecision = SamplingDecision.RECORD_AND_SAMPLED, agent = "agent-r") {
  const ended: RecordedSpan[] = [];
  const provider = new SpanRecorder({
    sampler: decision === SamplingDecision.RECORD_AND_SAMPLED ? leanSampler(samplerSpecFromEnv({})) : { shouldSample: () => ({ decision }) },
    sinks: [{ onEnd: (s) => void ended.push(s), forceFlush: () => Promise.resolve(), shutdown: () => Promise.resolve() }],
    resource: () => tracingResource(agent, {}),
  });
  return { tracer: provider.getTracer("agent-mesh", "0.1.0"), ended };
}

/** A finished span with a field of every kind: remote parent, trace state, attributes of every type, events, links, error status. */
function richSpan(): RecordedSpan {
  const { tracer, ended } = recorderWith();
  const parent = trace.setSpanContext(ROOT_CONTEXT, { traceId: "0af7651916cd43dd8448eb211c80319c", spanId: "b7ad6b7169203331", traceFlags: TraceFlags.SAMPLED, isRemote: true, traceState: createTraceState("vendor=1,other=x") });
  const span = tracer.startSpan("処理 task_request → b", {
    kind: SpanKind.SERVER,
    links: [
      { context: { traceId: "11111111111111111111111111111111", spanId: "2222222222222222", traceFlags: TraceFlags.SAMPLED, isRemote: true, traceState: createTraceState("k=v") }, attributes: { why: "retry", n: 2 } },
      { context: { traceId: "33333333333333333333333333333333", spanId: "4444444444444444", traceFlags: TraceFlags.NONE } },
    ],
  }, parent);
  span.setAttributes({
    "agentmesh.correlation_id": "c-1",
    "agentmesh.hops": 2,
    negative: -7,
    big: 2 ** 62,
    huge: 2 ** 63,
    float: 3.25,
    nan: Number.NaN,
    yes: true,
    no: false,
    empty: "",
    "clé ✓": "héllo ✓ 😀",
    strings: ["a", "é", null as unknown as string, ""],
    numbers: [1, 2.5, -3, 2 ** 60],
    booleans: [true, false],
  });
  span.addEvent("retrying", { attempt: 2, reason: "unavailable" });
  span.recordException(new Error("agent b unreachable"));
  span.addEvent("bare");
  span.setStatus({ code: SpanStatusCode.ERROR, message: "agent b unreachable ✗" });
  span.end();
  return ended[0];
}

/** Sets every span's name to "changed": a request made from the objects afterwards would show it. */
function changeObjects(spans: readonly RecordedSpan[]): void {
  for (const span of spans) (span as { name: string }).name = "changed";
}

afterEach(() => diag.disable());

describe("records transcoded to OTLP/protobuf", () => {
  it("are encodeSpansProto's bytes for the same spans, over many random shapes, without reading the span objects", () => {
    let spans = 0;
    for (let seed = 1; seed <= 300; seed++) {
      const list = recordedSpans(new RandomValues(seededRandom(seed)));
      const expected = encodeSpansProto(list);
      const { ring, backlog } = exportRing();
      for (const span of list) backlog.add(span);
      expect(ring.cutSpans).toBe(0);
      changeObjects(list);
      const batch = takeAll(backlog);
      expect(batch.length).toBe(list.length);
      expect(Buffer.from(batch.bytes).equals(Buffer.from(expected)), `seed ${seed}`).toBe(true);
      expect(normal(decode(batch.bytes))).toEqual(normal(decode(expected)));
      spans += list.length;
    }
    expect(spans).toBeGreaterThan(1500);
  });

  it("decode to the span's ids, parent, name, kind, ns times, status, every attribute type, events, links, scope and resource", () => {
    const span = richSpan();
    const { backlog } = exportRing();
    backlog.add(span);
    const request = decode(takeAll(backlog).bytes);
    const resource = request.resourceSpans[0];
    expect(Object.fromEntries(resource.resource!.attributes.map((a) => [a.key, a.value?.value.value]))).toMatchObject({ "service.instance.id": "agent-r", "agentmesh.agent_id": "agent-r" });
    expect(resource.scopeSpans[0].scope).toMatchObject({ name: "agent-mesh", version: "0.1.0" });
    const got = resource.scopeSpans[0].spans[0];
    expect(hex(got.traceId)).toBe("0af7651916cd43dd8448eb211c80319c");
    expect(hex(got.spanId)).toBe(span.spanContext().spanId);
    expect(hex(got.parentSpanId)).toBe("b7ad6b7169203331");
    expect(got.traceState).toBe("vendor=1,other=x");
    expect(got.name).toBe("処理 task_request → b");
    expect(got.kind).toBe(SpanKind.SERVER + 1);
    expect(got.flags).toBe(0x301); // sampled, is_remote known, parent remote
    expect(got.startTimeUnixNano).toBe(exactNanos(span.epoch, span.startedAt));
    expect(got.endTimeUnixNano).toBe(exactNanos(span.epoch, span.endedAt));
    expect(got.status).toMatchObject({ code: 2, message: "agent b unreachable ✗" });
    const value = (key: string) => got.attributes.find((a) => a.key === key)?.value?.value;
    expect(value("agentmesh.correlation_id")).toEqual({ case: "stringValue", value: "c-1" });
    expect(value("agentmesh.hops")).toEqual({ case: "intValue", value: 2n });
    expect(value("negative")).toEqual({ case: "intValue", value: -7n });
    expect(value("big")).toEqual({ case: "intValue", value: 2n ** 62n });
    expect(value("huge")).toEqual({ case: "doubleValue", value: 2 ** 63 });
    expect(value("float")).toEqual({ case: "doubleValue", value: 3.25 });
    expect(value("nan")).toEqual({ case: "doubleValue", value: Number.NaN });
    expect(value("yes")).toEqual({ case: "boolValue", value: true });
    expect(value("no")).toEqual({ case: "boolValue", value: false });
    expect(value("empty")).toEqual({ case: "stringValue", value: "" });
    expect(value("clé ✓")).toEqual({ case: "stringValue", value: "héllo ✓ 😀" });
    const elements = (key: string) => (value(key) as { value: { values: { value: { case: string | undefined; value?: unknown } }[] } }).value.values.map((v) => v.value.value);
    expect(elements("strings")).toEqual(["a", "é", undefined, ""]);
    expect(elements("numbers")).toEqual([1n, 2.5, -3n, 2n ** 60n]);
    expect(elements("booleans")).toEqual([true, false]);
    expect(got.events.map((e) => e.name)).toEqual(["retrying", "exception", "bare"]);
    expect(got.events.map((e) => e.timeUnixNano)).toEqual(span.events.map((e) => exactNanos(span.epoch, e.at)));
    expect(got.events[0].attributes.map((a) => [a.key, a.value?.value.value])).toEqual([["attempt", 2n], ["reason", "unavailable"]]);
    expect(got.events[1].attributes.map((a) => a.key)).toEqual(["exception.type", "exception.message", "exception.stacktrace"]);
    expect(got.links.map((l) => [hex(l.traceId), hex(l.spanId), l.traceState, l.flags])).toEqual([
      ["11111111111111111111111111111111", "2222222222222222", "k=v", 0x301],
      ["33333333333333333333333333333333", "4444444444444444", "", 0x100],
    ]);
    expect(got.links[0].attributes.map((a) => [a.key, a.value?.value.value])).toEqual([["why", "retry"], ["n", 2n]]);
    expect(normal(request)).toEqual(normal(decode(encodeSpansProto([span]))));
  });

  it("keep dropped counts (attributes, events, links, an event's attributes)", () => {
    const ended: RecordedSpan[] = [];
    const provider = new SpanRecorder({
      sampler: leanSampler(samplerSpecFromEnv({})),
      limits: { attributeCount: 1, eventCount: 1, linkCount: 1, attributesPerEvent: 1, attributesPerLink: 1 },
      sinks: [{ onEnd: (s) => void ended.push(s), forceFlush: () => Promise.resolve(), shutdown: () => Promise.resolve() }],
      resource: () => tracingResource("a", {}),
    });
    const link = { context: { traceId: "11111111111111111111111111111111", spanId: "2222222222222222", traceFlags: 1 }, attributes: { a: 1, b: 2 } };
    const span = provider.getTracer("t").startSpan("limited", { attributes: { a: 1, b: 2, c: 3 }, links: [link, link] });
    span.addEvent("e1", { x: 1, y: 2 });
    span.addEvent("e2", { x: 1, y: 2, z: 3 });
    span.end();
    const { backlog } = exportRing();
    backlog.add(ended[0]);
    const got = decode(takeAll(backlog).bytes).resourceSpans[0].scopeSpans[0].spans[0];
    expect([got.droppedAttributesCount, got.droppedEventsCount, got.droppedLinksCount]).toEqual([2, 1, 1]);
    expect(got.events[0].droppedAttributesCount).toBe(2);
    expect(got.links[0].droppedAttributesCount).toBe(1);
    expect(Buffer.from(takeAll(backlog).bytes).length).toBe(0);
  });

  it("send a span whose record would be cut through the object path, whole, while the ring keeps it cut", () => {
    const { tracer, ended } = recorderWith();
    tracer.startSpan("before", { attributes: { "agentmesh.correlation_id": "c0" } }).end();
    const attributes: Attributes = { "agentmesh.correlation_id": "big", huge: "ü".repeat(100_000), small: 1 };
    const big = tracer.startSpan("oversize", { attributes });
    big.addEvent("with a long value", { long: "x".repeat(50_000) });
    big.end();
    tracer.startSpan("after", { attributes: { "agentmesh.correlation_id": "c1" } }).end();
    const expected = encodeSpansProto(ended);
    const ring = new SpanRing(16, "r", 512, 16);
    const backlog = new RecordBacklog(ring);
    for (const span of ended) backlog.add(span);
    expect(ring.cutSpans).toBe(1);
    expect(ring.query({ correlationId: "big" })[0].attributes.huge.length).toBeLessThan(1000);
    const batch = takeAll(backlog);
    expect(Buffer.from(batch.bytes).equals(Buffer.from(expected))).toBe(true);
    const spans = decode(batch.bytes).resourceSpans[0].scopeSpans[0].spans;
    expect(spans.map((s) => s.name)).toEqual(["before", "oversize", "after"]);
    expect(spans[1].attributes.find((a) => a.key === "huge")?.value?.value.value).toBe("ü".repeat(100_000));
  });

  it("send spans a record cannot hold exactly (ids not lowercase hex, a kind the API does not have) through the object path", () => {
    const { tracer, ended } = recorderWith();
    const upper = trace.setSpanContext(ROOT_CONTEXT, { traceId: "0AF7651916CD43DD8448EB211C80319C", spanId: "B7AD6B7169203331", traceFlags: TraceFlags.SAMPLED, isRemote: true });
    tracer.startSpan("uppercase parent", {}, upper).end();
    tracer.startSpan("odd link", { links: [{ context: { traceId: "not hex", spanId: "ABCDEF0123456789", traceFlags: 1 } }] }).end();
    tracer.startSpan("odd kind", { kind: 7 as SpanKind }).end();
    tracer.startSpan("plain").end();
    const expected = encodeSpansProto(ended);
    const { backlog } = exportRing();
    for (const span of ended) backlog.add(span);
    const batch = takeAll(backlog);
    expect(Buffer.from(batch.bytes).equals(Buffer.from(expected))).toBe(true);
    changeObjects(ended);
    for (const span of ended) backlog.add(span);
    // The three inexact spans are read from their (changed) objects; the plain one from its record.
    expect(decode(takeAll(backlog).bytes).resourceSpans[0].scopeSpans[0].spans.map((s) => s.name)).toEqual(["changed", "changed", "changed", "changed"]);
  });

  it("keep times exact however far from the span's epoch", () => {
    const rv = new RandomValues(seededRandom(11));
    const { tracer, ended } = recorderWith();
    const now = Date.now();
    for (let i = 0; i < 300; i++) {
      const start = rv.pick([0, 1, 999, 1_000_000]) + rv.pick([now - rv.int(1e9), now + rv.int(1e9)]);
      const span = tracer.startSpan("timed", { startTime: rv.chance(0.5) ? new Date(start) : ([Math.floor(start / 1000) - rv.int(1e6), rv.int(1e9)] as [number, number]) });
      span.addEvent("at", rv.chance(0.5) ? new Date(start + rv.int(1e7)) : undefined);
      span.end(new Date(start + rv.int(1e9)));
    }
    const { backlog } = exportRing();
    for (const span of ended) backlog.add(span);
    const got = decode(takeAll(backlog).bytes).resourceSpans[0].scopeSpans[0].spans;
    got.forEach((g, i) => {
      const span = ended[i];
      expect(g.startTimeUnixNano).toBe(exactNanos(span.epoch, span.startedAt));
      expect(g.endTimeUnixNano).toBe(exactNanos(span.epoch, span.endedAt));
      expect(g.events[0].timeUnixNano).toBe(exactNanos(span.epoch, span.events[0].at));
    });
  });
});

describe("the span ring as export queue", () => {
  it("queues sampled spans only; recorded but unsampled ones are kept for queries", () => {
    const ring = new SpanRing(8, "r", 512, 8);
    const backlog = new RecordBacklog(ring);
    const sampled = recorderWith();
    const unsampled = recorderWith(SamplingDecision.RECORD);
    for (let i = 0; i < 3; i++) {
      sampled.tracer.startSpan(`s${i}`).end();
      unsampled.tracer.startSpan(`u${i}`).end();
    }
    for (let i = 0; i < 3; i++) {
      expect(backlog.add(sampled.ended[i])).toBe(true);
      expect(backlog.add(unsampled.ended[i])).toBe(false);
    }
    expect(ring.waiting).toBe(3);
    expect(ring.query({}).map((s) => s.name)).toEqual(["s0", "u0", "s1", "u1", "s2", "u2"]);
    expect(decode(takeAll(backlog).bytes).resourceSpans[0].scopeSpans[0].spans.map((s) => s.name)).toEqual(["s0", "s1", "s2"]);
    expect(ring.waiting).toBe(0);
  });

  it("keeps at most its queue size waiting: the oldest waiting go and are counted", () => {
    const { ring, backlog } = exportRing(4, 512, 16);
    const { tracer, ended } = recorderWith();
    for (let i = 0; i < 10; i++) {
      tracer.startSpan(`s${i}`).end();
      backlog.add(ended[i]);
    }
    expect([ring.waiting, ring.droppedFull, ring.droppedOverwritten]).toEqual([4, 6, 0]);
    const batch = backlog.take(3);
    expect(batch.length).toBe(3);
    expect(decode(batch.bytes).resourceSpans[0].scopeSpans[0].spans.map((s) => s.name)).toEqual(["s6", "s7", "s8"]);
    tracer.startSpan("s10").end();
    backlog.add(ended[10]);
    expect(decode(takeAll(backlog).bytes).resourceSpans[0].scopeSpans[0].spans.map((s) => s.name)).toEqual(["s9", "s10"]);
    expect(ring.query({}).map((s) => s.name)).toEqual(Array.from({ length: 11 }, (_, i) => `s${i}`).slice(-11));
  });

  it("through random interleavings of spans and batches exports exactly what a model of its policy keeps, overwritten records counted as dropped", () => {
    const random = seededRandom(5);
    const rv = new RandomValues(random);
    let overwritten = 0;
    let full = 0;
    let cut = 0;
    let exported = 0;
    for (let round = 0; round < 12; round++) {
      const capacity = Math.floor(random() * 40);
      const ring = new SpanRing(capacity, "ring-agent", 64 + Math.floor(random() * 600), 1 + Math.floor(random() * 120));
      const backlog = new RecordBacklog(ring);
      const model = new QueueModel(ring);
      const small = recorderWith();
      const unsampled = recorderWith(SamplingDecision.RECORD);
      for (let step = 0; step < 600; step++) {
        const r = random();
        if (r < 0.12) {
          const max = 1 + Math.floor(random() * 60);
          const batch = backlog.take(max);
          const expected = model.take(max);
          expect(batch.length).toBe(expected.length);
          expect(Buffer.from(batch.bytes).equals(Buffer.from(encodeSpansProto(expected)))).toBe(true);
          exported += expected.length;
          continue;
        }
        let spans: RecordedSpan[];
        if (r < 0.5) spans = recordedSpans(rv).slice(0, 3);
        else {
          const t = r < 0.93 ? small : unsampled;
          const n = t.ended.length;
          t.tracer.startSpan(`mesh ${step}`, { kind: SpanKind.CLIENT, attributes: { "agentmesh.correlation_id": `c${step}`, "agentmesh.hops": 1, v: "x".repeat(Math.floor(random() * 200)) } }).end();
          spans = t.ended.slice(n);
        }
        for (const span of spans) {
          backlog.add(span);
          model.add(span);
        }
        expect([ring.waiting, ring.droppedFull, ring.droppedOverwritten]).toEqual([model.waiting, model.full, model.overwritten]);
        if (capacity > 0 && step % 7 === 0) expect(ring.query({}).map((s) => s.spanId)).toEqual(model.queried().map((s) => s.spanContext().spanId));
      }
      overwritten += model.overwritten;
      full += model.full;
      cut += ring.cutSpans;
    }
    expect(overwritten).toBeGreaterThan(50);
    expect(full).toBeGreaterThan(50);
    expect(cut).toBeGreaterThan(20);
    expect(exported).toBeGreaterThan(1000);
  });
});

/** An exporter keeping each batch's span names (decoded from EncodedSpans); answers at once unless `hold`. */
class DecodingExporter implements SpanExporter {
  readonly batches: string[][] = [];
  readonly pending: ((r: ExportResult) => void)[] = [];
  hold = false;
  shutdowns = 0;

  export(spans: ReadableSpan[], done: (r: ExportResult) => void): void {
    const batch = spans as unknown as EncodedSpans;
    expect(batch).toBeInstanceOf(EncodedSpans);
    const names = decode(batch.bytes).resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans.map((x) => x.name)));
    expect(names.length).toBe(batch.length);
    this.batches.push(names);
    if (this.hold) this.pending.push(done);
    else done({ code: 0 });
  }

  shutdown(): Promise<void> {
    this.shutdowns++;
    return Promise.resolve();
  }
}

describe("the export queue over the ring's records", () => {
  it("exports batches of at most maxExportBatchSize, counts and warns of drops, exports what waits on shutdown", async () => {
    const warnings: string[] = [];
    diag.setLogger({ warn: (m: string) => void warnings.push(m), error: () => {}, info: () => {}, debug: () => {}, verbose: () => {} }, DiagLogLevel.WARN);
    const exporter = new DecodingExporter();
    exporter.hold = true;
    const config = { maxQueueSize: 5, maxExportBatchSize: 2, scheduledDelayMs: 60_000, maxConcurrentExports: 1 };
    const ring = new SpanRing(0, "q", 512, config.maxQueueSize);
    const queue = new ExportQueue(exporter, config, new RecordBacklog(ring));
    const { tracer, ended } = recorderWith();
    for (let i = 0; i < 9; i++) tracer.startSpan(`s${i}`).end();
    for (const span of ended) queue.onEnd(span);
    expect(queue.stats()).toEqual({ queued: 5, exported: 0, dropped: 4, failed: 0, inFlight: 0 });
    await waitFor(() => exporter.batches.length === 1, { what: "the first full batch" });
    expect(exporter.batches[0]).toEqual(["s4", "s5"]);
    expect(warnings.some((w) => w.includes("Dropped 4 spans because maxQueueSize (5)"))).toBe(true);
    exporter.pending.shift()!({ code: 0 });
    await waitFor(() => exporter.batches.length === 2, { what: "the next batch once the first ended" });
    exporter.hold = false;
    exporter.pending.shift()!({ code: 0 });
    await queue.shutdown();
    expect(exporter.batches).toEqual([["s4", "s5"], ["s6", "s7"], ["s8"]]);
    expect(queue.stats()).toEqual({ queued: 0, exported: 5, dropped: 4, failed: 0, inFlight: 0 });
    expect(exporter.shutdowns).toBe(1);
    tracer.startSpan("late").end();
    queue.onEnd(ended[ended.length - 1]);
    expect(queue.stats().queued).toBe(0);
  });

  it("warns of records overwritten before their export", async () => {
    const warnings: string[] = [];
    diag.setLogger({ warn: (m: string) => void warnings.push(m), error: () => {}, info: () => {}, debug: () => {}, verbose: () => {} }, DiagLogLevel.WARN);
    const exporter = new DecodingExporter();
    // 64 000 bytes of arena (64 a span) for 1000 waiting spans of ~2 KB: the bytes run out first.
    const ring = new SpanRing(0, "q", 64, 1000);
    const queue = new ExportQueue(exporter, { maxQueueSize: 1000, maxExportBatchSize: 1000, scheduledDelayMs: 60_000 }, new RecordBacklog(ring));
    const { tracer, ended } = recorderWith();
    for (let i = 0; i < 60; i++) tracer.startSpan(`s${i}`, { attributes: { v: "x".repeat(2000) } }).end();
    for (const span of ended) queue.onEnd(span);
    const { queued, dropped } = queue.stats();
    expect(queued + dropped).toBe(60);
    expect(dropped).toBeGreaterThan(20);
    await queue.forceFlush();
    expect(exporter.batches.flat()).toEqual(ended.slice(dropped).map((s) => s.name));
    expect(warnings.some((w) => w.includes(`Dropped ${dropped} spans whose records in the span ring were overwritten`))).toBe(true);
  });
});

describe("tracing exporting from the ring's records", () => {
  it("hands an exporter EncodedSpans with encodedExport, and flushes everything on shutdown", async () => {
    const exporter = new DecodingExporter();
    const t = startTracing({ agentId: "enc", env: {}, exporter, encodedExport: true, exportQueue: { scheduledDelayMs: 60_000 }, register: false, ringSize: 16 });
    const tracer = t.tracerProvider.getTracer("t");
    for (let i = 0; i < 5; i++) tracer.startSpan(`s${i}`, { attributes: { "agentmesh.correlation_id": "c" } }).end();
    expect(t.spans?.query({ correlationId: "c" }).map((s) => s.name)).toEqual(["s0", "s1", "s2", "s3", "s4"]);
    await t.shutdown();
    expect(exporter.batches).toEqual([["s0", "s1", "s2", "s3", "s4"]]);
    expect(t.spans?.query({ correlationId: "c" })).toEqual([]); // as a ring of its own forgets on shutdown
    expect(exporter.shutdowns).toBe(1);
    expect(t.exportStats()).toMatchObject({ exported: 5, dropped: 0, queued: 0 });
  });

  it("exports every span over OTLP/HTTP protobuf with AGENT_MESH_TRACE_RING_SIZE=0, in batches of OTEL_BSP_MAX_EXPORT_BATCH_SIZE", async () => {
    const receiver = await startOtlpReceiver();
    const t = startTracing({ agentId: "no-ring", env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, AGENT_MESH_TRACE_RING_SIZE: "0", OTEL_BSP_MAX_EXPORT_BATCH_SIZE: "7", OTEL_BSP_SCHEDULE_DELAY: "60000" }, register: false });
    try {
      expect(t.spans).toBeUndefined();
      const tracer = t.tracerProvider.getTracer("t");
      const ids: string[] = [];
      for (let i = 0; i < 50; i++) {
        const span = tracer.startSpan(`s${i}`, { kind: SpanKind.CLIENT, attributes: { "agentmesh.hops": i, who: "b" } });
        span.end();
        ids.push(span.spanContext().spanId);
      }
      await t.forceFlush();
      await waitFor(() => receiver.spans.length >= 50, { what: "all 50 spans at the receiver" });
      expect(receiver.spans.map((s) => s.spanId).sort()).toEqual([...ids].sort());
      expect(receiver.spans.find((s) => s.name === "s3")).toMatchObject({ serviceInstanceId: "no-ring", attributes: { "agentmesh.hops": "3", who: "b" } });
      expect(receiver.requests.length).toBe(8); // 7 × 7 + 1
      expect(t.exportStats()).toMatchObject({ exported: 50, dropped: 0, queued: 0 });
    } finally {
      await t.shutdown(1000);
      await receiver.close();
    }
  });
});

/**
 * The ring's documented policy as an export queue, on record sizes alone (as the span ring test's model):
 * records start at the write position, or at the arena's next lap when too few bytes are left; the oldest
 * are dropped while their start is a whole arena behind the end of the bytes written, then one more if all
 * slots are full — a waiting one dropped so counts as overwritten; a sampled span waits, and one more than
 * the queue size drops the oldest waiting (counted as full); a batch takes the oldest waiting.
 */
class QueueModel {
  readonly kept: { span: RecordedSpan; start: number; waiting: boolean }[] = [];
  waiting = 0;
  full = 0;
  overwritten = 0;
  private written = 0;
  private readonly scratch = Buffer.alloc(1 << 16);
  private readonly writer = new SpanRecordWriter(this.scratch, new InternTable(), new InternTable());
  private readonly scopes = new ScopeTable();

  constructor(private readonly ring: SpanRing) {}

  add(span: RecordedSpan): void {
    const { arenaBytes: size, maxRecordBytes: max, slots, exportQueueSize } = this.ring;
    const sampled = (span.spanContext().traceFlags & TraceFlags.SAMPLED) !== 0;
    const scope = sampled ? this.scopes.ref(span) : 0;
    let bytes = this.writer.writeRecorded(span, 0, max, 0, scope);
    const cut = bytes < 0;
    if (cut) bytes = this.writer.writeRecorded(span, 0, max, max >> 5, scope);
    let start = this.written;
    const room = size - (start % size);
    if ((cut ? max : bytes) > room) start += room;
    const reach = cut ? start + max : start + bytes;
    while (this.kept.length > 0 && this.kept[0].start + size < reach) this.dropFront();
    if (this.kept.length === slots) this.dropFront();
    this.kept.push({ span, start, waiting: sampled });
    this.written = start + bytes;
    if (!sampled) return;
    if (++this.waiting <= exportQueueSize) return;
    this.kept.find((k) => k.waiting)!.waiting = false;
    this.waiting--;
    this.full++;
  }

  /** The oldest `max` waiting spans, no longer waiting. */
  take(max: number): RecordedSpan[] {
    const out: RecordedSpan[] = [];
    for (const k of this.kept) {
      if (out.length === max) break;
      if (!k.waiting) continue;
      k.waiting = false;
      out.push(k.span);
    }
    this.waiting -= out.length;
    return out;
  }

  /** The spans a query sees: the newest `capacity` kept. */
  queried(): RecordedSpan[] {
    return this.kept.slice(Math.max(0, this.kept.length - this.ring.capacity)).map((k) => k.span);
  }

  private dropFront(): void {
    const k = this.kept.shift()!;
    if (!k.waiting) return;
    this.waiting--;
    this.overwritten++;
  }
}
