/**
 * OTLP/JSON encoding (an ExportTraceServiceRequest, as the OTLP/HTTP exporter sends it) written straight from
 * recorded spans into bytes (json-bytes.ts), from the fields the span keeps — hex ids as they are, times
 * converted from the span's epoch to decimal nanoseconds without BigInt, default values left out — with no
 * intermediate objects or strings. The same JSON the SDK's serializer makes, at a fraction of its cost.
 */
import type { Attributes, AttributeValue, Link } from "@opentelemetry/api";
import { JsonBytes } from "./json-bytes.js";
import { groupSpans } from "./otlp-groups.js";
import type { RecordedEvent, RecordedSpan } from "./recorded-span.js";
import type { Epoch } from "./span-time.js";

/** OTLP span flags: the context's is_remote bit is known. */
const FLAGS_HAS_IS_REMOTE = 0x100;
/** OTLP span flags: the parent is remote. */
const FLAGS_IS_REMOTE = 0x200;

/** Attribute keys at most in the cache of their JSON prefixes (keys are few; a flood of distinct ones is not cached). */
const KEY_CACHE_SIZE = 512;
const keyPrefixes = new Map<string, string>();

/** Whether `text` can be written without escaping (ASCII, no quote, backslash or control character). */
function plain(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c === 34 || c === 92 || c >= 0x7f) return false;
  }
  return true;
}

/** Writes the JSON of a KeyValue up to its value: {"key":KEY,"value": (cached per key). */
function keyPrefix(key: string, w: JsonBytes): void {
  const prefix = keyPrefixes.get(key);
  if (prefix !== undefined) return w.raw(prefix);
  if (!plain(key)) {
    w.raw('{"key":');
    w.string(key);
    return w.raw(',"value":');
  }
  const made = `{"key":"${key}","value":`;
  if (keyPrefixes.size < KEY_CACHE_SIZE) keyPrefixes.set(key, made);
  w.raw(made);
}

/** Bytes a span takes in OTLP/JSON, about: the first guess of a batch's size. */
const SPAN_BYTES_GUESS = 800;

/** `spans` as one OTLP/JSON ExportTraceServiceRequest, grouped by resource and instrumentation scope. */
export function encodeSpansJson(spans: readonly RecordedSpan[]): Uint8Array {
  const byResource = groupSpans(spans);
  const w = new JsonBytes(1024 + spans.length * SPAN_BYTES_GUESS);
  w.raw('{"resourceSpans":[');
  let firstResource = true;
  for (const [resource, byScope] of byResource) {
    w.raw(firstResource ? '{"resource":{"attributes":' : ',{"resource":{"attributes":');
    firstResource = false;
    attributesJson(resource.attributes, w);
    w.raw("}");
    if (resource.schemaUrl) {
      w.raw(',"schemaUrl":');
      w.string(resource.schemaUrl);
    }
    w.raw(',"scopeSpans":[');
    let firstScope = true;
    for (const [scope, list] of byScope) {
      w.raw(firstScope ? '{"scope":{"name":' : ',{"scope":{"name":');
      firstScope = false;
      w.string(scope.name);
      if (scope.version) {
        w.raw(',"version":');
        w.string(scope.version);
      }
      w.raw("}");
      if (scope.schemaUrl) {
        w.raw(',"schemaUrl":');
        w.string(scope.schemaUrl);
      }
      w.raw(',"spans":[');
      for (let i = 0; i < list.length; i++) {
        if (i > 0) w.raw(",");
        spanJson(list[i], w);
      }
      w.raw("]}");
    }
    w.raw("]}");
  }
  w.raw("]}");
  return w.bytes();
}

/** Writes one span as OTLP/JSON. */
export function spanJson(span: RecordedSpan, w: JsonBytes): void {
  const sc = span.spanContext();
  const parent = span.parentSpanContext;
  w.raw('{"traceId":"');
  w.raw(sc.traceId);
  w.raw('","spanId":"');
  w.raw(sc.spanId);
  if (parent !== undefined) {
    w.raw('","parentSpanId":"');
    w.raw(parent.spanId);
  }
  const state = sc.traceState?.serialize();
  if (state) {
    w.raw('","traceState":');
    w.string(state);
    w.raw(',"flags":');
  } else w.raw('","flags":');
  w.number((sc.traceFlags & 0xff) | FLAGS_HAS_IS_REMOTE | (parent?.isRemote === true ? FLAGS_IS_REMOTE : 0));
  w.raw(',"name":');
  w.string(span.name);
  w.raw(',"kind":');
  w.number(span.kind + 1);
  w.raw(',"startTimeUnixNano":"');
  unixNanos(span.epoch, span.startedAt, w);
  w.raw('","endTimeUnixNano":"');
  unixNanos(span.epoch, span.endedAt, w);
  w.raw('","attributes":');
  attributesJson(span.attributes, w);
  count(',"droppedAttributesCount":', span.droppedAttributesCount, w);
  if (span.events.length > 0) {
    w.raw(',"events":[');
    for (let i = 0; i < span.events.length; i++) eventJson(span, span.events[i], i === 0, w);
    w.raw("]");
  }
  count(',"droppedEventsCount":', span.droppedEventsCount, w);
  if (span.links.length > 0) {
    w.raw(',"links":[');
    for (let i = 0; i < span.links.length; i++) linkJson(span.links[i], i === 0, w);
    w.raw("]");
  }
  count(',"droppedLinksCount":', span.droppedLinksCount, w);
  const status = span.status;
  if (status.code !== 0) {
    w.raw(',"status":{"code":');
    w.number(status.code);
    if (status.message) {
      w.raw(',"message":');
      w.string(status.message);
    }
    w.raw("}");
  }
  w.raw("}");
}

/**
 * Writes `us` microseconds after epoch `e` as decimal nanoseconds since the Unix epoch, no string made; exact
 * however far from the epoch (whole seconds apart first).
 */
function unixNanos(e: Epoch, us: number, w: JsonBytes): void {
  const wholeSeconds = Math.floor(us / 1e6);
  const total = e.nanos + (us - wholeSeconds * 1e6) * 1000; // below 2e9
  const carry = total >= 1e9 ? 1 : 0;
  const sec = e.sec + wholeSeconds + carry;
  if (sec > 0) w.digits(sec, 1);
  w.digits(total - carry * 1e9, sec > 0 ? 9 : 1);
}

/** Writes `name` and `value` when `value` is not 0 (OTLP/JSON leaves default values out). */
function count(name: string, value: number | undefined, w: JsonBytes): void {
  if (value === undefined || value === 0) return;
  w.raw(name);
  w.number(value);
}

function eventJson(span: RecordedSpan, event: RecordedEvent, first: boolean, w: JsonBytes): void {
  w.raw(first ? '{"timeUnixNano":"' : ',{"timeUnixNano":"');
  unixNanos(span.epoch, event.at, w);
  w.raw('","name":');
  w.string(event.name);
  if (event.attributes !== undefined) {
    w.raw(',"attributes":');
    attributesJson(event.attributes, w);
  }
  count(',"droppedAttributesCount":', event.droppedAttributesCount, w);
  w.raw("}");
}

function linkJson(link: Link, first: boolean, w: JsonBytes): void {
  const c = link.context;
  w.raw(first ? '{"traceId":' : ',{"traceId":');
  w.string(c.traceId);
  w.raw(',"spanId":');
  w.string(c.spanId);
  const state = c.traceState?.serialize();
  if (state) {
    w.raw(',"traceState":');
    w.string(state);
  }
  if (link.attributes !== undefined) {
    w.raw(',"attributes":');
    attributesJson(link.attributes, w);
  }
  count(',"droppedAttributesCount":', link.droppedAttributesCount, w);
  w.raw(',"flags":');
  w.number((c.traceFlags & 0xff) | FLAGS_HAS_IS_REMOTE | (c.isRemote === true ? FLAGS_IS_REMOTE : 0));
  w.raw("}");
}

/** Writes attributes as OTLP/JSON KeyValues. */
export function attributesJson(attributes: Attributes, w: JsonBytes): void {
  let first = true;
  for (const key in attributes) {
    const value = attributes[key];
    if (value === undefined) continue;
    w.raw(first ? "[" : ",");
    first = false;
    keyPrefix(key, w);
    anyValueJson(value, w);
    w.raw("}");
  }
  w.raw(first ? "[]" : "]");
}

function anyValueJson(value: AttributeValue | null | undefined, w: JsonBytes): void {
  switch (typeof value) {
    case "string":
      w.raw('{"stringValue":');
      w.string(value);
      w.raw("}");
      return;
    case "number":
      w.raw(Number.isInteger(value) ? '{"intValue":' : '{"doubleValue":');
      w.number(value);
      w.raw("}");
      return;
    case "boolean":
      w.raw(value ? '{"boolValue":true}' : '{"boolValue":false}');
      return;
    default:
      if (!Array.isArray(value)) return w.raw("{}");
      w.raw('{"arrayValue":{"values":[');
      for (let i = 0; i < value.length; i++) {
        if (i > 0) w.raw(",");
        anyValueJson(value[i] as string | number | boolean | null | undefined, w);
      }
      w.raw("]}}");
  }
}
