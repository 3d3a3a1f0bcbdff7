/**
 * OTLP/protobuf export from the span ring's records: a span is encoded once, when it ends, as its ring record
 * (span-record.ts), and its objects die young; a batch is an ExportTraceServiceRequest transcoded from the
 * records with the rules of otlp-proto.ts (same grouping by resource and scope, same fields in the same
 * order, same flags: the bytes equal encodeSpansProto's for the same spans). Ids are copied as bytes, texts as
 * their UTF-8 bytes, times converted exactly from epoch + microseconds to fixed64 nanoseconds; the encoded
 * name and the KeyValue prefix of each intern-table entry are made once and copied.
 *
 * The ring's arena is the export queue (span-ring.ts): every record of a sampled recorded span is marked as
 * waiting, and a cursor passes over the marks as batches are taken. One arena rather than a second one
 * written by the same writer: a span costs one record (no second write or copy), and the arena that keeps the
 * node's recent spans for queries already outlives the batch delay — it is sized for the larger of the ring
 * and the queue (with the ring off, for the queue alone). The queue's semantics:
 *
 * - at most maxQueueSize spans wait; one more drops the oldest waiting (the ring's way: newer records replace
 *   older ones), counted in ExportStats.dropped and warned of;
 * - a waiting record whose bytes or slot newer records need before it is exported is dropped and counted the
 *   same way (the arena holds maxQueueSize × AGENT_MESH_TRACE_RING_SPAN_BYTES at least: typical spans take
 *   well under that budget, so the count bound is met first);
 * - a span whose record is not exact (cut for being over maxRecordBytes, an id that is not lowercase hex, a
 *   value OTLP has no type for, a scope the ring's table cannot take) waits as its object instead, in the
 *   same order, and is written by otlp-proto.ts's spanProto into the same request: it is exported whole.
 *
 * The exporter gets an EncodedSpans per batch (the request's bytes and the span count); the OTLP/HTTP
 * exporter's serializer (otlp-exporter.ts) sends those bytes as they are.
 */
import { TraceFlags } from "@opentelemetry/api";
import type { Resource } from "@opentelemetry/resources";
import { ProtoWriter } from "../protocol/proto-writer.js";
import type { SpanBacklog } from "./export-queue.js";
import { SpanGroups, type SpanScope } from "./otlp-groups.js";
import { begin, encodeGroups, end, fixed32, fixed64Nanos, spanProto, Tag } from "./otlp-proto.js";
import type { RecordedSpan } from "./recorded-span.js";
import { IdFlag, LinkFlag, putVarint, RecordFlag, unzigzag, ValueTag, varintSize } from "./span-record.js";
import type { RecordTables, SpanRing } from "./span-ring.js";

/** One export's spans, already encoded: an OTLP/protobuf ExportTraceServiceRequest and how many spans it holds. */
export class EncodedSpans {
  /** A batch of `length` spans encoded as `bytes`. */
  constructor(
    /** The request's bytes. */
    readonly bytes: Uint8Array,
    /** Spans in the request. */
    readonly length: number,
  ) {}
}

/** A batch item: a record's arena offset, or a span exported from its object. */
type Item = number | RecordedSpan;

/** Bytes reserved for the length of a span (its usual size is 128 bytes to 16 KiB), as otlp-proto.ts does. */
const SPAN_LENGTH_BYTES = 2;
/** Bytes whole-word copies may write past a copy's end (what follows overwrites them). */
const SLACK = 3;
const TWO_POW_32 = 2 ** 32;
/** Offsets from an epoch up to this (µs; ~100 days) are added to its nanoseconds exactly as doubles. */
const MAX_OFFSET_US = 2 ** 53 / 1000 - TWO_POW_32;
/** Epochs up to this (s; year 2514) fit fixed64 nanoseconds as the cache keeps them. */
const MAX_EPOCH_SEC = 2 ** 34;

/** The export queue's backlog in a span ring's arena; see the file comment. */
export class RecordBacklog implements SpanBacklog {
  private readonly transcoder: RecordTranscoder;
  private groups = new SpanGroups<Item>();
  private readonly visit = (at: number, span: RecordedSpan | undefined): void => {
    if (span !== undefined) this.groups.add(span.resource, span.instrumentationScope, span);
    else {
      const entry = this.transcoder.scopeOf(at);
      this.groups.add(entry.resource, entry.scope, at);
    }
  };
  private readonly write = (item: Item, w: ProtoWriter): void => (typeof item === "number" ? this.transcoder.span(item, w) : spanProto(item, w));

  /** The backlog of `ring` (made with an export queue size). */
  constructor(readonly ring: SpanRing) {
    this.transcoder = new RecordTranscoder(ring.records);
  }

  /** Spans waiting. */
  get waiting(): number {
    return this.ring.waiting;
  }

  /** Spans dropped because the queue was full. */
  get droppedFull(): number {
    return this.ring.droppedFull;
  }

  /** Spans dropped because their records were overwritten first. */
  get droppedOverwritten(): number {
    return this.ring.droppedOverwritten;
  }

  /** Writes the span's record into the ring (which queues it when sampled); true when it was sampled. */
  add(span: RecordedSpan): boolean {
    this.ring.onEnd(span);
    return (span.spanContext().traceFlags & TraceFlags.SAMPLED) !== 0;
  }

  /** Up to `max` waiting spans as one encoded request. */
  take(max: number): EncodedSpans {
    const n = this.ring.takeWaiting(max, this.visit);
    const groups = this.groups;
    this.groups = new SpanGroups<Item>();
    return new EncodedSpans(n === 0 ? new Uint8Array(0) : encodeGroups(groups.byResource, n, this.write), n);
  }

  /** Queues no more spans (the ring still records them). */
  close(): void {
    this.ring.closeExport();
  }

  /** Shuts the ring down (its queries forget the spans held), as tracing's shutdown does when the ring is a sink of its own. */
  shutdown(): Promise<void> {
    return this.ring.shutdown();
  }
}

/** Writes OTLP Spans from exact records of one ring; see the file comment. */
export class RecordTranscoder {
  private readonly arena: Buffer;
  /** The arena, for reading 32 bits at a time. */
  private readonly view: DataView;
  /** Per names-table entry: its UTF-8 bytes after their varint length. */
  private readonly names: (Encoded | undefined)[] = [];
  /** Per keys-table entry: a KeyValue up to its value (key field, value tag). */
  private readonly keys: (Encoded | undefined)[] = [];
  /** The writer's buffer as last seen, and a view of it for writing 32 bits at a time. */
  private out: Buffer | undefined;
  private outView: DataView = new DataView(new ArrayBuffer(0));
  /** Read position in the arena. */
  private p = 0;
  /** The epoch of the last time written (-1: none yet), and its nanoseconds since the Unix epoch in 32-bit halves. */
  private epochSec = -1;
  private epochNanos = -1;
  private epochLo = 0;
  private epochHi = 0;

  /** A transcoder of the records in `tables`. */
  constructor(private readonly tables: RecordTables) {
    this.arena = tables.arena;
    this.view = new DataView(this.arena.buffer, this.arena.byteOffset, this.arena.byteLength);
  }

  /** The scope (and resource) of the record at `at`. */
  scopeOf(at: number): { readonly scope: SpanScope; readonly resource: Resource } {
    this.p = at + 3;
    return this.tables.scopes.entry(this.varint());
  }

  /** Writes the record at `at` as a length-delimited trace/v1 Span (its tag already written). */
  span(at: number, w: ProtoWriter): void {
    const a = this.arena;
    const flags = a[at];
    const ids = a[at + 1];
    const traceFlags = a[at + 2];
    if ((ids & (IdFlag.TRACE_RAW | IdFlag.SPAN_RAW)) !== (IdFlag.TRACE_RAW | IdFlag.SPAN_RAW) || (flags & RecordFlag.NANOS) !== 0) {
      throw new Error("span record: not exact, cannot be transcoded");
    }
    this.p = at + 3;
    this.varint(); // scope
    const start = begin(w, SPAN_LENGTH_BYTES);
    this.rawIds(w);
    if ((ids & IdFlag.TRACE_STATE) !== 0) this.text(Tag.LEN3, w);
    if ((ids & IdFlag.PARENT) !== 0) {
      if ((ids & IdFlag.PARENT_RAW) === 0) throw new Error("span record: not exact, cannot be transcoded");
      this.rawId(Tag.LEN4, 8, w);
    }
    this.name(Tag.LEN5, w);
    const buf = this.room(w, 2);
    buf[w.pos++] = Tag.SPAN_KIND;
    buf[w.pos++] = flags & RecordFlag.KIND;
    const sec = this.view.getFloat64(this.p, true);
    const nanos = this.view.getUint32(this.p + 8, true);
    this.p += 12;
    const startUs = this.signed();
    const durationUs = this.signed();
    this.nanos(Tag.SPAN_START, sec, nanos, startUs, w);
    this.nanos(Tag.SPAN_END, sec, nanos, startUs + durationUs, w);
    let message = -1;
    if ((flags & RecordFlag.MESSAGE) !== 0) {
      message = this.p;
      const length = this.varint();
      this.p += length;
    }
    if ((flags & RecordFlag.AGENT) !== 0) this.skipRef();
    this.attributes(Tag.SPAN_ATTRIBUTES, w);
    if ((ids & IdFlag.TAIL) !== 0) {
      this.count(Tag.SPAN_DROPPED_ATTRIBUTES, w);
      for (let n = this.varint(); n > 0; n--) this.event(sec, nanos, w);
      this.count(Tag.SPAN_DROPPED_EVENTS, w);
      for (let n = this.varint(); n > 0; n--) this.link(w);
      this.count(Tag.SPAN_DROPPED_LINKS, w);
    }
    const code = (flags >> RecordFlag.STATUS_SHIFT) & RecordFlag.STATUS;
    if (code !== 0) {
      w.rawVarint32(Tag.SPAN_STATUS);
      const statusStart = begin(w, 1);
      if (message >= 0) {
        this.p = message;
        this.text(Tag.LEN2, w);
      }
      w.ensure(2);
      w.buf[w.pos++] = Tag.STATUS_CODE;
      w.buf[w.pos++] = code;
      end(w, statusStart, 1);
    }
    const tail = this.room(w, 6);
    tail[w.pos] = Tag.SPAN_FLAGS;
    tail[w.pos + 1] = 0x01;
    this.outView.setUint32(w.pos + 2, traceFlags | Tag.FLAGS_HAS_IS_REMOTE | ((ids & IdFlag.PARENT_REMOTE) !== 0 ? Tag.FLAGS_IS_REMOTE : 0), true);
    w.pos += 6;
    end(w, start, SPAN_LENGTH_BYTES);
  }

  /**
   * Fixed64 field `tag`: `us` microseconds after the epoch `sec` s + `nanos` ns, in nanoseconds since the Unix
   * epoch, exactly: the epoch's nanoseconds as two 32-bit halves are kept from the last call (spans share an
   * epoch for a second), the offset's added to the low half (exact while it is within MAX_OFFSET_US), the
   * carry to the high half; otherwise as otlp-proto.ts computes it.
   */
  private nanos(tag: number, sec: number, nanos: number, us: number, w: ProtoWriter): void {
    if (sec !== this.epochSec || nanos !== this.epochNanos) {
      if (!(sec >= 0 && sec < MAX_EPOCH_SEC)) return fixed64Nanos(tag, sec, nanos, us, w);
      // sec·1e9 + nanos in two 32-bit halves, from products that stay exact (seconds split at bit 16, as fixed64Nanos).
      const high = Math.floor(sec / 65536) * 1e9; // ns of the seconds above bit 16, to be shifted left by 16
      const low = (high % 65536) * 65536 + (sec % 65536) * 1e9 + nanos;
      this.epochLo = low % TWO_POW_32;
      this.epochHi = Math.floor(high / 65536) + Math.floor(low / TWO_POW_32);
      this.epochSec = sec;
      this.epochNanos = nanos;
    }
    if (!(us < MAX_OFFSET_US && us > -MAX_OFFSET_US)) return fixed64Nanos(tag, sec, nanos, us, w);
    const total = this.epochLo + us * 1000;
    const carry = Math.floor(total / TWO_POW_32);
    const lo = total - carry * TWO_POW_32;
    const hi = this.epochHi + carry;
    if (hi < 0) return fixed64Nanos(tag, sec, nanos, us, w);
    const buf = this.room(w, 9);
    const pos = w.pos;
    buf[pos] = tag;
    this.outView.setUint32(pos + 1, lo, true);
    this.outView.setUint32(pos + 5, hi, true);
    w.pos = pos + 9;
  }

  /** An event: time, name, attributes, dropped attributes. */
  private event(sec: number, nanos: number, w: ProtoWriter): void {
    w.rawVarint32(Tag.SPAN_EVENTS);
    const start = begin(w, 1);
    const nameAt = this.p;
    this.skipRef();
    this.nanos(Tag.EVENT_TIME, sec, nanos, this.signed(), w);
    const droppedAt = this.p;
    this.varint();
    const attributesAt = this.p;
    this.p = nameAt;
    this.name(Tag.LEN2, w);
    this.p = attributesAt;
    this.attributes(Tag.LEN3, w);
    const next = this.p;
    this.p = droppedAt;
    this.count(Tag.EVENT_DROPPED_ATTRIBUTES, w);
    this.p = next;
    end(w, start, 1);
  }

  /** A link: trace id, span id, trace state, attributes, dropped attributes, flags. */
  private link(w: ProtoWriter): void {
    const a = this.arena;
    const flags = a[this.p];
    const traceFlags = a[this.p + 1];
    if ((flags & (LinkFlag.TRACE_RAW | LinkFlag.SPAN_RAW)) !== (LinkFlag.TRACE_RAW | LinkFlag.SPAN_RAW)) throw new Error("span record: not exact, cannot be transcoded");
    this.p += 2;
    w.rawVarint32(Tag.SPAN_LINKS);
    const start = begin(w, 1);
    this.rawId(Tag.LEN1, 16, w);
    this.rawId(Tag.LEN2, 8, w);
    this.text(Tag.LEN3, w);
    const droppedAt = this.p;
    this.varint();
    this.attributes(Tag.LEN4, w);
    const next = this.p;
    this.p = droppedAt;
    this.count(Tag.LINK_DROPPED_ATTRIBUTES, w);
    this.p = next;
    w.rawVarint32(Tag.LINK_FLAGS);
    fixed32(traceFlags | Tag.FLAGS_HAS_IS_REMOTE | ((flags & LinkFlag.REMOTE) !== 0 ? Tag.FLAGS_IS_REMOTE : 0), w);
    end(w, start, 1);
  }

  /**
   * The record's attributes up to their 0 byte as repeated KeyValue field `tag`. A scalar value's sizes are
   * known before it is written: each such KeyValue is written in one go, its string copied with the length
   * before it as the record has them (the same varint).
   */
  private attributes(tag: number, w: ProtoWriter): void {
    const a = this.arena;
    for (;;) {
      const ref = this.varint();
      if (ref === 0) return;
      let prefix: Encoded | undefined;
      let keyAt = 0;
      let keyLength = 0;
      let prefixLength: number;
      if ((ref & 1) === 0) {
        prefix = this.keys[ref / 2 - 1] ?? this.keyPrefix(ref / 2 - 1);
        prefixLength = prefix.length;
      } else {
        keyLength = (ref - 1) / 2;
        keyAt = this.p;
        this.p += keyLength;
        prefixLength = 1 + varintSize(keyLength) + keyLength + 1;
      }
      const valueTag = a[this.p++];
      // The AnyValue's bytes: for a string its tag, then the record's length and bytes as they are.
      let valueLength: number;
      let from = 0;
      let copied = 0;
      let int = 0;
      switch (valueTag) {
        case ValueTag.STRING: {
          from = this.p;
          const length = this.varint();
          copied = this.p - from + length;
          this.p = from + copied;
          valueLength = 1 + copied;
          break;
        }
        case ValueTag.INT:
          int = this.signed();
          valueLength = int >= 0 ? 1 + varintSize(int) : 11;
          break;
        case ValueTag.DOUBLE:
          from = this.p;
          this.p += 8;
          valueLength = 9;
          break;
        case ValueTag.TRUE:
        case ValueTag.FALSE:
          valueLength = 2;
          break;
        case ValueTag.NONE:
          valueLength = 0;
          break;
        default:
          this.attributeSlow(tag, prefix, keyAt, keyLength, valueTag, w);
          continue;
      }
      const kvLength = prefixLength + varintSize(valueLength) + valueLength;
      const buf = this.room(w, 1 + varintSize(kvLength) + kvLength);
      let pos = w.pos;
      buf[pos++] = tag;
      pos = putVarint(buf, pos, kvLength);
      if (prefix !== undefined) pos = this.putEncoded(prefix, pos);
      else {
        buf[pos++] = Tag.LEN1; // KeyValue.key
        pos = putVarint(buf, pos, keyLength);
        pos = this.copyOut(keyAt, keyLength, pos);
        buf[pos++] = Tag.LEN2; // KeyValue.value
      }
      pos = putVarint(buf, pos, valueLength);
      switch (valueTag) {
        case ValueTag.STRING:
          buf[pos++] = Tag.ANY_STRING;
          pos = this.copyOut(from, copied, pos);
          break;
        case ValueTag.INT:
          buf[pos++] = Tag.ANY_INT;
          if (int >= 0) pos = putVarint(buf, pos, int);
          else {
            w.pos = pos;
            w.int64(int); // ten bytes, as valueLength says
            pos = w.pos;
          }
          break;
        case ValueTag.DOUBLE:
          buf[pos++] = Tag.ANY_DOUBLE;
          pos = this.copyOut(from, 8, pos);
          break;
        case ValueTag.TRUE:
        case ValueTag.FALSE:
          buf[pos++] = Tag.ANY_BOOL;
          buf[pos++] = valueTag === ValueTag.TRUE ? 1 : 0;
          break;
      }
      w.pos = pos;
    }
  }

  /** A KeyValue whose value's size is not known before it is written (INT64, ARRAY): nested lengths written after. */
  private attributeSlow(tag: number, prefix: Encoded | undefined, keyAt: number, keyLength: number, valueTag: number, w: ProtoWriter): void {
    w.rawVarint32(tag);
    const start = begin(w, 1);
    if (prefix !== undefined) {
      this.room(w, prefix.length);
      w.pos = this.putEncoded(prefix, w.pos);
    } else {
      w.rawVarint32(Tag.LEN1); // KeyValue.key
      w.rawVarint32(keyLength);
      this.room(w, keyLength);
      w.pos = this.copyOut(keyAt, keyLength, w.pos);
      w.rawVarint32(Tag.LEN2); // KeyValue.value
    }
    const valueStart = begin(w, 1);
    this.value(valueTag, w);
    end(w, valueStart, 1);
    end(w, start, 1);
  }

  /** A value of tag `tag` inside its AnyValue (whose length is written by the caller). */
  private value(tag: number, w: ProtoWriter): void {
    switch (tag) {
      case ValueTag.STRING:
        w.rawVarint32(Tag.ANY_STRING);
        this.copyText(w);
        return;
      case ValueTag.INT:
        w.rawVarint32(Tag.ANY_INT);
        w.int64(this.signed());
        return;
      case ValueTag.INT64:
        w.rawVarint32(Tag.ANY_INT);
        w.int64(this.double());
        return;
      case ValueTag.DOUBLE: {
        const buf = this.room(w, 9);
        buf[w.pos] = Tag.ANY_DOUBLE;
        w.pos = this.copyOut(this.p, 8, w.pos + 1);
        this.p += 8;
        return;
      }
      case ValueTag.TRUE:
      case ValueTag.FALSE:
        w.ensure(2);
        w.buf[w.pos++] = Tag.ANY_BOOL;
        w.buf[w.pos++] = tag === ValueTag.TRUE ? 1 : 0;
        return;
      case ValueTag.NONE:
        return;
      case ValueTag.ARRAY: {
        w.rawVarint32(Tag.ANY_ARRAY);
        const array = begin(w, 1);
        for (let n = this.varint(); n > 0; n--) {
          w.rawVarint32(Tag.LEN1); // ArrayValue.values
          const element = begin(w, 1);
          this.value(this.arena[this.p++], w);
          end(w, element, 1);
        }
        end(w, array, 1);
        return;
      }
      default:
        throw new Error(`span record: value tag ${tag} cannot be transcoded`);
    }
  }

  /** The trace id (16 raw bytes) and span id (8) as bytes fields 1 and 2. */
  private rawIds(w: ProtoWriter): void {
    const buf = this.room(w, 28);
    const pos = w.pos;
    buf[pos] = Tag.LEN1;
    buf[pos + 1] = 16;
    this.copyOut(this.p, 16, pos + 2);
    buf[pos + 18] = Tag.LEN2;
    buf[pos + 19] = 8;
    this.copyOut(this.p + 16, 8, pos + 20);
    w.pos = pos + 28;
    this.p += 24;
  }

  /** `bytes` raw id bytes as bytes field `tag`. */
  private rawId(tag: number, bytes: number, w: ProtoWriter): void {
    const buf = this.room(w, 2 + bytes);
    buf[w.pos] = tag;
    buf[w.pos + 1] = bytes;
    w.pos = this.copyOut(this.p, bytes, w.pos + 2);
    this.p += bytes;
  }

  /** The record's text as string field `tag`, unless empty (proto3's default). */
  private text(tag: number, w: ProtoWriter): void {
    if (this.arena[this.p] === 0) {
      this.p++;
      return;
    }
    w.rawVarint32(tag);
    this.copyText(w);
  }

  /** The record's text (varint length, bytes) as a string value: the same varint (minimal), then the bytes. */
  private copyText(w: ProtoWriter): void {
    const from = this.p;
    const length = this.varint();
    const n = this.p - from + length;
    this.room(w, n);
    w.pos = this.copyOut(from, n, w.pos);
    this.p = from + n;
  }

  /** A ref into the names table as string field `tag`. */
  private name(tag: number, w: ProtoWriter): void {
    const ref = this.varint();
    if ((ref & 1) === 0) {
      const bytes = this.names[ref / 2 - 1] ?? this.nameBytes(ref / 2 - 1);
      const buf = this.room(w, 1 + bytes.length);
      buf[w.pos] = tag;
      w.pos = this.putEncoded(bytes, w.pos + 1);
    } else {
      const length = (ref - 1) / 2;
      const buf = this.room(w, 6 + length);
      buf[w.pos] = tag;
      w.pos = this.copyOut(this.p, length, putVarint(buf, w.pos + 1, length));
      this.p += length;
    }
  }

  /** The record's varint as varint field `tag`, unless 0. */
  private count(tag: number, w: ProtoWriter): void {
    const value = this.varint();
    if (value === 0) return;
    w.rawVarint32(tag);
    w.rawVarint32(value);
  }

  /** Names-table entry `n` as its length and UTF-8 bytes (made once). */
  private nameBytes(n: number): Encoded {
    const utf8 = Buffer.from(this.tables.names.text(n), "utf8");
    const bytes = new Uint8Array(varintSize(utf8.length) + utf8.length);
    putVarint(bytes, 0, utf8.length);
    bytes.set(utf8, bytes.length - utf8.length);
    return (this.names[n] = new Encoded(bytes));
  }

  /** Keys-table entry `n` as a KeyValue up to its value: the key field and the value's tag (made once). */
  private keyPrefix(n: number): Encoded {
    const utf8 = Buffer.from(this.tables.keys.text(n), "utf8");
    const length = varintSize(utf8.length);
    const prefix = new Uint8Array(1 + length + utf8.length + 1);
    prefix[0] = Tag.LEN1; // KeyValue.key
    putVarint(prefix, 1, utf8.length);
    prefix.set(utf8, 1 + length);
    prefix[prefix.length - 1] = Tag.LEN2; // KeyValue.value
    return (this.keys[n] = new Encoded(prefix));
  }

  /**
   * Makes room for `n` bytes in the writer, and SLACK more (whole-word copies may write past their end);
   * returns its buffer (the view of it follows a buffer the writer moved to).
   */
  private room(w: ProtoWriter, n: number): Buffer {
    w.ensure(n + SLACK);
    const buf = w.buf;
    if (buf !== this.out) {
      this.out = buf;
      this.outView = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    }
    return buf;
  }

  /** Copies `n` arena bytes from `from` to the writer's buffer at `pos` (room made); returns `pos` + `n`. */
  private copyOut(from: number, n: number, pos: number): number {
    if (from + n + SLACK <= this.arena.length) {
      // 32 bits at a time: the last word may read and write up to SLACK bytes past the end.
      const src = this.view;
      const dst = this.outView;
      for (let i = 0; i < n; i += 4) dst.setUint32(pos + i, src.getUint32(from + i, true), true);
    } else {
      const a = this.arena;
      const buf = this.out!;
      for (let i = 0; i < n; i++) buf[pos + i] = a[from + i];
    }
    return pos + n;
  }

  /** Writes `e` at `pos` (room made); returns the position after it. */
  private putEncoded(e: Encoded, pos: number): number {
    const words = e.words;
    const dst = this.outView;
    for (let i = 0; i < words.length; i++) dst.setUint32(pos + 4 * i, words[i], true);
    return pos + e.length;
  }

  private skipRef(): void {
    const ref = this.varint();
    if ((ref & 1) === 1) this.p += (ref - 1) / 2;
  }

  private double(): number {
    const v = this.view.getFloat64(this.p, true);
    this.p += 8;
    return v;
  }

  private signed(): number {
    return unzigzag(this.varint());
  }

  private varint(): number {
    const a = this.arena;
    let byte = a[this.p++];
    if (byte < 0x80) return byte;
    let value = byte & 0x7f;
    let scale = 128;
    do {
      byte = a[this.p++];
      value += (byte & 0x7f) * scale;
      scale *= 128;
    } while ((byte & 0x80) !== 0);
    return value;
  }
}


/** Bytes made once and written as 32-bit words (the last one padded with zeros). */
class Encoded {
  /** Bytes. */
  readonly length: number;
  /** The bytes as little-endian 32-bit words. */
  readonly words: Uint32Array;

  /** `bytes` as words. */
  constructor(bytes: Uint8Array) {
    this.length = bytes.length;
    const padded = new Uint8Array((bytes.length + 3) & ~3);
    padded.set(bytes);
    const view = new DataView(padded.buffer);
    this.words = new Uint32Array(padded.length / 4);
    for (let i = 0; i < this.words.length; i++) this.words[i] = view.getUint32(4 * i, true);
  }
}
