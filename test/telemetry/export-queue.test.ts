/**
 * The export queue: sampled spans only, full batches exported off the ending call, partial ones after the
 * schedule delay, a bounded number of exports in flight, a bounded queue whose drops are counted and
 * reported, failed and timed-out exports counted, spans in unanswered exports counted as in flight, everything
 * flushed on shutdown.
 */
import { diag, DiagLogLevel, SamplingDecision } from "@opentelemetry/api";
import type { ExportResult } from "@opentelemetry/core";
import type { ReadableSpan, SpanExporter } from "@opentelemetry/sdk-trace-base";
import { afterEach, describe, expect, it } from "vitest";
import { ExportQueue } from "../../src/telemetry/export-queue.js";
import type { RecordedSpan } from "../../src/telemetry/recorded-span.js";
import { SpanRecorder } from "../../src/telemetry/span-recorder.js";
import { tracingResource } from "../../src/telemetry/tracing.js";
import { waitFor } from "../helpers/wait.js";

/** An exporter that keeps each batch and its callback; answers at once unless `hold` is set. */
class TestExporter implements SpanExporter {
  readonly batches: string[][] = [];
  readonly pending: ((r: ExportResult) => void)[] = [];
  hold = false;
  result: ExportResult = { code: 0 };
  shutdowns = 0;

  export(spans: ReadableSpan[], done: (r: ExportResult) => void): void {
    this.batches.push(spans.map((s) => s.name));
    if (this.hold) this.pending.push(done);
    else done(this.result);
  }

  shutdown(): Promise<void> {
    this.shutdowns++;
    return Promise.resolve();
  }
}

/** `n` finished spans named s0…, recorded and sampled (or, with `sampled` false, recorded only). */
function spans(n: number, sampled = true): RecordedSpan[] {
  const out: RecordedSpan[] = [];
  const decision = sampled ? SamplingDecision.RECORD_AND_SAMPLED : SamplingDecision.RECORD;
  const tracer = new SpanRecorder({
    sampler: { shouldSample: () => ({ decision }) },
    sinks: [{ onEnd: (s) => void out.push(s), forceFlush: () => Promise.resolve(), shutdown: () => Promise.resolve() }],
    resource: () => tracingResource("q", {}),
  }).getTracer("t");
  for (let i = 0; i < n; i++) tracer.startSpan(`s${i}`).end();
  return out;
}

afterEach(() => diag.disable());

describe("ExportQueue", () => {
  it("exports a full batch on the next turn of the event loop, not in the call that ends the span", async () => {
    const exporter = new TestExporter();
    const queue = new ExportQueue(exporter, { maxExportBatchSize: 3, scheduledDelayMs: 60_000 });
    for (const s of spans(3)) queue.onEnd(s);
    expect(exporter.batches).toEqual([]);
    await waitFor(() => exporter.batches.length === 1, { what: "the full batch" });
    expect(exporter.batches).toEqual([["s0", "s1", "s2"]]);
    expect(queue.stats()).toEqual({ queued: 0, exported: 3, dropped: 0, failed: 0, inFlight: 0 });
  });

  it("exports a partial batch after the schedule delay", async () => {
    const exporter = new TestExporter();
    const queue = new ExportQueue(exporter, { maxExportBatchSize: 100, scheduledDelayMs: 20 });
    for (const s of spans(2)) queue.onEnd(s);
    await waitFor(() => exporter.batches.length === 1, { what: "the delayed batch" });
    expect(exporter.batches[0]).toEqual(["s0", "s1"]);
  });

  it("skips spans that are recorded but not sampled", async () => {
    const exporter = new TestExporter();
    const queue = new ExportQueue(exporter, { maxExportBatchSize: 1 });
    for (const s of spans(2, false)) queue.onEnd(s);
    expect(queue.stats().queued).toBe(0);
    await queue.forceFlush();
    expect(exporter.batches).toEqual([]);
  });

  it("drops and counts spans past the queue's bound, runs one export at a time, and warns with the count", async () => {
    const warnings: string[] = [];
    diag.setLogger({ warn: (m: string) => void warnings.push(m), error: () => {}, info: () => {}, debug: () => {}, verbose: () => {} }, DiagLogLevel.WARN);
    const exporter = new TestExporter();
    exporter.hold = true;
    const queue = new ExportQueue(exporter, { maxQueueSize: 4, maxExportBatchSize: 2, scheduledDelayMs: 60_000, maxConcurrentExports: 1 });
    const list = spans(10);
    for (const s of list) queue.onEnd(s);
    expect(queue.stats()).toEqual({ queued: 4, exported: 0, dropped: 6, failed: 0, inFlight: 0 });
    await waitFor(() => exporter.batches.length === 1, { what: "the first export" });
    expect(warnings.some((w) => w.includes("Dropped 6 spans"))).toBe(true);
    // While that export runs, nothing else is exported.
    queue.onEnd(list[0]);
    expect(exporter.batches).toHaveLength(1);
    exporter.pending.shift()!({ code: 0 });
    await waitFor(() => exporter.batches.length === 2, { what: "the next export once the first ended" });
    expect(queue.stats()).toMatchObject({ exported: 2, dropped: 6 });
  });

  it("keeps up to maxConcurrentExports exports in flight", async () => {
    const exporter = new TestExporter();
    exporter.hold = true;
    const queue = new ExportQueue(exporter, { maxQueueSize: 100, maxExportBatchSize: 2, scheduledDelayMs: 60_000, maxConcurrentExports: 2 });
    for (const s of spans(8)) queue.onEnd(s);
    await waitFor(() => exporter.batches.length === 2, { what: "two exports in flight" });
    expect(queue.stats().queued).toBe(4);
    exporter.pending.shift()!({ code: 0 });
    await waitFor(() => exporter.batches.length === 3, { what: "a third export once a slot freed" });
    expect(exporter.batches).toEqual([["s0", "s1"], ["s2", "s3"], ["s4", "s5"]]);
    for (const done of exporter.pending.splice(0)) done({ code: 0 });
    exporter.hold = false;
    await queue.forceFlush();
    expect(queue.stats()).toEqual({ queued: 0, exported: 8, dropped: 0, failed: 0, inFlight: 0 });
  });

  it("counts failed and timed-out exports", async () => {
    const exporter = new TestExporter();
    exporter.result = { code: 1, error: new Error("collector said no") };
    const queue = new ExportQueue(exporter, { maxExportBatchSize: 2, exportTimeoutMs: 30 });
    for (const s of spans(2)) queue.onEnd(s);
    await waitFor(() => queue.stats().failed === 2, { what: "the failed export" });
    exporter.hold = true;
    for (const s of spans(2)) queue.onEnd(s);
    await waitFor(() => queue.stats().failed === 4, { what: "the export to time out" });
  });

  it("counts the spans of an export not answered yet as in flight until it is answered", async () => {
    const exporter = new TestExporter();
    exporter.hold = true;
    const queue = new ExportQueue(exporter, { maxExportBatchSize: 3, scheduledDelayMs: 60_000 });
    for (const s of spans(3)) queue.onEnd(s);
    await waitFor(() => exporter.pending.length === 1, { what: "the export to start" });
    expect(queue.stats()).toEqual({ queued: 0, exported: 0, dropped: 0, failed: 0, inFlight: 3 });
    exporter.pending[0]({ code: 0 });
    expect(queue.stats()).toEqual({ queued: 0, exported: 3, dropped: 0, failed: 0, inFlight: 0 });
  });

  it("exports what waits on shutdown, then shuts the exporter down and takes no more", async () => {
    const exporter = new TestExporter();
    const queue = new ExportQueue(exporter, { maxExportBatchSize: 2, scheduledDelayMs: 60_000 });
    for (const s of spans(5)) queue.onEnd(s);
    await queue.shutdown();
    expect(exporter.batches.flat()).toEqual(["s0", "s1", "s2", "s3", "s4"]);
    expect(exporter.shutdowns).toBe(1);
    for (const s of spans(1)) queue.onEnd(s);
    expect(queue.stats().queued).toBe(0);
  });
});
