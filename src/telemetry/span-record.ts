/**
 * The span ring's record of one finished span: the fields of the wire Span (trace_pb.ts) and, for a recorded
 * span, everything else OTLP carries (trace flags, trace state, scope, events, links, dropped counts), as bytes
 * in a buffer the ring allocated once, so the ring holds no object of the span and the span dies young. The
 * ring's queries read records back (span-record-reader.ts); the OTLP/protobuf export transcodes them
 * (otlp-records.ts). Writing a record allocates nothing in the common case: ids are parsed from hex into raw
 * bytes, ASCII text is copied a char code at a time, names and attribute keys are numbers in bounded intern
 * tables (span-record-intern.ts). Non-ASCII text goes through Buffer's UTF-8 writer.
 *
 * Layout (integers are LEB128 varints, "signed" ones of magnitude below 2^52 and zigzag-encoded first; "text" is
 * a varint byte count and that many bytes of UTF-8; a "ref" is 2·(n+1) for entry n of an intern table, or
 * 2·(bytes)+1 and inline text):
 *
 *     flags      1 byte: wire SpanKind (bits 0–2), wire SpanStatusCode (bits 3–4), times as HrTimes (bit 5;
 *                else epoch and microseconds), agent id given (bit 6), status message given (bit 7)
 *     id flags   1 byte: IdFlag (raw ids, parent given, parent remote, trace state given, a tail follows)
 *     trace flags 1 byte: the span context's W3C trace flags
 *     scope      varint: 0, or n+1 for entry n of the ring's scope table (a recorded span queued for export)
 *     trace id   16 bytes if raw (the id is 32 lowercase hex digits), else text; span id: 8 bytes or text;
 *                trace state (if given) text; parent span id (if given): 8 bytes or text
 *     name       ref into the names table
 *     times      seconds (8 bytes, IEEE 754 little-endian), nanoseconds (4 bytes, little-endian) and two
 *                signed: for a recorded span (bit 5 clear) its epoch's seconds and nanoseconds, its start in
 *                microseconds since the epoch and its duration in microseconds (span-time.ts); for an SDK span
 *                (bit 5 set) its start HrTime's seconds and nanoseconds, its end's seconds minus the start's,
 *                and its end's nanoseconds. Both convert back exactly as the span's own times do.
 *     message    (if given) text
 *     agent id   (if given: an SDK span whose resource names another agent than the ring's) ref, names table
 *     attributes per attribute a ref into the keys table, a tag byte (ValueTag) and the value; then a 0 byte
 *     tail       (if given: a recorded span with events, links or dropped counts, not cut) dropped
 *                attributes; events: a count, each a name ref (names table), signed time (µs since the span's
 *                epoch), dropped attributes and attributes as above; dropped events; links: a count, each a
 *                LinkFlag byte, trace flags, trace id, span id (raw or text as above), trace state (empty:
 *                none), dropped attributes and attributes; dropped links
 *
 * A record fits in the space it is given exactly when its size is at most that space; one that does not fit
 * fails (the writer returns -1) and may have written up to `reach`. With `cut` > 0 every text is cut to at
 * most `cut` bytes (at a character boundary), attributes that still do not fit are left out and no tail is
 * written, which always fits when `cut` ≤ space / 32 and space ≥ MIN_RECORD_SPACE. After a write `exact` says
 * whether the record holds the span as OTLP has it (a scope and its tail written, nothing cut, every id raw,
 * every value of an OTLP type, every number in range): only exact records are exported from their bytes.
 */
import { type Attributes, type HrTime, type Link } from "@opentelemetry/api";
import type { ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { ATTR_AGENT_ID } from "../protocol/trace-context.js";
import type { InternTable } from "./span-record-intern.js";
import { IdWords, type AttributeList, type RecordedEvent, type RecordedSpan } from "./recorded-span.js";

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
  /** The parent is remote. */
  PARENT_REMOTE = 0x10,
  /** A trace state follows the span id. */
  TRACE_STATE = 0x20,
  /** The tail (dropped counts, events, links) follows the attributes. */
  TAIL = 0x40,
}

/** Bits of a link's first byte. */
export const enum LinkFlag {
  /** The trace id is 16 raw bytes. */
  TRACE_RAW = 0x01,
  /** The span id is 8 raw bytes. */
  SPAN_RAW = 0x02,
  /** The linked context is remote. */
  REMOTE = 0x04,
}

/** The tag byte of an attribute value. */
export const enum ValueTag {
  /** A string: text. */
  STRING = 1,
  /** An integer of magnitude below 2^52 (its zigzag encoding is then exact): signed varint. */
  INT = 2,
  /** Any other number that is not an integer of int64's range: 8 bytes, IEEE 754 little-endian. */
  DOUBLE = 3,
  /** The boolean true: no bytes. */
  TRUE = 4,
  /** The boolean false: no bytes. */
  FALSE = 5,
  /** Any other value: its text as the wire shows it (JSON for arrays), as text. Not exact. */
  TEXT = 6,
  /** Any other integer of int64's range: 8 bytes, IEEE 754 little-endian. */
  INT64 = 7,
  /** An array of strings, numbers, booleans and holes: a count, then each element's tag and value. */
  ARRAY = 8,
  /** No value (null, or an array's hole): no bytes. */
  NONE = 9,
}

/** The least space a record is given when written with `cut` (every field then fits, cut). */
export const MIN_RECORD_SPACE = 1024;

/** Signed varints hold integers of magnitude below this (their zigzag encoding, below 2^53, stays exact). */
const SIGNED_LIMIT = 2 ** 52;
/** Integers from -INT64_LIMIT to below it are OTLP ints. */
const INT64_LIMIT = 2 ** 63;

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
  /** After a write: the record holds the span as OTLP has it (see the file comment). */
  exact = true;
  private pos = 0;
  private limit = 0;
  private failed = false;
  private cut = 0;
  private readonly view: DataView;

  /** A writer into `buf`, numbering names, event names and agent ids in `names` and attribute keys in `keys`. */
  constructor(
    private readonly buf: Buffer,
    private readonly names: InternTable,
    private readonly keys: InternTable,
  ) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  /**
   * Writes recorded span `span` at `at`, within `end`, texts cut to `cut` bytes (0: not cut), with scope ref
   * `scope` (0: none, and the record is then not exact); its end, or -1. The tail (events, links, dropped counts)
   * is written whenever the span has one and nothing is cut: export transcodes it, and the ring's queries read
   * its events and links.
   */
  writeRecorded(span: RecordedSpan, at: number, end: number, cut: number, scope = 0): number {
    this.begin(at, end, cut);
    const status = span.status;
    const message = status.message;
    const hasMessage = typeof message === "string" && message !== "";
    const sc = span.spanContext();
    const parent = span.parentSpanContext;
    const traceState = sc.traceState?.serialize() ?? "";
    const events = span.events;
    const links = span.links;
    const droppedAttributes = span.droppedAttributesCount;
    const droppedEvents = span.droppedEventsCount;
    const droppedLinks = span.droppedLinksCount;
    const tail = cut === 0 && (events.length > 0 || links.length > 0 || droppedAttributes > 0 || droppedEvents > 0 || droppedLinks > 0);
    if (scope === 0 || status.code < 0 || status.code > 2 || span.kind < 0 || span.kind > 4 || parent?.spanId === "") this.exact = false;
    this.flags(span.kind, status.code, false, false, hasMessage);
    this.ids(sc.traceId, sc.spanId, sc.traceFlags, scope, traceState, parent === undefined ? "" : parent.spanId, parent?.isRemote === true, tail, span);
    this.ref(this.names, span.name);
    const epoch = span.epoch;
    this.time(epoch.sec, epoch.nanos);
    this.signed(span.startedAt);
    this.signed(span.endedAt - span.startedAt);
    if (hasMessage) this.text(message, 1, 0);
    this.attributeList(span.attributeList); // the span's attributes are read here only
    if (tail) {
      this.unsigned(droppedAttributes);
      this.events(events);
      this.unsigned(droppedEvents);
      this.links(links);
      this.unsigned(droppedLinks);
    }
    return this.finish();
  }

  /** Writes SDK span `span` at `at` as writeRecorded does (no scope, no tail); `agentId` is the ring's (not written when the resource names it too). */
  writeReadable(span: ReadableSpan, agentId: string, at: number, end: number, cut: number): number {
    this.begin(at, end, cut);
    const status = span.status;
    const message = status.message;
    const hasMessage = typeof message === "string" && message !== "";
    const resourceAgent = span.resource?.attributes[ATTR_AGENT_ID];
    const agent = typeof resourceAgent === "string" && resourceAgent !== agentId ? resourceAgent : undefined;
    const sc = span.spanContext();
    const parent = span.parentSpanContext;
    this.flags(span.kind, status.code, true, agent !== undefined, hasMessage);
    this.ids(sc.traceId, sc.spanId, sc.traceFlags, 0, "", parent?.spanId ?? "", parent?.isRemote === true, false);
    this.ref(this.names, span.name);
    const start: HrTime = span.startTime;
    const finish: HrTime = span.endTime;
    this.time(start[0], start[1]);
    this.signed(finish[0] - start[0]);
    this.signed(finish[1]);
    if (hasMessage) this.text(message, 1, 0);
    if (agent !== undefined) this.ref(this.names, agent);
    this.attributes(span.attributes);
    this.exact = false; // an SDK span: not exported from its record
    return this.finish();
  }

  private begin(at: number, end: number, cut: number): void {
    this.pos = at;
    this.reach = at;
    this.limit = end;
    this.cut = cut;
    this.failed = false;
    this.exact = cut === 0;
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

  /** Seconds and nanoseconds, fixed-width (an epoch's seconds need 5 bytes as a varint, and are slower to write). */
  private time(sec: number, nanos: number): void {
    if (this.pos + 12 > this.limit) return this.fail();
    if (!Number.isSafeInteger(sec) || !(Number.isInteger(nanos) && nanos >= 0 && nanos <= 0xffffffff)) {
      this.exact = false;
      if (!Number.isFinite(sec)) sec = 0;
      nanos = Number.isFinite(nanos) ? Math.max(0, Math.min(0xffffffff, Math.round(nanos))) : 0;
    }
    this.view.setFloat64(this.pos, sec, true);
    this.view.setUint32(this.pos + 8, nanos, true);
    this.pos += 12;
  }

  /** The first byte: kind and status as their wire values, and which optional fields follow. */
  private flags(kind: number, code: number, nanos: boolean, agent: boolean, message: boolean): void {
    if (this.pos + 3 > this.limit) return this.fail();
    // The API's kinds INTERNAL..CONSUMER (0..4) are the wire's 1..5; its status codes OK (1) and ERROR (2) the wire's.
    const wireKind = kind >= 0 && kind <= 4 ? kind + 1 : 0;
    const wireStatus = code === 1 || code === 2 ? code : 0;
    this.buf[this.pos] = wireKind | (wireStatus << RecordFlag.STATUS_SHIFT) | (nanos ? RecordFlag.NANOS : 0) | (agent ? RecordFlag.AGENT : 0) | (message ? RecordFlag.MESSAGE : 0);
    this.pos++;
  }

  /**
   * The id flags byte, trace flags, scope ref, then the trace id, span id, trace state (if not empty) and parent
   * span id (if not empty); ids raw when lowercase hex, else text. The ids a recorded span holds as words
   * (`words`: RecordedSpan.idWords) are written from them, the same bytes without parsing hex.
   */
  private ids(traceId: string, spanId: string, traceFlags: number, scope: number, traceState: string, parentId: string, parentRemote: boolean, tail: boolean, words?: RecordedSpan): void {
    if (this.pos + 3 > this.limit) return this.fail();
    const flagsAt = this.pos;
    this.buf[flagsAt + 1] = traceFlags & 0xff;
    this.pos += 2;
    this.unsigned(scope);
    const known = words === undefined ? 0 : words.idWords;
    let flags = tail ? IdFlag.TAIL : 0;
    if ((known & IdWords.TRACE) !== 0 ? this.words(words!.traceW0, words!.traceW1, words!.traceW2, words!.traceW3, 16) : this.hex(traceId, 16)) flags |= IdFlag.TRACE_RAW;
    else this.inexactText(traceId);
    if ((known & IdWords.SPAN) !== 0 ? this.words(words!.spanW0, words!.spanW1, 0, 0, 8) : this.hex(spanId, 8)) flags |= IdFlag.SPAN_RAW;
    else this.inexactText(spanId);
    if (traceState !== "") {
      flags |= IdFlag.TRACE_STATE;
      this.text(traceState, 1, 0);
    }
    if (parentId !== "") {
      flags |= IdFlag.PARENT;
      if (parentRemote) flags |= IdFlag.PARENT_REMOTE;
      if ((known & IdWords.PARENT) !== 0 ? this.words(words!.parentW0, words!.parentW1, 0, 0, 8) : this.hex(parentId, 8)) flags |= IdFlag.PARENT_RAW;
      else this.inexactText(parentId);
    }
    this.buf[flagsAt] = flags;
  }

  /** Writes an id of `bytes` bytes (8 or 16) from its big-endian 32-bit words; false when it does not fit. */
  private words(w0: number, w1: number, w2: number, w3: number, bytes: number): boolean {
    const at = this.pos;
    if (at + bytes > this.limit) return false;
    const view = this.view;
    view.setInt32(at, w0);
    view.setInt32(at + 4, w1);
    if (bytes === 16) {
      view.setInt32(at + 8, w2);
      view.setInt32(at + 12, w3);
    }
    this.pos = at + bytes;
    return true;
  }

  /** An id that is not lowercase hex, as text (OTLP has its bytes: not exact). */
  private inexactText(id: string): void {
    this.exact = false;
    this.text(id, 1, 0);
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

  /**
   * Every attribute with a value, then the 0 byte; see the file comment for what `cut` changes. The one loop
   * over attributes (a span's, an event's, a link's).
   */
  private attributes(attributes: Attributes | undefined): void {
    if (this.failed) return;
    if (attributes === undefined) {
      // nothing but the end
    } else if (this.cut === 0) {
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

  /** Events: their count, then each one's name, time, dropped attributes and attributes. */
  private events(events: readonly RecordedEvent[]): void {
    this.unsigned(events.length);
    for (let i = 0; i < events.length && !this.failed; i++) {
      const event = events[i];
      this.ref(this.names, event.name);
      this.signed(event.at);
      this.unsigned(event.droppedAttributesCount ?? 0);
      this.attributes(event.attributes);
    }
  }

  /** Links: their count, then each one's flags, ids, trace state, dropped attributes and attributes. */
  private links(links: readonly Link[]): void {
    this.unsigned(links.length);
    for (let i = 0; i < links.length && !this.failed; i++) {
      const link = links[i];
      const c = link.context;
      if (this.pos + 2 > this.limit) return this.fail();
      const flagsAt = this.pos;
      this.buf[flagsAt + 1] = c.traceFlags & 0xff;
      this.pos += 2;
      let flags = c.isRemote === true ? LinkFlag.REMOTE : 0;
      if (this.hex(c.traceId, 16)) flags |= LinkFlag.TRACE_RAW;
      else this.inexactText(c.traceId);
      if (this.hex(c.spanId, 8)) flags |= LinkFlag.SPAN_RAW;
      else this.inexactText(c.spanId);
      this.buf[flagsAt] = flags;
      this.text(c.traceState?.serialize() ?? "", 1, 0);
      this.unsigned(link.droppedAttributesCount ?? 0);
      this.attributes(link.attributes);
    }
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
    if (Array.isArray(value)) this.array(value);
    else this.value(value, false);
  }

  /** A value's tag and bytes; in an array (`element`) null and undefined are holes, anything but a scalar is refused (false). */
  private value(value: unknown, element: boolean): boolean {
    if (this.pos + 1 > this.limit) {
      this.fail();
      return true;
    }
    const buf = this.buf;
    switch (typeof value) {
      case "string":
        buf[this.pos++] = ValueTag.STRING;
        this.text(value, 1, 0);
        return true;
      case "number":
        if (Number.isInteger(value) && value < SIGNED_LIMIT && value > -SIGNED_LIMIT) {
          buf[this.pos++] = ValueTag.INT;
          this.signed(value);
        } else {
          if (this.pos + 9 > this.limit) {
            this.fail();
            return true;
          }
          // OTLP has integers of int64's range as ints, other numbers as doubles (as otlp-proto.ts writes them).
          buf[this.pos++] = Number.isInteger(value) && value >= -INT64_LIMIT && value < INT64_LIMIT ? ValueTag.INT64 : ValueTag.DOUBLE;
          this.view.setFloat64(this.pos, value, true);
          this.pos += 8;
        }
        return true;
      case "boolean":
        buf[this.pos++] = value ? ValueTag.TRUE : ValueTag.FALSE;
        return true;
      default:
        if (value === null || (element && value === undefined)) {
          buf[this.pos++] = ValueTag.NONE;
          return true;
        }
        if (element) return false;
        this.exact = false;
        buf[this.pos++] = ValueTag.TEXT;
        this.text(String(value), 1, 0);
        return true;
    }
  }

  /** An array: ARRAY, its length and its elements; TEXT (its JSON) when an element is not a scalar or a hole. */
  private array(value: unknown[]): void {
    const mark = this.pos;
    if (this.pos + 1 > this.limit) return this.fail();
    this.buf[this.pos++] = ValueTag.ARRAY;
    this.unsigned(value.length);
    for (let i = 0; i < value.length; i++) {
      if (this.value(value[i], true)) continue;
      this.pos = mark;
      this.exact = false;
      this.buf[this.pos++] = ValueTag.TEXT;
      this.text(JSON.stringify(value), 1, 0);
      return;
    }
  }

  /**
   * `value` zigzag-encoded, as a varint: an integer of magnitude below SIGNED_LIMIT; anything else rounded
   * into that range (0 when not finite), and the record is then not exact.
   */
  private signed(value: number): void {
    if (!(Number.isInteger(value) && value < SIGNED_LIMIT && value > -SIGNED_LIMIT)) {
      this.exact = false;
      value = Number.isFinite(value) ? Math.max(1 - SIGNED_LIMIT, Math.min(SIGNED_LIMIT - 1, Math.round(value))) : 0;
    }
    this.unsigned(value >= 0 ? value * 2 : -value * 2 - 1);
  }

  /** A non-negative safe integer as a varint. */
  private unsigned(value: number): void {
    if (value < 0x80 && this.pos < this.limit) {
      this.buf[this.pos++] = value;
      return;
    }
    if (this.pos + 8 > this.limit && this.pos + varintSize(value) > this.limit) return this.fail();
    this.pos = putVarint(this.buf, this.pos, value);
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
      const next = Math.floor(value / 128);
      buf[at + i] = (value - next * 128) | 0x80;
      value = next;
    }
    buf[at + size - 1] = value;
  }
}

/** Writes `value` (a non-negative safe integer) as a varint into `buf` at `pos`; returns the position after it. */
export function putVarint(buf: Uint8Array, pos: number, value: number): number {
  while (value >= 0x80000000) {
    // No `%`: on a double it is a slow call.
    const next = Math.floor(value / 128);
    buf[pos++] = (value - next * 128) | 0x80;
    value = next;
  }
  while (value > 0x7f) {
    buf[pos++] = (value & 0x7f) | 0x80;
    value >>>= 7;
  }
  buf[pos++] = value;
  return pos;
}

/** The signed integer a zigzag-encoded varint `v` (a non-negative safe integer) holds. */
export function unzigzag(v: number): number {
  if (v < 0x80000000) return (v >>> 1) ^ -(v & 1);
  // Beyond 31 bits as doubles (no `%`: on a double it is a slow call).
  const half = Math.floor(v / 2);
  return v === half * 2 ? half : -half - 1;
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
