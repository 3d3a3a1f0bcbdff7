/**
 * A trace without a collector: the node's most recent finished spans in a bounded ring, so
 * AgentService.GetSpans can answer "what did this node do for task X" and `agent-mesh trace` can assemble one
 * tree across nodes. A sink of the node's span recorder and an SDK SpanProcessor.
 *
 * The ring keeps no span object. onEnd writes the span's wire fields as one variable-length record
 * (span-record.ts) into a byte arena allocated once, appending at a write position that only grows (the
 * arena's offset is that position modulo its size; a record that would cross the arena's end starts at 0
 * instead, and the skipped tail counts as written). A Float64Array holds each kept record's start, by slot
 * (`capacity` slots). A record whose bytes the write position has passed by a whole arena is overwritten:
 * before each write the oldest records are dropped while more than `capacity` would be kept or while their
 * bytes are about to be reused — so the oldest go first whichever bound is hit, and no record is read after
 * its bytes changed. Span names, agent ids and attribute keys are numbers in bounded intern tables.
 *
 * Cost: writing a typical mesh span (ids, name, times, five short attributes: ~125 B) takes ~0.4–0.6 µs and
 * allocates nothing, so what a span allocated dies young with it; keeping the span objects themselves had V8
 * promote ~530 B per span to the old generation (test/telemetry/measure-span-ring.mjs). Memory: the arena
 * (`capacity` × the per-span budget, default 512 B — 2 MiB at 4096 spans; at least MIN_ARENA_BYTES, at most
 * MAX_ARENA_BYTES), 8 B per slot, and two intern tables (at most 1024 texts of at most 128 characters each).
 * A mesh span takes 100–200 B, so the count is usually the bound hit. A span whose record would exceed
 * maxRecordBytes (1/8 of the arena, from 1 KiB to 16 KiB) is kept with its texts cut to maxRecordBytes/32
 * bytes at a character boundary (attributes that still do not fit are left out; interned names and keys stay
 * whole), and counted in `cutSpans`; its bytes up to maxRecordBytes count as written. A query reads the records
 * oldest first, compares trace and correlation ids as bytes and decodes only the matches to the wire type: a
 * correlation id among 4096 records takes ~0.5 ms, decoding all 4096 ~5 ms.
 */
import type { ReadableSpan, SpanProcessor } from "@opentelemetry/sdk-trace-base";
import type { Span } from "../../gen/agentmesh/v1/trace_pb.js";
import { RecordedSpan } from "./recorded-span.js";
import { InternTable } from "./span-record-intern.js";
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

/** The bounded ring of a node's finished spans; see the file comment. */
export class SpanRing implements SpanProcessor, SpanSink, SpanSource {
  /** Spans held at most. */
  readonly capacity: number;
  /** Bytes of the arena the records are written into. */
  readonly arenaBytes: number;
  /** Bytes one span's record takes at most (a larger one is cut). */
  readonly maxRecordBytes: number;
  private readonly arena: Buffer;
  /** Each slot's record start, as a write position (the arena offset is it modulo arenaBytes). */
  private readonly starts: Float64Array;
  private readonly writer: SpanRecordWriter;
  private readonly reader: SpanRecordReader;
  private readonly cutTo: number;
  /** The slot the next record goes to. */
  private next = 0;
  private count = 0;
  /** Where the next record starts (grows forever; exact as a double for 2^53 bytes). */
  private written = 0;
  private cut = 0;

  /**
   * A ring of `capacity` spans (at least 1) recorded by agent `agentId` (used when a span's resource names
   * none), in an arena of `capacity` × `spanBytes` bytes (within MIN_ARENA_BYTES and MAX_ARENA_BYTES).
   */
  constructor(
    capacity: number = DEFAULT_SPAN_RING_SIZE,
    private readonly agentId = "",
    spanBytes: number = DEFAULT_SPAN_RING_SPAN_BYTES,
  ) {
    this.capacity = Math.max(1, Math.floor(capacity));
    const budget = Number.isFinite(spanBytes) && spanBytes > 0 ? Math.floor(spanBytes) : DEFAULT_SPAN_RING_SPAN_BYTES;
    this.arenaBytes = Math.min(MAX_ARENA_BYTES, Math.max(MIN_ARENA_BYTES, this.capacity * budget));
    this.maxRecordBytes = Math.max(MIN_RECORD_SPACE, Math.min(MAX_RECORD_BYTES, Math.floor(this.arenaBytes / 8)));
    this.cutTo = this.maxRecordBytes >> 5;
    this.arena = Buffer.alloc(this.arenaBytes);
    this.starts = new Float64Array(this.capacity);
    const names = new InternTable();
    const keys = new InternTable();
    this.writer = new SpanRecordWriter(this.arena, names, keys);
    this.reader = new SpanRecordReader(this.arena, names, keys);
  }

  /** Spans held now. */
  get size(): number {
    return this.count;
  }

  /** Spans kept with texts cut or attributes left out because their record was over maxRecordBytes. */
  get cutSpans(): number {
    return this.cut;
  }

  /** Nothing to do when a span starts. */
  onStart(): void {}

  /** Writes a finished span's record, dropping the oldest records it needs room from. */
  onEnd(span: ReadableSpan | RecordedSpan): void {
    const size = this.arenaBytes;
    const max = this.maxRecordBytes;
    let at = this.written;
    let offset = at % size;
    let room = size - offset;
    let end = this.write(span, offset, room < max ? room : max, 0);
    let reach = at + (this.writer.reach - offset);
    if (end < 0 && room < max) {
      // Too little room before the arena's end: start over at 0 (the skipped tail counts as written).
      at += room;
      offset = 0;
      room = size;
      end = this.write(span, 0, max, 0);
      reach = Math.max(reach, at + this.writer.reach);
    }
    if (end < 0) {
      end = this.write(span, offset, max, this.cutTo);
      reach = Math.max(reach, at + (this.writer.reach - offset));
      this.cut++;
    }
    // Drop the records whose bytes were (or may have been) written over, then the oldest if all slots are full.
    const starts = this.starts;
    const capacity = this.capacity;
    while (this.count > 0 && starts[this.oldest()] + size < reach) this.count--;
    if (this.count === capacity) this.count--;
    if (end < 0) {
      // Cannot happen (a cut record always fits); keep the ring consistent rather than a bad record.
      this.written = reach;
      return;
    }
    starts[this.next] = at;
    this.next = this.next + 1 === capacity ? 0 : this.next + 1;
    this.count++;
    this.written = at + (end - offset);
  }

  /** Nothing buffered to flush. */
  forceFlush(): Promise<void> {
    return Promise.resolve();
  }

  /** Drops every span held. */
  shutdown(): Promise<void> {
    this.count = 0;
    this.next = 0;
    this.written = 0;
    return Promise.resolve();
  }

  /** The matching spans, oldest first, as wire messages. */
  query(filter: SpanFilter): Span[] {
    const out: Span[] = [];
    const selected = this.reader.prepare(filter.traceId, filter.correlationId);
    const first = this.oldest();
    for (let i = 0; i < this.count; i++) {
      const slot = first + i < this.capacity ? first + i : first + i - this.capacity;
      const at = this.starts[slot] % this.arenaBytes;
      if (this.reader.matches(at, selected)) out.push(this.reader.decode(at, this.agentId));
    }
    return out;
  }

  /** The slot of the oldest record held. */
  private oldest(): number {
    const slot = this.next - this.count;
    return slot < 0 ? slot + this.capacity : slot;
  }

  private write(span: ReadableSpan | RecordedSpan, at: number, space: number, cut: number): number {
    return span instanceof RecordedSpan ? this.writer.writeRecorded(span, at, at + space, cut) : this.writer.writeReadable(span, this.agentId, at, at + space, cut);
  }
}
