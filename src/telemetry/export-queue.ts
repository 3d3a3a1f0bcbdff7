/**
 * The export queue: a sink of the span recorder that batches sampled spans for an SDK SpanExporter, off the
 * path that ends them. A full batch is exported on the next turn of the event loop (setImmediate), a partial
 * one after the schedule delay; a few exports may be in flight at once (a collector's round trip then does not
 * cap the rate). Limits and timers follow the SDK's BatchSpanProcessor and its OTEL_BSP_* variables.
 *
 * Spans wait in a backlog, bounded by maxQueueSize: when the collector cannot keep up, spans are dropped and
 * counted (a warning names how many). Two backlogs:
 *
 * - span objects (SpanObjects here, the default): ending a span costs one array push; when full, new spans are
 *   dropped (as the SDK's processor does); a batch hands the spans themselves to the exporter.
 * - the span ring's records (otlp-records.ts, for the OTLP/HTTP protobuf exporter): the span is written once,
 *   as the ring's record, and dies young; a batch is transcoded from the records to the request's bytes.
 */
import { diag, TraceFlags } from "@opentelemetry/api";
import type { ExportResult } from "@opentelemetry/core";
import type { ReadableSpan, SpanExporter } from "@opentelemetry/sdk-trace-base";
import type { RecordedSpan } from "./recorded-span.js";
import type { SpanSink } from "./span-recorder.js";

/** Limits and timers of an export queue. */
export interface ExportQueueConfig {
  /** Spans waiting at most; more are dropped and counted. Default 4096 ($OTEL_BSP_MAX_QUEUE_SIZE). */
  maxQueueSize: number;
  /** Spans per export at most. Default 1024 ($OTEL_BSP_MAX_EXPORT_BATCH_SIZE). */
  maxExportBatchSize: number;
  /** How long a partial batch waits before it is exported, ms. Default 5000 ($OTEL_BSP_SCHEDULE_DELAY). */
  scheduledDelayMs: number;
  /** How long one export may take before the queue moves on, ms. Default 30000 ($OTEL_BSP_EXPORT_TIMEOUT). */
  exportTimeoutMs: number;
  /** Exports in flight at most. Default 2 ($AGENT_MESH_TRACE_EXPORT_CONCURRENCY). */
  maxConcurrentExports: number;
}

/**
 * The SDK BatchSpanProcessor's defaults, but for twice its batch and queue (its 512 and 2048 spans): an
 * OTLP/HTTP request has a cost of its own whatever its size (~0.3 ms of a node's CPU through the SDK's
 * transport, ~0.16 ms through the node's own: bench/otlp-transport-cost.mjs), so 1024 spans a request halve
 * that share of every span's cost, and the queue keeps room for two batches in flight and more waiting. Each
 * OTEL_BSP_* variable still sets its own.
 */
export const DEFAULT_EXPORT_QUEUE_CONFIG: Readonly<ExportQueueConfig> = {
  maxQueueSize: 4096,
  maxExportBatchSize: 1024,
  scheduledDelayMs: 5000,
  exportTimeoutMs: 30_000,
  maxConcurrentExports: 2,
};

/** What an export queue did so far. */
export interface ExportStats {
  /** Spans waiting now. */
  readonly queued: number;
  /** Spans the exporter accepted. */
  readonly exported: number;
  /** Spans dropped because the queue was full, or (the ring's records) overwritten before their export. */
  readonly dropped: number;
  /** Spans whose export failed or timed out. */
  readonly failed: number;
  /** Spans in exports not answered yet. */
  readonly inFlight: number;
}

/** One export's spans as the exporter is handed them: the spans, or something standing for them (its length: how many). */
export type ExportBatch = { readonly length: number };

/** Where an export queue's spans wait; see the file comment. */
export interface SpanBacklog {
  /** Spans waiting. */
  readonly waiting: number;
  /** Spans dropped so far because maxQueueSize were waiting. */
  readonly droppedFull: number;
  /** Spans dropped so far because their records were overwritten before export. */
  readonly droppedOverwritten: number;
  /** Takes a finished span (only sampled ones are exported); true when one more now waits. */
  add(span: RecordedSpan): boolean;
  /** Takes up to `max` waiting spans out, oldest first, as one batch (empty when none wait). */
  take(max: number): ExportBatch;
  /** Stops taking spans for export (those waiting stay). */
  close(): void;
  /** Called last when the queue shuts down, after the final export: forgets what the backlog keeps besides. */
  shutdown?(): Promise<void>;
}

/** A backlog of span objects: new spans are dropped while `maxQueueSize` wait. */
export class SpanObjects implements SpanBacklog {
  /** Spans dropped so far because maxQueueSize were waiting. */
  droppedFull = 0;
  /** Always 0: objects are not overwritten. */
  readonly droppedOverwritten = 0;
  private queue: RecordedSpan[] = [];
  private closed = false;

  /** A backlog holding at most `maxQueueSize` spans. */
  constructor(private readonly maxQueueSize: number) {}

  /** Spans waiting. */
  get waiting(): number {
    return this.queue.length;
  }

  /** Queues a sampled span; drops and counts it when full. */
  add(span: RecordedSpan): boolean {
    if (this.closed || (span.spanContext().traceFlags & TraceFlags.SAMPLED) === 0) return false;
    if (this.queue.length >= this.maxQueueSize) {
      this.droppedFull++;
      return false;
    }
    this.queue.push(span);
    return true;
  }

  /** The oldest `max` spans. */
  take(max: number): RecordedSpan[] {
    if (this.queue.length <= max) {
      const batch = this.queue;
      this.queue = [];
      return batch;
    }
    return this.queue.splice(0, max);
  }

  /** Takes no more spans. */
  close(): void {
    this.closed = true;
  }
}

/** Batches sampled spans for `exporter`; see the file comment. */
export class ExportQueue implements SpanSink {
  private readonly config: ExportQueueConfig;
  private readonly backlog: SpanBacklog;
  private readonly exporting = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private stopped = false;
  private exported = 0;
  private failed = 0;
  private inFlight = 0;
  private reportedFull = 0;
  private reportedOverwritten = 0;

  /**
   * A queue in front of `exporter` with `config` (defaults: DEFAULT_EXPORT_QUEUE_CONFIG), its spans waiting in
   * `backlog` (default: span objects, maxQueueSize of them); a backlog given has its own bound, which should be
   * config's maxQueueSize.
   */
  constructor(
    private readonly exporter: SpanExporter,
    config: Partial<ExportQueueConfig> = {},
    backlog?: SpanBacklog,
  ) {
    this.config = { ...DEFAULT_EXPORT_QUEUE_CONFIG, ...config };
    if (this.config.maxExportBatchSize > this.config.maxQueueSize) this.config.maxExportBatchSize = this.config.maxQueueSize;
    this.backlog = backlog ?? new SpanObjects(this.config.maxQueueSize);
  }

  /** What the queue did so far. */
  stats(): ExportStats {
    const b = this.backlog;
    return { queued: b.waiting, exported: this.exported, dropped: b.droppedFull + b.droppedOverwritten, failed: this.failed, inFlight: this.inFlight };
  }

  /** Hands a finished span to the backlog (which exports sampled ones only, and drops and counts what does not fit). */
  onEnd(span: RecordedSpan): void {
    if (this.backlog.add(span)) this.schedule();
  }

  /** Exports everything queued, in batches, and waits for the exports in flight. */
  async forceFlush(): Promise<void> {
    this.cancelTimers();
    for (;;) {
      while (this.backlog.waiting > 0 && this.exporting.size < this.config.maxConcurrentExports) this.exportBatch();
      if (this.exporting.size === 0) return;
      await Promise.race(this.exporting);
    }
  }

  /** Stops queueing, exports what waits, shuts the exporter down. */
  async shutdown(): Promise<void> {
    this.stopped = true;
    this.backlog.close();
    await this.forceFlush();
    await this.exporter.shutdown();
    await this.backlog.shutdown?.();
  }

  /**
   * Arranges the next export: on the next turn of the event loop when a full batch waits and an export slot is
   * free, after the schedule delay when a partial one waits; nothing while the slots are taken (the export
   * that ends looks again).
   */
  private schedule(): void {
    const waiting = this.backlog.waiting;
    if (this.stopped || waiting === 0 || this.exporting.size >= this.config.maxConcurrentExports) return;
    if (waiting >= this.config.maxExportBatchSize) {
      if (this.immediate !== undefined) return;
      if (this.timer !== undefined) clearTimeout(this.timer);
      this.timer = undefined;
      this.immediate = setImmediate(() => {
        this.immediate = undefined;
        this.exportBatch();
        this.schedule();
      });
    } else this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.exportBatch();
      this.schedule();
    }, this.config.scheduledDelayMs).unref();
  }

  private cancelTimers(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (this.immediate !== undefined) clearImmediate(this.immediate);
    this.timer = undefined;
    this.immediate = undefined;
  }

  /** Exports one batch (when spans wait and a slot is free); when it ends, schedules the next. */
  private exportBatch(): void {
    if (this.backlog.waiting === 0 || this.exporting.size >= this.config.maxConcurrentExports) return;
    this.reportDrops();
    const batch = this.backlog.take(this.config.maxExportBatchSize);
    if (batch.length === 0) return;
    const exporting: Promise<void> = this.send(batch).then(() => {
      this.exporting.delete(exporting);
      this.schedule();
    });
    this.exporting.add(exporting);
  }

  /** Warns of the spans dropped since the last warning. */
  private reportDrops(): void {
    const { droppedFull, droppedOverwritten } = this.backlog;
    if (droppedFull > this.reportedFull) {
      diag.warn(`Dropped ${droppedFull - this.reportedFull} spans because maxQueueSize (${this.config.maxQueueSize}) was reached`);
      this.reportedFull = droppedFull;
    }
    if (droppedOverwritten > this.reportedOverwritten) {
      diag.warn(`Dropped ${droppedOverwritten - this.reportedOverwritten} spans whose records in the span ring were overwritten before their export (a larger AGENT_MESH_TRACE_RING_SPAN_BYTES keeps them longer)`);
      this.reportedOverwritten = droppedOverwritten;
    }
  }

  /** Hands `batch` to the exporter; resolves when it answers or the export timeout passes. Never rejects. */
  private send(batch: ExportBatch): Promise<void> {
    this.inFlight += batch.length;
    return new Promise<void>((resolve) => {
      let done = false;
      const finish = (result: ExportResult | undefined) => {
        if (done) return;
        done = true;
        this.inFlight -= batch.length;
        clearTimeout(timeout);
        if (result !== undefined && result.code === 0) this.exported += batch.length;
        else {
          this.failed += batch.length;
          diag.warn(`export of ${batch.length} spans failed: ${result?.error?.message ?? `no answer within ${this.config.exportTimeoutMs} ms`}`);
        }
        resolve();
      };
      const timeout = setTimeout(() => finish(undefined), this.config.exportTimeoutMs).unref();
      try {
        this.exporter.export(batch as unknown as ReadableSpan[], finish);
      } catch (err) {
        finish({ code: 1, error: err instanceof Error ? err : new Error(String(err)) });
      }
    });
  }
}
