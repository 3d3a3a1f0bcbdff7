/**
 * A trace without a collector: the node's most recent finished spans in a bounded ring, so
 * AgentService.GetSpans can answer "what did this node do for task X" and `agent-mesh trace` can assemble one
 * tree across nodes. A sink of the node's span recorder and an SDK SpanProcessor — and, made with an export
 * queue size, the OTLP/protobuf export queue too (otlp-records.ts).
 *
 * The ring keeps no span object. onEnd writes the span as one variable-length record (span-record.ts) into a
 * byte arena allocated once, appending at a write position that only grows (the arena's offset is that
 * position modulo its size; a record that would cross the arena's end starts at 0 instead, and the skipped
 * tail counts as written). A Float64Array holds each kept record's start, by slot (`slots` of them). A record
 * whose bytes the write position has passed by a whole arena is overwritten: before each write the oldest
 * records are dropped while more than `slots` would be kept or while their bytes are about to be reused — so
 * the oldest go first whichever bound is hit, and no record is read after its bytes changed. Queries see the
 * newest `capacity` records. Span names, agent ids and attribute keys are numbers in bounded intern tables.
 *
 * As the export queue, the ring marks the slot of each sampled recorded span as waiting, at most
 * `exportQueueSize` of them (one more drops the oldest waiting, counted in droppedFull), and a cursor moves
 * over the marks as batches take them (takeWaiting), oldest first; a waiting record that is dropped for room
 * is counted in droppedOverwritten. Its records also hold the span's scope and tail (events, links, dropped
 * counts); a span whose record is not exact (see span-record.ts: cut, for one) waits as its object. The ring
 * then has max(`capacity`, `exportQueueSize` + 1) slots: with every span sampled, the waiting records are the
 * newest, so room for the queue never drops a waiting one while the arena's bytes last.
 *
 * Cost: writing a typical mesh span (ids, name, times, five short attributes: ~125 B) takes ~0.3–0.6 µs and
 * allocates nothing, so what a span allocated dies young with it; keeping the span objects themselves had V8
 * promote ~530 B per span to the old generation (test/telemetry/measure-span-ring.mjs). Memory: the arena
 * (`slots` × the per-span budget, default 512 B — 2 MiB at 4096 spans; at least MIN_ARENA_BYTES, at most
 * MAX_ARENA_BYTES), 9 B per slot, and two intern tables (at most 1024 texts of at most 128 characters each).
 * A mesh span takes 100–200 B, so the count is usually the bound hit. A span whose record would exceed
 * maxRecordBytes (1/8 of the arena, from 1 KiB to 16 KiB) is kept with its texts cut to maxRecordBytes/32
 * bytes at a character boundary (attributes that still do not fit are left out; interned names and keys stay
 * whole), and counted in `cutSpans`; its bytes up to maxRecordBytes count as written. A query reads the records
 * oldest first, compares trace and correlation ids as bytes and decodes only the matches to the wire type: a
 * correlation id among 4096 records takes ~0.5 ms, decoding all 4096 ~5 ms.
 */
import { TraceFlags } from "@opentelemetry/api";
import type { ReadableSpan, SpanProcessor } from "@opentelemetry/sdk-trace-base";
import type { Span } from "../../gen/agentmesh/v1/trace_pb.js";
import { RecordedSpan } from "./recorded-span.js";
import { InternTable, ScopeTable } from "./span-record-intern.js";
import { SpanRecordReader } from "./span-record-reader.js";
import { MIN_RECORD_SPACE, SpanRecordWriter } from "./span-record.js";
import type { SpanSink } from "./span-recorder.js";

/** Spans a ring keeps when no size is configured. */
export const DEFAULT_SPAN_RING_SIZE = 4096;
/** Arena bytes per span of a ring's capacity when no budget is configured. */
export const DEFAULT_SPAN_RING_SPAN_BYTES = 512;
/** The smallest arena a ring allocates, whatever its capacity and budget. */
export const MIN_ARENA_BYTES = 8 * 1024;
/** The largest arena a ring allocates, whatever its capacity and budget. */
export const MAX_ARENA_BYTES = 1024 * 1024 * 1024;
/** The largest record of one span (a larger one is cut; see the file comment). */
export const MAX_RECORD_BYTES = 16 * 1024;

/** Which spans a query selects: those matching every filter given. */
export interface SpanFilter {
  /** Spans with this agentmesh.correlation_id. */
  correlationId?: string;
  /** Spans of this trace (32 hex digits). */
  traceId?: string;
}

/** Where a node's recent spans can be read (AgentService.GetSpans answers from it). */
export interface SpanSource {
  /** Spans held at most (0: none are kept). */
  readonly capacity: number;
  /** The matching spans still held, oldest first. */
  query(filter: SpanFilter): Span[];
}

/** What reading a ring's records takes: its arena and the tables their refs index (otlp-records.ts). */
export interface RecordTables {
  /** The bytes the records are in. */
  readonly arena: Buffer;
  /** Span names, event names and agent ids. */
  readonly names: InternTable;
  /** Attribute keys. */
  readonly keys: InternTable;
  /** Scopes of exported spans, with their resources. */
  readonly scopes: ScopeTable;
}

/** Per slot: the record waits for export. */
const WAITING = 1;

/** The bounded ring of a node's finished spans; see the file comment. */
export class SpanRing implements SpanProcessor, SpanSink, SpanSource {
  /** Spans held at most for queries (0: a ring that only queues spans for export). */
  readonly capacity: number;
  /**
   * Records held at most: the larger of `capacity` and one more than the export queue's size (when every
   * span is sampled the waiting records are the newest, so the oldest of a full ring never waits).
   */
  readonly slots: number;
  /** Spans waiting for export at most (0: nothing is exported from the ring). */
  readonly exportQueueSize: number;
  /** Bytes of the arena the records are written into. */
  readonly arenaBytes: number;
  /** Bytes one span's record takes at most (a larger one is cut). */
  readonly maxRecordBytes: number;
  /** The arena and the tables the records refer to. */
  readonly records: RecordTables;
  private readonly arena: Buffer;
  /** Each slot's record start, as a write position (the arena offset is it modulo arenaBytes). */
  private readonly starts: Float64Array;
  private readonly writer: SpanRecordWriter;
  private readonly reader: SpanRecordReader;
  private readonly cutTo: number;
  /** The slot the next record goes to (`total` modulo `slots`). */
  private next = 0;
  /** Records held (intact), the newest `count` of the `total` written. */
  private count = 0;
  /** Records written so far: the sequence number of the next one. */
  private total = 0;
  /** Queries see records from this sequence number on (shutdown forgets the older ones). */
  private queryFrom = 0;
  /** Where the next record starts (grows forever; exact as a double for 2^53 bytes). */
  private written = 0;
  private cut = 0;
  /** Per slot, WAITING when its record waits for export (only with an export queue). */
  private readonly marks: Uint8Array | undefined;
  /** Spans waiting whose records are not exact (exported from the object), by slot. */
  private readonly objects = new Map<number, RecordedSpan>();
  /** No waiting record has a sequence number below this. */
  private cursor = 0;
  private waitingCount = 0;
  private droppedFullCount = 0;
  private droppedOverwrittenCount = 0;
  private exportClosed = false;

  /**
   * A ring of `capacity` spans (at least 1, or 0 with an export queue) recorded by agent `agentId` (used when a
   * span's resource names none), queueing up to `exportQueueSize` sampled recorded spans for export (0: none),
   * in an arena of `slots` × `spanBytes` bytes (within MIN_ARENA_BYTES and MAX_ARENA_BYTES).
   */
  constructor(
    capacity: number = DEFAULT_SPAN_RING_SIZE,
    private readonly agentId = "",
    spanBytes: number = DEFAULT_SPAN_RING_SPAN_BYTES,
    exportQueueSize = 0,
  ) {
    this.exportQueueSize = Number.isFinite(exportQueueSize) && exportQueueSize > 0 ? Math.floor(exportQueueSize) : 0;
    this.capacity = Math.max(this.exportQueueSize > 0 ? 0 : 1, Math.floor(capacity) || 0);
    this.slots = Math.max(this.capacity, this.exportQueueSize > 0 ? this.exportQueueSize + 1 : 0);
    const budget = Number.isFinite(spanBytes) && spanBytes > 0 ? Math.floor(spanBytes) : DEFAULT_SPAN_RING_SPAN_BYTES;
    this.arenaBytes = Math.min(MAX_ARENA_BYTES, Math.max(MIN_ARENA_BYTES, this.slots * budget));
    this.maxRecordBytes = Math.max(MIN_RECORD_SPACE, Math.min(MAX_RECORD_BYTES, Math.floor(this.arenaBytes / 8)));
    this.cutTo = this.maxRecordBytes >> 5;
    this.arena = Buffer.alloc(this.arenaBytes);
    this.starts = new Float64Array(this.slots);
    this.marks = this.exportQueueSize > 0 ? new Uint8Array(this.slots) : undefined;
    const names = new InternTable();
    const keys = new InternTable();
    this.records = { arena: this.arena, names, keys, scopes: new ScopeTable() };
    this.writer = new SpanRecordWriter(this.arena, names, keys);
    this.reader = new SpanRecordReader(this.arena, names, keys);
  }

  /** Spans held now for queries. */
  get size(): number {
    return Math.min(this.count, this.capacity, this.total - this.queryFrom);
  }

  /** Spans kept with texts cut or attributes left out because their record was over maxRecordBytes. */
  get cutSpans(): number {
    return this.cut;
  }

  /** Spans waiting for export. */
  get waiting(): number {
    return this.waitingCount;
  }

  /** Spans dropped from the export queue because it held exportQueueSize spans (the oldest waiting go). */
  get droppedFull(): number {
    return this.droppedFullCount;
  }

  /** Spans dropped from the export queue because newer records needed their bytes or slot before they were exported. */
  get droppedOverwritten(): number {
    return this.droppedOverwrittenCount;
  }

  /** Nothing to do when a span starts. */
  onStart(): void {}

  /** Writes a finished span's record, dropping the oldest records it needs room from; queues it for export when sampled. */
  onEnd(span: ReadableSpan | RecordedSpan): void {
    const recorded = span instanceof RecordedSpan;
    const queued = recorded && this.marks !== undefined && !this.exportClosed && (span.spanContext().traceFlags & TraceFlags.SAMPLED) !== 0;
    const scope = queued ? this.records.scopes.ref(span) : 0;
    const size = this.arenaBytes;
    const max = this.maxRecordBytes;
    let at = this.written;
    let offset = at % size;
    let room = size - offset;
    let end = this.write(span, offset, room < max ? room : max, 0, scope);
    let reach = at + (this.writer.reach - offset);
    if (end < 0 && room < max) {
      // Too little room before the arena's end: start over at 0 (the skipped tail counts as written).
      at += room;
      offset = 0;
      room = size;
      end = this.write(span, 0, max, 0, scope);
      reach = Math.max(reach, at + this.writer.reach);
    }
    if (end < 0) {
      end = this.write(span, offset, max, this.cutTo, scope);
      reach = Math.max(reach, at + (this.writer.reach - offset));
      this.cut++;
    }
    const exact = this.writer.exact;
    // Drop the records whose bytes were (or may have been) written over, then the oldest if all slots are full.
    const starts = this.starts;
    while (this.count > 0 && starts[this.oldest()] + size < reach) this.dropOldest();
    if (this.count === this.slots) this.dropOldest();
    if (end < 0) {
      // Cannot happen (a cut record always fits); keep the ring consistent rather than a bad record.
      this.written = reach;
      if (queued) this.droppedOverwrittenCount++;
      return;
    }
    const slot = this.next;
    starts[slot] = at;
    this.next = slot + 1 === this.slots ? 0 : slot + 1;
    this.count++;
    this.total++;
    this.written = at + (end - offset);
    if (queued) this.enqueue(slot, exact ? undefined : (span as RecordedSpan));
  }

  /**
   * Takes up to `max` waiting spans, oldest first, out of the export queue, handing each to `visit`: the arena
   * offset of its record, and the span itself when the record is not exact (then export the object). The
   * records stay intact until the next onEnd. Returns how many were taken.
   */
  takeWaiting(max: number, visit: (at: number, span: RecordedSpan | undefined) => void): number {
    const marks = this.marks;
    if (marks === undefined) return 0;
    let taken = 0;
    let seq = Math.max(this.cursor, this.total - this.count);
    while (taken < max && this.waitingCount > 0 && seq < this.total) {
      const slot = seq % this.slots;
      seq++;
      if (marks[slot] !== WAITING) continue;
      marks[slot] = 0;
      this.waitingCount--;
      taken++;
      let span: RecordedSpan | undefined;
      if (this.objects.size > 0) {
        span = this.objects.get(slot);
        if (span !== undefined) this.objects.delete(slot);
      }
      visit(this.starts[slot] % this.arenaBytes, span);
    }
    this.cursor = seq;
    return taken;
  }

  /** Stops queueing spans for export (those waiting stay until taken). */
  closeExport(): void {
    this.exportClosed = true;
  }

  /** Nothing buffered to flush (an export queue over the ring takes what waits). */
  forceFlush(): Promise<void> {
    return Promise.resolve();
  }

  /** Forgets every span held for queries (spans waiting for export stay until taken). */
  shutdown(): Promise<void> {
    this.queryFrom = this.total;
    return Promise.resolve();
  }

  /** The matching spans, oldest first, as wire messages. */
  query(filter: SpanFilter): Span[] {
    const out: Span[] = [];
    const n = this.size;
    if (n === 0) return out;
    const selected = this.reader.prepare(filter.traceId, filter.correlationId);
    for (let seq = this.total - n; seq < this.total; seq++) {
      const at = this.starts[seq % this.slots] % this.arenaBytes;
      if (this.reader.matches(at, selected)) out.push(this.reader.decode(at, this.agentId));
    }
    return out;
  }

  /** The slot of the oldest record held. */
  private oldest(): number {
    const slot = this.next - this.count;
    return slot < 0 ? slot + this.slots : slot;
  }

  /** Drops the oldest record; if it was waiting for export, it counts as overwritten. */
  private dropOldest(): void {
    const marks = this.marks;
    if (marks !== undefined) {
      const slot = this.oldest();
      if (marks[slot] === WAITING) {
        marks[slot] = 0;
        this.waitingCount--;
        this.droppedOverwrittenCount++;
        if (this.objects.size > 0) this.objects.delete(slot);
      }
    }
    this.count--;
  }

  /** Queues the record in `slot` (the newest) for export, dropping the oldest waiting one when the queue is over its size. */
  private enqueue(slot: number, span: RecordedSpan | undefined): void {
    const marks = this.marks!;
    marks[slot] = WAITING;
    if (span !== undefined) this.objects.set(slot, span);
    if (++this.waitingCount <= this.exportQueueSize) return;
    let seq = Math.max(this.cursor, this.total - this.count);
    for (;;) {
      const oldest = seq % this.slots;
      seq++;
      if (marks[oldest] !== WAITING) continue;
      marks[oldest] = 0;
      if (this.objects.size > 0) this.objects.delete(oldest);
      break;
    }
    this.cursor = seq;
    this.waitingCount--;
    this.droppedFullCount++;
  }

  private write(span: ReadableSpan | RecordedSpan, at: number, space: number, cut: number, scope: number): number {
    return span instanceof RecordedSpan ? this.writer.writeRecorded(span, at, at + space, cut, scope) : this.writer.writeReadable(span, this.agentId, at, at + space, cut);
  }
}
