/**
 * The export queue: a sink of the span recorder that batches sampled spans for an SDK SpanExporter, off the
 * path that ends them. Ending a span costs one array push; a full batch is exported on the next turn of the
 * event loop (setImmediate), a partial one after the schedule delay; a few exports may be in flight at once
 * (a collector's round trip then does not cap the rate). The queue is bounded: when the collector cannot keep
 * up, new spans are dropped and counted (a warning names how many). Limits and timers follow the SDK's
 * BatchSpanProcessor and its OTEL_BSP_* variables.
 */
import { diag, TraceFlags } from "@opentelemetry/api";
import type { ExportResult } from "@opentelemetry/core";
import type { ReadableSpan, SpanExporter } from "@opentelemetry/sdk-trace-base";
import type { RecordedSpan } from "./recorded-span.js";
import type { SpanSink } from "./span-recorder.js";

/** Limits and timers of an export queue. */
export interface ExportQueueConfig {
  /** Spans waiting at most; more are dropped and counted. Default 2048 ($OTEL_BSP_MAX_QUEUE_SIZE). */
  maxQueueSize: number;
  /** Spans per export at most. Default 512 ($OTEL_BSP_MAX_EXPORT_BATCH_SIZE). */
  maxExportBatchSize: number;
  /** How long a partial batch waits before it is exported, ms. Default 5000 ($OTEL_BSP_SCHEDULE_DELAY). */
  scheduledDelayMs: number;
  /** How long one export may take before the queue moves on, ms. Default 30000 ($OTEL_BSP_EXPORT_TIMEOUT). */
  exportTimeoutMs: number;
  /** Exports in flight at most. Default 2 ($AGENT_MESH_TRACE_EXPORT_CONCURRENCY). */
  maxConcurrentExports: number;
}

/** The SDK BatchSpanProcessor's defaults. */
export const DEFAULT_EXPORT_QUEUE_CONFIG: Readonly<ExportQueueConfig> = {
  maxQueueSize: 2048,
  maxExportBatchSize: 512,
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
  /** Spans dropped because the queue was full. */
  readonly dropped: number;
  /** Spans whose export failed or timed out. */
  readonly failed: number;
}

/** Batches sampled spans for `exporter`; see the file comment. */
export class ExportQueue implements SpanSink {
  private readonly config: ExportQueueConfig;
  private queue: RecordedSpan[] = [];
  private readonly exporting = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private stopped = false;
  private exported = 0;
  private dropped = 0;
  private failed = 0;
  private droppedUnreported = 0;

  /** A queue in front of `exporter` with `config` (defaults: DEFAULT_EXPORT_QUEUE_CONFIG). */
  constructor(
    private readonly exporter: SpanExporter,
    config: Partial<ExportQueueConfig> = {},
  ) {
    this.config = { ...DEFAULT_EXPORT_QUEUE_CONFIG, ...config };
    if (this.config.maxExportBatchSize > this.config.maxQueueSize) this.config.maxExportBatchSize = this.config.maxQueueSize;
  }

  /** What the queue did so far. */
  stats(): ExportStats {
    return { queued: this.queue.length, exported: this.exported, dropped: this.dropped, failed: this.failed };
  }

  /** Queues a sampled span (unsampled ones are not exported); drops and counts it when the queue is full. */
  onEnd(span: RecordedSpan): void {
    if (this.stopped || (span.spanContext().traceFlags & TraceFlags.SAMPLED) === 0) return;
    if (this.queue.length >= this.config.maxQueueSize) {
      this.dropped++;
      this.droppedUnreported++;
      return;
    }
    this.queue.push(span);
    this.schedule();
  }

  /** Exports everything queued, in batches, and waits for the exports in flight. */
  async forceFlush(): Promise<void> {
    this.cancelTimers();
    for (;;) {
      while (this.queue.length > 0 && this.exporting.size < this.config.maxConcurrentExports) this.exportBatch();
      if (this.exporting.size === 0) return;
      await Promise.race(this.exporting);
    }
  }

  /** Stops queueing, exports what waits, shuts the exporter down. */
  async shutdown(): Promise<void> {
    this.stopped = true;
    await this.forceFlush();
    await this.exporter.shutdown();
  }

  /**
   * Arranges the next export: on the next turn of the event loop when a full batch waits and an export slot is
   * free, after the schedule delay when a partial one waits; nothing while the slots are taken (the export
   * that ends looks again).
   */
  private schedule(): void {
    if (this.stopped || this.queue.length === 0 || this.exporting.size >= this.config.maxConcurrentExports) return;
    if (this.queue.length >= this.config.maxExportBatchSize) {
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
    if (this.queue.length === 0 || this.exporting.size >= this.config.maxConcurrentExports) return;
    const size = this.config.maxExportBatchSize;
    let batch: RecordedSpan[];
    if (this.queue.length <= size) {
      batch = this.queue;
      this.queue = [];
    } else batch = this.queue.splice(0, size);
    if (this.droppedUnreported > 0) {
      diag.warn(`Dropped ${this.droppedUnreported} spans because maxQueueSize (${this.config.maxQueueSize}) was reached`);
      this.droppedUnreported = 0;
    }
    const exporting: Promise<void> = this.send(batch).then(() => {
      this.exporting.delete(exporting);
      this.schedule();
    });
    this.exporting.add(exporting);
  }

  /** Hands `batch` to the exporter; resolves when it answers or the export timeout passes. Never rejects. */
  private send(batch: RecordedSpan[]): Promise<void> {
    return new Promise<void>((resolve) => {
      let done = false;
      const finish = (result: ExportResult | undefined) => {
        if (done) return;
        done = true;
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
