/**
 * OTLP/protobuf encoding: an ExportTraceServiceRequest (opentelemetry-proto's collector/trace/v1, as the
 * OTLP/HTTP exporter sends it with `application/x-protobuf`) written straight from recorded spans into a
 * ProtoWriter of the request's own (protocol/proto-writer.ts; the request is a view of its slab), in one
 * pass: hex ids decoded into bytes in place, times converted from the span's epoch (span-time.ts) to fixed64
 * nanoseconds exactly without BigInt, fields in number order, default values left out, attribute keys
 * encoded once (cached) and copied. A nested message reserves room for the varint of its length that its
 * usual size needs (a span: two bytes) and moves its bytes only when the guess was wrong. About half the bytes of OTLP/JSON for the same spans; the messages the
 * SDK's serializer makes, at a third of its cost. The request's layout (encodeGroups), the span writer and the
 * field tags are shared with otlp-records.ts, which writes the same bytes from the span ring's records; this
 * object path encodes spans given to an exporter and those whose records are not exact.
 */
import type { Attributes, AttributeValue, Link } from "@opentelemetry/api";
import { ProtoWriter, varintSize } from "../protocol/proto-writer.js";
import { groupSpans, type Groups } from "./otlp-groups.js";
import type { RecordedEvent, RecordedSpan } from "./recorded-span.js";
import type { Epoch } from "./span-time.js";

/** Tags of OTLP/protobuf fields as the byte written before the field ((number << 3) | wire type), and span flags. */
export const enum Tag {
  /** Length-delimited field 1. */
  LEN1 = 0x0a,
  /** Length-delimited field 2. */
  LEN2 = 0x12,
  /** Length-delimited field 3. */
  LEN3 = 0x1a,
  /** Length-delimited field 4. */
  LEN4 = 0x22,
  /** Length-delimited field 5. */
  LEN5 = 0x2a,
  /** Span.kind (6, varint). */
  SPAN_KIND = 0x30,
  /** Span.start_time_unix_nano (7, fixed64). */
  SPAN_START = 0x39,
  /** Span.end_time_unix_nano (8, fixed64). */
  SPAN_END = 0x41,
  /** Span.attributes (9). */
  SPAN_ATTRIBUTES = 0x4a,
  /** Span.dropped_attributes_count (10, varint). */
  SPAN_DROPPED_ATTRIBUTES = 0x50,
  /** Span.events (11). */
  SPAN_EVENTS = 0x5a,
  /** Span.dropped_events_count (12, varint). */
  SPAN_DROPPED_EVENTS = 0x60,
  /** Span.links (13). */
  SPAN_LINKS = 0x6a,
  /** Span.dropped_links_count (14, varint). */
  SPAN_DROPPED_LINKS = 0x70,
  /** Span.status (15). */
  SPAN_STATUS = 0x7a,
  /** Span.flags (16, fixed32): the first byte of a two-byte tag, 0x85 0x01. */
  SPAN_FLAGS = 0x85,
  /** Event.time_unix_nano (1, fixed64). */
  EVENT_TIME = 0x09,
  /** Event.dropped_attributes_count (4, varint). */
  EVENT_DROPPED_ATTRIBUTES = 0x20,
  /** Link.dropped_attributes_count (5, varint). */
  LINK_DROPPED_ATTRIBUTES = 0x28,
  /** Link.flags (6, fixed32). */
  LINK_FLAGS = 0x35,
  /** Status.code (3, varint). */
  STATUS_CODE = 0x18,
  /** AnyValue.string_value (1). */
  ANY_STRING = 0x0a,
  /** AnyValue.bool_value (2, varint). */
  ANY_BOOL = 0x10,
  /** AnyValue.int_value (3, varint). */
  ANY_INT = 0x18,
  /** AnyValue.double_value (4, fixed64). */
  ANY_DOUBLE = 0x21,
  /** AnyValue.array_value (5). */
  ANY_ARRAY = 0x2a,
  /** OTLP span flags: the context's is_remote bit is known. */
  FLAGS_HAS_IS_REMOTE = 0x100,
  /** OTLP span flags: the parent (or linked context) is remote. */
  FLAGS_IS_REMOTE = 0x200,
}

/** Bytes reserved for the length of a span (its usual size is 128 bytes to 16 KiB). */
const SPAN_LENGTH_BYTES = 2;
/** Bytes reserved for the length of a batch's ResourceSpans and ScopeSpans (up to 2 MiB). */
const GROUP_LENGTH_BYTES = 3;
/** Bytes a span takes in OTLP/protobuf, about: the first guess of a writer's size. */
const SPAN_BYTES_GUESS = 400;

const INT64_LIMIT = 2 ** 63;
const TWO_POW_32 = 2 ** 32;

/** `spans` as one OTLP/protobuf ExportTraceServiceRequest, grouped by resource and instrumentation scope. */
export function encodeSpansProto(spans: readonly RecordedSpan[]): Uint8Array {
  return encodeGroups(groupSpans(spans), spans.length, spanProto);
}

/**
 * One OTLP/protobuf ExportTraceServiceRequest of `count` items in `groups` (by resource, then scope): `span`
 * writes each item as a trace/v1 Span (its tag already written), e.g. spanProto for a recorded span.
 */
export function encodeGroups<T>(groups: Groups<T>, count: number, span: (item: T, w: ProtoWriter) => void): Uint8Array {
  // A writer of its own per request, its slab sized for the batch: the request's bytes are a view of that slab
  // (no copy of the batch), which lives as long as the request does.
  const w = new ProtoWriter(1024 + count * SPAN_BYTES_GUESS);
  for (const [resource, byScope] of groups) {
    w.rawVarint32(Tag.LEN1); // ExportTraceServiceRequest.resource_spans
    const resourceSpans = begin(w, GROUP_LENGTH_BYTES);
    w.rawVarint32(Tag.LEN1); // ResourceSpans.resource
    const resourceStart = begin(w, 2);
    attributesProto(Tag.LEN1, resource.attributes, w); // Resource.attributes
    end(w, resourceStart, 2);
    for (const [scope, list] of byScope) {
      w.rawVarint32(Tag.LEN2); // ResourceSpans.scope_spans
      const scopeSpans = begin(w, GROUP_LENGTH_BYTES);
      w.rawVarint32(Tag.LEN1); // ScopeSpans.scope
      const scopeStart = begin(w, 1);
      stringField(Tag.LEN1, scope.name, w);
      stringField(Tag.LEN2, scope.version, w);
      end(w, scopeStart, 1);
      for (let i = 0; i < list.length; i++) {
        w.rawVarint32(Tag.LEN2); // ScopeSpans.spans
        span(list[i], w);
      }
      stringField(Tag.LEN3, scope.schemaUrl, w);
      end(w, scopeSpans, GROUP_LENGTH_BYTES);
    }
    stringField(Tag.LEN3, resource.schemaUrl, w);
    end(w, resourceSpans, GROUP_LENGTH_BYTES);
  }
  return w.finish();
}

/** Writes one recorded span (a length-delimited trace/v1 Span, its tag already written). */
export function spanProto(span: RecordedSpan, w: ProtoWriter): void {
  const start = begin(w, SPAN_LENGTH_BYTES);
  const sc = span.spanContext();
  const parent = span.parentSpanContext;
  idField(Tag.LEN1, sc.traceId, w);
  idField(Tag.LEN2, sc.spanId, w);
  stringField(Tag.LEN3, sc.traceState?.serialize(), w);
  if (parent !== undefined) idField(Tag.LEN4, parent.spanId, w);
  w.rawVarint32(Tag.LEN5);
  w.string(span.name);
  w.rawVarint32(Tag.SPAN_KIND);
  w.rawVarint32(span.kind + 1);
  fixed64Nanos(Tag.SPAN_START, span.epoch.sec, span.epoch.nanos, span.startedAt, w);
  fixed64Nanos(Tag.SPAN_END, span.epoch.sec, span.epoch.nanos, span.endedAt, w);
  attributesProto(Tag.SPAN_ATTRIBUTES, span.attributes, w);
  count(Tag.SPAN_DROPPED_ATTRIBUTES, span.droppedAttributesCount, w);
  for (let i = 0; i < span.events.length; i++) eventProto(span.epoch, span.events[i], w);
  count(Tag.SPAN_DROPPED_EVENTS, span.droppedEventsCount, w);
  for (let i = 0; i < span.links.length; i++) linkProto(span.links[i], w);
  count(Tag.SPAN_DROPPED_LINKS, span.droppedLinksCount, w);
  const status = span.status;
  if (status.code !== 0) {
    w.rawVarint32(Tag.SPAN_STATUS);
    const statusStart = begin(w, 1);
    stringField(Tag.LEN2, status.message, w);
    w.rawVarint32(Tag.STATUS_CODE);
    w.rawVarint32(status.code);
    end(w, statusStart, 1);
  }
  w.ensure(6);
  w.buf[w.pos++] = Tag.SPAN_FLAGS;
  w.buf[w.pos++] = 0x01;
  fixed32((sc.traceFlags & 0xff) | Tag.FLAGS_HAS_IS_REMOTE | (parent?.isRemote === true ? Tag.FLAGS_IS_REMOTE : 0), w);
  end(w, start, SPAN_LENGTH_BYTES);
}

function eventProto(epoch: Epoch, event: RecordedEvent, w: ProtoWriter): void {
  w.rawVarint32(Tag.SPAN_EVENTS);
  const start = begin(w, 1);
  fixed64Nanos(Tag.EVENT_TIME, epoch.sec, epoch.nanos, event.at, w);
  w.rawVarint32(Tag.LEN2);
  w.string(event.name);
  if (event.attributes !== undefined) attributesProto(Tag.LEN3, event.attributes, w);
  count(Tag.EVENT_DROPPED_ATTRIBUTES, event.droppedAttributesCount, w);
  end(w, start, 1);
}

function linkProto(link: Link, w: ProtoWriter): void {
  const c = link.context;
  w.rawVarint32(Tag.SPAN_LINKS);
  const start = begin(w, 1);
  idField(Tag.LEN1, c.traceId, w);
  idField(Tag.LEN2, c.spanId, w);
  stringField(Tag.LEN3, c.traceState?.serialize(), w);
  if (link.attributes !== undefined) attributesProto(Tag.LEN4, link.attributes, w);
  count(Tag.LINK_DROPPED_ATTRIBUTES, link.droppedAttributesCount, w);
  w.rawVarint32(Tag.LINK_FLAGS);
  fixed32((c.traceFlags & 0xff) | Tag.FLAGS_HAS_IS_REMOTE | (c.isRemote === true ? Tag.FLAGS_IS_REMOTE : 0), w);
  end(w, start, 1);
}

/** Writes `attributes` as repeated KeyValue field `tag` (values left undefined are skipped). */
function attributesProto(tag: number, attributes: Attributes, w: ProtoWriter): void {
  for (const key in attributes) {
    const value = attributes[key];
    if (value === undefined) continue;
    w.rawVarint32(tag);
    const start = begin(w, 1);
    keyPrefix(key, w);
    anyValueProto(value, w);
    end(w, start, 1);
  }
}

/** Attribute keys at most in the cache of their encoded prefixes (keys are few; a flood of distinct ones is not cached). */
const KEY_CACHE_SIZE = 512;
const keyPrefixes = new Map<string, Uint8Array>();

/** Writes a KeyValue up to its value: the key field and the value's tag (cached per key). */
function keyPrefix(key: string, w: ProtoWriter): void {
  let prefix = keyPrefixes.get(key);
  if (prefix === undefined) {
    const bytes = Buffer.from(key, "utf8"); // lone surrogates become U+FFFD, as ProtoWriter.string writes them
    const length = varintSize(bytes.length);
    prefix = new Uint8Array(1 + length + bytes.length + 1);
    prefix[0] = Tag.LEN1; // KeyValue.key
    for (let i = 0, v = bytes.length; i < length; i++, v >>>= 7) prefix[1 + i] = i < length - 1 ? (v & 0x7f) | 0x80 : v;
    prefix.set(bytes, 1 + length);
    prefix[prefix.length - 1] = Tag.LEN2; // KeyValue.value
    if (keyPrefixes.size < KEY_CACHE_SIZE) keyPrefixes.set(key, prefix);
  }
  const n = prefix.length;
  w.ensure(n);
  const buf = w.buf;
  const pos = w.pos;
  for (let i = 0; i < n; i++) buf[pos + i] = prefix[i];
  w.pos = pos + n;
}

/** Writes `value` as a length-delimited AnyValue (its tag already written): empty when it is none of the attribute types. */
function anyValueProto(value: AttributeValue | null | undefined, w: ProtoWriter): void {
  const start = begin(w, 1);
  switch (typeof value) {
    case "string":
      w.rawVarint32(Tag.ANY_STRING);
      w.string(value);
      break;
    case "boolean":
      w.rawVarint32(Tag.ANY_BOOL);
      w.rawVarint32(value ? 1 : 0);
      break;
    case "number":
      if (Number.isInteger(value) && value >= -INT64_LIMIT && value < INT64_LIMIT) {
        w.rawVarint32(Tag.ANY_INT);
        w.int64(value);
      } else {
        w.rawVarint32(Tag.ANY_DOUBLE);
        w.ensure(8);
        w.buf.writeDoubleLE(value, w.pos);
        w.pos += 8;
      }
      break;
    default:
      if (Array.isArray(value)) {
        w.rawVarint32(Tag.ANY_ARRAY);
        const array = begin(w, 1);
        for (let i = 0; i < value.length; i++) {
          w.rawVarint32(Tag.LEN1); // ArrayValue.values
          anyValueProto(value[i] as string | number | boolean | null | undefined, w);
        }
        end(w, array, 1);
      }
  }
  end(w, start, 1);
}

/** Writes string field `tag` unless `value` is empty or undefined (proto3's default). */
function stringField(tag: number, value: string | undefined, w: ProtoWriter): void {
  if (!value) return;
  w.rawVarint32(tag);
  w.string(value);
}

/** Writes `value` as a varint field `tag` unless it is 0 or undefined. */
function count(tag: number, value: number | undefined, w: ProtoWriter): void {
  if (value === undefined || value === 0) return;
  w.rawVarint32(tag);
  w.rawVarint32(value);
}

/** Writes the hex id `hex` (a trace or span id) as bytes field `tag`, decoded in place. */
function idField(tag: number, hex: string, w: ProtoWriter): void {
  const n = hex.length >>> 1;
  w.ensure(n + 6);
  w.rawVarint32(tag);
  w.rawVarint32(n);
  const buf = w.buf;
  let pos = w.pos;
  for (let i = 0; i < 2 * n; i += 2) buf[pos++] = (HEX[hex.charCodeAt(i) & 0x7f] << 4) | HEX[hex.charCodeAt(i + 1) & 0x7f];
  w.pos = pos;
}

/** The value of each hex digit (either case) by character code; 0 for other characters. */
const HEX = new Uint8Array(128);
for (let i = 0; i < 16; i++) HEX["0123456789abcdef".charCodeAt(i)] = HEX["0123456789ABCDEF".charCodeAt(i)] = i;

/** Writes `value` (a uint32) as four little-endian bytes. */
export function fixed32(value: number, w: ProtoWriter): void {
  w.ensure(4);
  const buf = w.buf;
  const pos = w.pos;
  buf[pos] = value & 0xff;
  buf[pos + 1] = (value >>> 8) & 0xff;
  buf[pos + 2] = (value >>> 16) & 0xff;
  buf[pos + 3] = (value >>> 24) & 0xff;
  w.pos = pos + 4;
}

/**
 * Writes fixed64 field `tag`: `us` microseconds after the epoch `epochSec` s + `epochNanos` ns (span-time.ts)
 * in nanoseconds since the Unix epoch, exactly (whole seconds apart first, so however far from the epoch). The
 * value passes 2^53, so it is assembled in two 32-bit halves from products that stay exact: seconds split at
 * bit 16.
 */
export function fixed64Nanos(tag: number, epochSec: number, epochNanos: number, us: number, w: ProtoWriter): void {
  const wholeSeconds = Math.floor(us / 1e6);
  const total = epochNanos + (us - wholeSeconds * 1e6) * 1000; // below 2e9
  const carry = total >= 1e9 ? 1 : 0;
  const sec = epochSec + wholeSeconds + carry;
  const nanos = total - carry * 1e9;
  const high = Math.floor(sec / 65536) * 1e9; // nanoseconds of the seconds above bit 16, to be shifted left by 16
  const low = (high % 65536) * 65536 + (sec % 65536) * 1e9 + nanos; // the rest, below 2^53
  const lo = low % TWO_POW_32;
  const hi = Math.floor(high / 65536) + Math.floor(low / TWO_POW_32);
  w.ensure(9);
  w.buf[w.pos++] = tag;
  fixed32(lo, w);
  fixed32(hi, w);
}

/** Starts a nested message whose length is written later in `reserve` bytes; pass the result to end(). */
export function begin(w: ProtoWriter, reserve: number): number {
  w.ensure(reserve);
  w.pos += reserve;
  return w.pos;
}

/** Ends the message started at `start`: writes its length before it, moving its bytes when the varint is not `reserve` bytes long. */
export function end(w: ProtoWriter, start: number, reserve: number): void {
  const length = w.pos - start;
  const size = varintSize(length);
  if (size !== reserve) {
    if (size > reserve) w.ensure(size - reserve);
    w.buf.copyWithin(start - reserve + size, start, start + length);
  }
  w.pos = start - reserve;
  w.rawVarint32(length);
  w.pos += length;
}
