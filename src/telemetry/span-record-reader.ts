/**
 * Reading the span ring's records (layout in span-record.ts): whether a record matches a query's trace id and
 * correlation id, compared as bytes without making strings, and the wire Span of a record that does, with the
 * events and links of its tail. Runs only when the ring is queried.
 */
import { create } from "@bufbuild/protobuf";
import { SpanEventSchema, SpanLinkSchema, SpanSchema, type Span, type SpanEvent, type SpanKind, type SpanLink, type SpanStatusCode } from "../../gen/agentmesh/v1/trace_pb.js";
import { ATTR_CORRELATION_ID } from "../protocol/trace-context.js";
import type { InternTable } from "./span-record-intern.js";
import { IdFlag, LinkFlag, RecordFlag, unzigzag, ValueTag } from "./span-record.js";
import { toUnixNanos } from "./span-time.js";

/** A query's filters as the bytes records hold; made by SpanRecordReader.prepare. */
export interface RecordFilter {
  /** The trace id's 16 bytes when it is 32 lowercase hex digits (raw ids can only equal those). */
  readonly traceRaw: Buffer | undefined;
  /** The trace id's UTF-8 bytes, when a trace id is asked for. */
  readonly traceText: Buffer | undefined;
  /** The correlation id's UTF-8 bytes, when one is asked for. */
  readonly correlation: Buffer | undefined;
}

const CORRELATION_KEY = Buffer.from(ATTR_CORRELATION_ID, "utf8");

/** Reads span records out of one buffer; see the file comment. */
export class SpanRecordReader {
  private pos = 0;

  /** A reader of records in `buf` written with intern tables `names` and `keys`. */
  constructor(
    private readonly buf: Buffer,
    private readonly names: InternTable,
    private readonly keys: InternTable,
  ) {}

  /** The filter selecting spans of `traceId` and with correlation id `correlationId` (each when given and not empty). */
  prepare(traceId: string | undefined, correlationId: string | undefined): RecordFilter {
    const trace = traceId === undefined || traceId === "" ? undefined : traceId;
    return {
      traceRaw: trace !== undefined && /^[0-9a-f]{32}$/.test(trace) ? Buffer.from(trace, "hex") : undefined,
      traceText: trace === undefined ? undefined : Buffer.from(trace, "utf8"),
      correlation: correlationId === undefined || correlationId === "" ? undefined : Buffer.from(correlationId, "utf8"),
    };
  }

  /** True when the record at `at` has the filter's trace id and a string agentmesh.correlation_id equal to its correlation id. */
  matches(at: number, filter: RecordFilter): boolean {
    const buf = this.buf;
    const flags = buf[at];
    const ids = buf[at + 1];
    this.pos = at + 3;
    this.unsigned(); // scope
    if (filter.traceText !== undefined) {
      if ((ids & IdFlag.TRACE_RAW) !== 0) {
        if (filter.traceRaw === undefined || !this.equals(this.pos, 16, filter.traceRaw)) return false;
        this.pos += 16;
      } else {
        const length = this.unsigned();
        if (!this.equals(this.pos, length, filter.traceText)) return false;
        this.pos += length;
      }
    } else this.skipId((ids & IdFlag.TRACE_RAW) !== 0, 16);
    if (filter.correlation === undefined) return true;
    this.skipId((ids & IdFlag.SPAN_RAW) !== 0, 8);
    if ((ids & IdFlag.TRACE_STATE) !== 0) this.skipText();
    if ((ids & IdFlag.PARENT) !== 0) this.skipId((ids & IdFlag.PARENT_RAW) !== 0, 8);
    this.skipRef();
    this.pos += 12;
    this.unsigned();
    this.unsigned();
    if ((flags & RecordFlag.MESSAGE) !== 0) this.skipText();
    if ((flags & RecordFlag.AGENT) !== 0) this.skipRef();
    const interned = this.keys.find(ATTR_CORRELATION_ID);
    for (;;) {
      const ref = this.unsigned();
      if (ref === 0) return false;
      let isCorrelation: boolean;
      if ((ref & 1) === 0) isCorrelation = ref / 2 - 1 === interned;
      else {
        const length = (ref - 1) / 2;
        isCorrelation = this.equals(this.pos, length, CORRELATION_KEY);
        this.pos += length;
      }
      const tag = buf[this.pos++];
      if (isCorrelation) {
        if (tag !== ValueTag.STRING) return false;
        const length = this.unsigned();
        return this.equals(this.pos, length, filter.correlation);
      }
      this.skipValue(tag);
    }
  }

  /** The record at `at` as the wire's Span; `agentId` is the ring's (the agent unless the record names one). */
  decode(at: number, agentId: string): Span {
    const buf = this.buf;
    const flags = buf[at];
    const ids = buf[at + 1];
    this.pos = at + 3;
    this.unsigned(); // scope
    const traceId = this.id((ids & IdFlag.TRACE_RAW) !== 0, 16);
    const spanId = this.id((ids & IdFlag.SPAN_RAW) !== 0, 8);
    if ((ids & IdFlag.TRACE_STATE) !== 0) this.skipText();
    const parentSpanId = (ids & IdFlag.PARENT) !== 0 ? this.id((ids & IdFlag.PARENT_RAW) !== 0, 8) : "";
    const name = this.ref(this.names);
    const a = buf.readDoubleLE(this.pos);
    const b = buf.readUInt32LE(this.pos + 8);
    this.pos += 12;
    const c = this.signed();
    const d = this.signed();
    let startUnixNanos: bigint;
    let endUnixNanos: bigint;
    if ((flags & RecordFlag.NANOS) !== 0) {
      // Start [a, b] and end [a + c, d] as HrTimes.
      startUnixNanos = BigInt(a) * 1_000_000_000n + BigInt(b);
      endUnixNanos = BigInt(a + c) * 1_000_000_000n + BigInt(d);
    } else {
      // Epoch [a, b], start c µs after it, lasting d µs: as toUnixNanos converts (a shortcut while exact as a double).
      startUnixNanos = unixNanos(a, b, c);
      endUnixNanos = unixNanos(a, b, c + d);
    }
    const statusMessage = (flags & RecordFlag.MESSAGE) !== 0 ? this.text(this.unsigned()) : "";
    const agent = (flags & RecordFlag.AGENT) !== 0 ? this.ref(this.names) : agentId;
    const attributes = this.attributes();
    const events: SpanEvent[] = [];
    const links: SpanLink[] = [];
    if ((ids & IdFlag.TAIL) !== 0) {
      this.unsigned(); // dropped attributes
      for (let n = this.unsigned(); n > 0; n--) {
        const eventName = this.ref(this.names);
        const at = this.signed();
        this.unsigned(); // dropped attributes
        // Only recorded spans have a tail: the event's time counts from the span's epoch [a, b].
        events.push(create(SpanEventSchema, { name: eventName, timeUnixNanos: unixNanos(a, b, at), attributes: this.attributes() }));
      }
      this.unsigned(); // dropped events
      for (let n = this.unsigned(); n > 0; n--) {
        const linkFlags = buf[this.pos];
        this.pos += 2; // its flags, then the linked context's trace flags
        const linkTrace = this.id((linkFlags & LinkFlag.TRACE_RAW) !== 0, 16);
        const linkSpan = this.id((linkFlags & LinkFlag.SPAN_RAW) !== 0, 8);
        this.skipText(); // trace state
        this.unsigned(); // dropped attributes
        links.push(create(SpanLinkSchema, { traceId: linkTrace, spanId: linkSpan, attributes: this.attributes() }));
      }
    }
    return create(SpanSchema, {
      traceId,
      spanId,
      parentSpanId,
      name,
      agentId: agent,
      startUnixNanos,
      endUnixNanos,
      statusCode: ((flags >> RecordFlag.STATUS_SHIFT) & RecordFlag.STATUS) as SpanStatusCode,
      statusMessage,
      attributes,
      kind: (flags & RecordFlag.KIND) as SpanKind,
      events,
      links,
    });
  }

  /** Attributes up to their end (the 0 byte), values as the wire's text. */
  private attributes(): Record<string, string> {
    const attributes: Record<string, string> = {};
    for (;;) {
      const ref = this.unsigned();
      if (ref === 0) return attributes;
      const key = this.refOf(ref, this.keys);
      attributes[key] = this.value(this.buf[this.pos++]);
    }
  }

  /** An attribute value of tag `tag` as the wire's text (as the OpenTelemetry value would print; arrays as JSON). */
  private value(tag: number): string {
    switch (tag) {
      case ValueTag.STRING:
      case ValueTag.TEXT:
        return this.text(this.unsigned());
      case ValueTag.ARRAY: {
        const values: unknown[] = [];
        for (let n = this.unsigned(); n > 0; n--) values.push(this.scalar(this.buf[this.pos++]));
        return JSON.stringify(values);
      }
      default:
        return String(this.scalar(tag));
    }
  }

  /** A scalar value (or an array's hole: null) of tag `tag`. */
  private scalar(tag: number): string | number | boolean | null {
    switch (tag) {
      case ValueTag.STRING:
        return this.text(this.unsigned());
      case ValueTag.INT:
        return this.signed();
      case ValueTag.DOUBLE:
      case ValueTag.INT64: {
        const v = this.buf.readDoubleLE(this.pos);
        this.pos += 8;
        return v;
      }
      case ValueTag.TRUE:
        return true;
      case ValueTag.FALSE:
        return false;
      case ValueTag.NONE:
        return null;
      default:
        throw new Error(`span record: unknown value tag ${tag}`);
    }
  }

  private skipValue(tag: number): void {
    if (tag === ValueTag.STRING || tag === ValueTag.TEXT) this.skipText();
    else if (tag === ValueTag.INT) this.unsigned();
    else if (tag === ValueTag.DOUBLE || tag === ValueTag.INT64) this.pos += 8;
    else if (tag === ValueTag.ARRAY) for (let n = this.unsigned(); n > 0; n--) this.skipValue(this.buf[this.pos++]);
  }

  private id(raw: boolean, bytes: number): string {
    if (!raw) return this.text(this.unsigned());
    const id = this.buf.toString("hex", this.pos, this.pos + bytes);
    this.pos += bytes;
    return id;
  }

  private skipId(raw: boolean, bytes: number): void {
    if (raw) this.pos += bytes;
    else this.skipText();
  }

  private ref(table: InternTable): string {
    return this.refOf(this.unsigned(), table);
  }

  private refOf(ref: number, table: InternTable): string {
    return (ref & 1) === 0 ? table.text(ref / 2 - 1) : this.text((ref - 1) / 2);
  }

  private skipRef(): void {
    const ref = this.unsigned();
    if ((ref & 1) === 1) this.pos += (ref - 1) / 2;
  }

  private skipText(): void {
    const bytes = this.unsigned();
    this.pos += bytes;
  }

  private text(bytes: number): string {
    const text = this.buf.toString("utf8", this.pos, this.pos + bytes);
    this.pos += bytes;
    return text;
  }

  private equals(at: number, length: number, bytes: Buffer): boolean {
    if (length !== bytes.length) return false;
    const buf = this.buf;
    for (let i = 0; i < length; i++) if (buf[at + i] !== bytes[i]) return false;
    return true;
  }

  private signed(): number {
    return unzigzag(this.unsigned());
  }

  private unsigned(): number {
    const buf = this.buf;
    let value = 0;
    let scale = 1;
    let byte: number;
    do {
      byte = buf[this.pos++];
      value += (byte & 0x7f) * scale;
      scale *= 128;
    } while ((byte & 0x80) !== 0);
    return value;
  }
}

/** `us` microseconds after epoch `sec`.`nanos` as nanoseconds since the Unix epoch, exactly as toUnixNanos gives them. */
function unixNanos(sec: number, nanos: number, us: number): bigint {
  const total = nanos + us * 1000;
  return Number.isSafeInteger(total) ? BigInt(sec) * 1_000_000_000n + BigInt(total) : toUnixNanos({ sec, nanos, base: 0 }, us);
}
