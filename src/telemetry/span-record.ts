/**
 * The span ring's record of one finished span: the fields of the wire Span (trace_pb.ts) as bytes in a buffer
 * the ring allocated once, so the ring holds no object of the span and the span dies young. Writing a record
 * allocates nothing in the common case: ids are parsed from hex into raw bytes, ASCII text is copied a char
 * code at a time, names and attribute keys are numbers in bounded intern tables (span-record-intern.ts).
 * Non-ASCII text goes through Buffer's UTF-8 writer. Reading (span-record-reader.ts) happens only on a query.
 *
 * Layout (integers are LEB128 varints, "signed" ones zigzag-encoded first; "text" is a varint byte count and
 * that many bytes of UTF-8; a "ref" is 2·(n+1) for entry n of an intern table, or 2·(bytes)+1 and inline text):
 *
 *     flags      1 byte: wire SpanKind (bits 0–2), wire SpanStatusCode (bits 3–4), times as HrTimes (bit 5;
 *                else epoch and microseconds), agent id given (bit 6), status message given (bit 7)
 *     id flags   1 byte: trace id raw (bit 0), span id raw (bit 1), parent given (bit 2), parent raw (bit 3)
 *     trace id   16 bytes if raw (the id is 32 lowercase hex digits), else text; span id: 8 bytes or text;
 *                parent span id (if given): 8 bytes or text
 *     name       ref into the names table
 *     times      four signed: for a recorded span (bit 5 clear) its epoch's seconds and nanoseconds, its start
 *                in microseconds since the epoch and its duration in microseconds (span-time.ts); for an SDK
 *                span (bit 5 set) its start HrTime's seconds and nanoseconds, its end's seconds minus the
 *                start's, and its end's nanoseconds. Both convert back exactly as the span's own times do.
 *     message    (if given) text
 *     agent id   (if given: an SDK span whose resource names another agent than the ring's) ref, names table
 *     attributes per attribute a ref into the keys table, a tag byte (ValueTag) and the value; then a 0 byte
 *
 * A record fits in the space it is given exactly when its size is at most that space; one that does not
 * fit fails (the writer returns -1) and may have written up to `reach`; with `cut` > 0 every text is cut to at most `cut` bytes (at a character boundary) and attributes
 * that still do not fit are left out, which always fits when `cut` ≤ space / 32 and space ≥ MIN_RECORD_SPACE.
 */
import { type Attributes, type HrTime } from "@opentelemetry/api";
import type { ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { ATTR_AGENT_ID } from "../protocol/trace-context.js";
import type { InternTable } from "./span-record-intern.js";
import type { AttributeList, RecordedSpan } from "./recorded-span.js";

/** Bits of a record's first byte. */
export const enum RecordFlag {
  /** Mask of the wire SpanKind. */
  KIND = 0x07,
  /** Shift of the wire SpanStatusCode. */
  STATUS_SHIFT = 3,
  /** Mask of the wire SpanStatusCode, once shifted. */
  STATUS = 0x03,
  /** Times are two HrTimes (else an epoch and microsecond offsets). */
  NANOS = 0x20,
  /** An agent id follows the status message. */
  AGENT = 0x40,
  /** A status message follows the times. */
  MESSAGE = 0x80,
}

/** Bits of a record's second byte. */
export const enum IdFlag {
  /** The trace id is 16 raw bytes. */
  TRACE_RAW = 0x01,
  /** The span id is 8 raw bytes. */
  SPAN_RAW = 0x02,
  /** A parent span id follows. */
  PARENT = 0x04,
  /** The parent span id is 8 raw bytes. */
  PARENT_RAW = 0x08,
}

/** The tag byte of an attribute value. */
export const enum ValueTag {
  /** A string attribute: text. */
  STRING = 1,
  /** A safe-integer number: signed varint. */
  INT = 2,
  /** Any other number: 8 bytes, IEEE 754 little-endian. */
  DOUBLE = 3,
  /** The boolean true: no bytes. */
  TRUE = 4,
  /** The boolean false: no bytes. */
  FALSE = 5,
  /** An array (or any other value): its text as the wire shows it (JSON for arrays), as text. */
  TEXT = 6,
}

/** The least space a record is given when written with `cut` (every field then fits, cut). */
export const MIN_RECORD_SPACE = 1024;

/** The value of each lowercase hex digit by char code; -1 for other codes up to "f". */
const HEX = new Int8Array(103).fill(-1);
for (let i = 0; i < 10; i++) HEX[48 + i] = i;
for (let i = 0; i < 6; i++) HEX[97 + i] = 10 + i;

/** Writes span records into one buffer; see the file comment. */
export class SpanRecordWriter {
  /**
   * After a write: the end of the bytes it may have changed — the record's end, or the end of the space it was
   * given when it did not fit (bytes past the record's end are then no longer trusted).
   */
  reach = 0;
  private pos = 0;
  private limit = 0;
  private failed = false;
  private cut = 0;
  private readonly view: DataView;

  /** A writer into `buf`, numbering names and agent ids in `names` and attribute keys in `keys`. */
  constructor(
    private readonly buf: Buffer,
    private readonly names: InternTable,
    private readonly keys: InternTable,
  ) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  /** Writes recorded span `span` at `at`, within `end`, texts cut to `cut` bytes (0: not cut); its end, or -1. */
  writeRecorded(span: RecordedSpan, at: number, end: number, cut: number): number {
    this.begin(at, end, cut);
    const status = span.status;
    const message = status.message;
    const hasMessage = typeof message === "string" && message !== "";
    const parent = span.parentSpanContext;
    this.flags(span.kind, status.code, false, false, hasMessage);
    this.ids(span.traceId, span.spanId, parent === undefined ? "" : parent.spanId);
    this.ref(this.names, span.name);
    const epoch = span.epoch;
    this.signed(epoch.sec);
    this.signed(epoch.nanos);
    this.signed(span.startedAt);
    this.signed(span.endedAt - span.startedAt);
    if (hasMessage) this.text(message, 1, 0);
    this.attributeList(span.attributeList);
    return this.finish();
  }

  /** Writes SDK span `span` at `at` as writeRecorded does; `agentId` is the ring's (not written when the resource names it too). */
  writeReadable(span: ReadableSpan, agentId: string, at: number, end: number, cut: number): number {
    this.begin(at, end, cut);
    const status = span.status;
    const message = status.message;
    const hasMessage = typeof message === "string" && message !== "";
    const resourceAgent = span.resource?.attributes[ATTR_AGENT_ID];
    const agent = typeof resourceAgent === "string" && resourceAgent !== agentId ? resourceAgent : undefined;
    const sc = span.spanContext();
    this.flags(span.kind, status.code, true, agent !== undefined, hasMessage);
    this.ids(sc.traceId, sc.spanId, span.parentSpanContext?.spanId ?? "");
    this.ref(this.names, span.name);
    const start: HrTime = span.startTime;
    const finish: HrTime = span.endTime;
    this.signed(start[0]);
    this.signed(start[1]);
    this.signed(finish[0] - start[0]);
    this.signed(finish[1]);
    if (hasMessage) this.text(message, 1, 0);
    if (agent !== undefined) this.ref(this.names, agent);
    this.attributes(span.attributes);
    return this.finish();
  }

  private begin(at: number, end: number, cut: number): void {
    this.pos = at;
    this.reach = at;
    this.limit = end;
    this.cut = cut;
    this.failed = false;
  }

  private finish(): number {
    if (this.pos > this.reach) this.reach = this.pos;
    return this.failed ? -1 : this.pos;
  }

  /** Marks the record as not fitting; everything up to the limit counts as written (see `reach`). */
  private fail(): void {
    this.failed = true;
    if (this.limit > this.reach) this.reach = this.limit;
  }

  /** The first byte: kind and status as their wire values, and which optional fields follow. */
  private flags(kind: number, code: number, nanos: boolean, agent: boolean, message: boolean): void {
    if (this.pos + 2 > this.limit) return this.fail();
    // The API's kinds INTERNAL..CONSUMER (0..4) are the wire's 1..5; its status codes OK (1) and ERROR (2) the wire's.
    const wireKind = kind >= 0 && kind <= 4 ? kind + 1 : 0;
    const wireStatus = code === 1 || code === 2 ? code : 0;
    this.buf[this.pos] = wireKind | (wireStatus << RecordFlag.STATUS_SHIFT) | (nanos ? RecordFlag.NANOS : 0) | (agent ? RecordFlag.AGENT : 0) | (message ? RecordFlag.MESSAGE : 0);
    this.pos++;
  }

  /** The id flags byte, then the trace id, span id and parent span id (raw when lowercase hex, else text). */
  private ids(traceId: string, spanId: string, parentId: string): void {
    if (this.pos + 1 > this.limit) return this.fail();
    const flagsAt = this.pos;
    this.pos++;
    let flags = 0;
    if (this.hex(traceId, 16)) flags |= IdFlag.TRACE_RAW;
    else this.text(traceId, 1, 0);
    if (this.hex(spanId, 8)) flags |= IdFlag.SPAN_RAW;
    else this.text(spanId, 1, 0);
    if (parentId !== "") {
      flags |= IdFlag.PARENT;
      if (this.hex(parentId, 8)) flags |= IdFlag.PARENT_RAW;
      else this.text(parentId, 1, 0);
    }
    this.buf[flagsAt] = flags;
  }

  /** Writes `id` as `bytes` raw bytes if it is 2·`bytes` lowercase hex digits; false (nothing kept) otherwise. */
  private hex(id: string, bytes: number): boolean {
    if (id.length !== bytes * 2 || this.pos + bytes > this.limit) return false;
    const buf = this.buf;
    const at = this.pos;
    for (let i = 0; i < bytes; i++) {
      const hi = id.charCodeAt(2 * i);
      const lo = id.charCodeAt(2 * i + 1);
      if (hi > 102 || lo > 102) return false;
      const h = HEX[hi];
      const l = HEX[lo];
      if ((h | l) < 0) return false;
      buf[at + i] = (h << 4) | l;
    }
    this.pos = at + bytes;
    return true;
  }

  /** `value` as a ref into `table`: its number there, else inline text. */
  private ref(table: InternTable, value: string): void {
    const n = table.intern(value);
    if (n >= 0) this.unsigned(2 * (n + 1));
    else this.text(value, 2, 1);
  }

  /** Every attribute with a value, then the 0 byte; see the file comment for what `cut` changes. */
  private attributes(attributes: Attributes): void {
    if (this.failed) return;
    if (this.cut === 0) {
      for (const key in attributes) {
        const value = attributes[key];
        if (value !== undefined) this.attribute(key, value);
      }
    } else {
      const end = this.limit;
      this.limit = end - 1;
      for (const key in attributes) {
        const value = attributes[key];
        if (value === undefined) continue;
        const mark = this.pos;
        this.attribute(key, value);
        if (this.failed) {
          this.pos = mark;
          this.failed = false;
        }
      }
      this.limit = end;
    }
    if (this.pos + 1 > this.limit) return this.fail();
    this.buf[this.pos++] = 0;
  }

  /** As attributes(), from a flat key/value array (RecordedSpan.attributeList: key at even indices, its value next). */
  private attributeList(list: AttributeList): void {
    if (this.failed) return;
    const end = this.limit;
    if (this.cut !== 0) this.limit = end - 1;
    for (let i = 0; i < list.length; i += 2) {
      const mark = this.pos;
      this.attribute(list[i] as string, list[i + 1]);
      if (this.cut !== 0 && this.failed) {
        this.pos = mark;
        this.failed = false;
      }
    }
    this.limit = end;
    if (this.pos + 1 > this.limit) return this.fail();
    this.buf[this.pos++] = 0;
  }

  /** One attribute: key ref, tag, value. */
  private attribute(key: string, value: unknown): void {
    this.ref(this.keys, key);
    if (this.pos + 1 > this.limit) return this.fail();
    const buf = this.buf;
    switch (typeof value) {
      case "string":
        buf[this.pos++] = ValueTag.STRING;
        this.text(value, 1, 0);
        return;
      case "number":
        if (Number.isSafeInteger(value)) {
          buf[this.pos++] = ValueTag.INT;
          this.signed(value);
        } else {
          if (this.pos + 9 > this.limit) return this.fail();
          buf[this.pos++] = ValueTag.DOUBLE;
          this.view.setFloat64(this.pos, value, true);
          this.pos += 8;
        }
        return;
      case "boolean":
        buf[this.pos++] = value ? ValueTag.TRUE : ValueTag.FALSE;
        return;
      default:
        buf[this.pos++] = ValueTag.TEXT;
        this.text(Array.isArray(value) ? JSON.stringify(value) : String(value), 1, 0);
    }
  }

  /** `value` rounded to a safe integer (0 when not finite), zigzag-encoded, as a varint. */
  private signed(value: number): void {
    if (!Number.isSafeInteger(value)) value = Number.isFinite(value) ? Math.max(-Number.MAX_SAFE_INTEGER / 2, Math.min(Number.MAX_SAFE_INTEGER / 2, Math.round(value))) : 0;
    this.unsigned(value >= 0 ? value * 2 : -value * 2 - 1);
  }

  /** A non-negative safe integer as a varint. */
  private unsigned(value: number): void {
    if (value < 0x80 && this.pos < this.limit) {
      this.buf[this.pos++] = value;
      return;
    }
    if (this.pos + 8 > this.limit && this.pos + varintSize(value) > this.limit) return this.fail();
    const buf = this.buf;
    let pos = this.pos;
    while (value >= 0x80000000) {
      buf[pos++] = (value % 128) | 0x80;
      value = Math.floor(value / 128);
    }
    while (value > 0x7f) {
      buf[pos++] = (value & 0x7f) | 0x80;
      value >>>= 7;
    }
    buf[pos++] = value;
    this.pos = pos;
  }

  /**
   * `value` as UTF-8 text (cut as `cut` says) after the varint `mul`·bytes + `add` (1, 0 for plain text; 2, 1
   * for an inline ref). ASCII is copied here; other text is left to Buffer's UTF-8 writer.
   */
  private text(value: string, mul: number, add: number): void {
    const length = value.length;
    const chars = this.cut > 0 && length > this.cut ? this.cut : length;
    const head = chars * mul + add;
    const header = head < 0x80 ? 1 : varintSize(head);
    const at = this.pos + header;
    if (at + chars > this.limit) return this.fail();
    const buf = this.buf;
    for (let i = 0; i < chars; i++) {
      const c = value.charCodeAt(i);
      if (c > 0x7f) return this.utf8(value, mul, add);
      buf[at + i] = c;
    }
    if (header === 1) buf[this.pos] = head;
    else this.padded(head, header);
    this.pos = at + chars;
  }

  /** `value` as text (see text) through Buffer's UTF-8 writer: whole characters only, up to `cut` bytes. */
  private utf8(value: string, mul: number, add: number): void {
    const total = Buffer.byteLength(value, "utf8");
    const bytes = this.cut > 0 && total > this.cut ? this.cut : total;
    const header = varintSize(bytes * mul + add);
    if (this.pos + header + bytes > this.limit) return this.fail();
    const written = bytes === 0 ? 0 : this.buf.write(value, this.pos + header, bytes, "utf8");
    this.padded(written * mul + add, header);
    this.pos += header + written;
  }

  /** `value` as a varint of exactly `size` bytes at pos (continuation bits pad it); pos is not moved. */
  private padded(value: number, size: number): void {
    const buf = this.buf;
    const at = this.pos;
    for (let i = 0; i < size - 1; i++) {
      buf[at + i] = (value % 128) | 0x80;
      value = Math.floor(value / 128);
    }
    buf[at + size - 1] = value;
  }
}

/** Bytes of `value` (a non-negative safe integer) as a varint. */
export function varintSize(value: number): number {
  if (value < 0x80) return 1;
  if (value < 0x4000) return 2;
  if (value < 0x200000) return 3;
  let size = 3;
  for (let v = Math.floor(value / 0x200000); v > 0; v = Math.floor(v / 128)) size++;
  return size;
}
