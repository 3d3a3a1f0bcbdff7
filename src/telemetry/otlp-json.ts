/**
 * OTLP/JSON encoding (an ExportTraceServiceRequest, as the OTLP/HTTP exporter sends it) written straight from
 * recorded spans: one string per span from the fields the span keeps — hex ids as they are, times converted
 * from its epoch to decimal nanoseconds without BigInt, strings quoted without JSON.stringify unless they need
 * escaping, default values left out — written into a Buffer one span at a time. No intermediate objects. The
 * same JSON the SDK's serializer makes, at a fraction of its cost.
 */
import type { Attributes, AttributeValue, Link } from "@opentelemetry/api";
import type { Resource } from "@opentelemetry/resources";
import type { RecordedEvent, RecordedSpan } from "./recorded-span.js";
import { toUnixNanosText } from "./span-time.js";

/** OTLP span flags: the context's is_remote bit is known. */
const FLAGS_HAS_IS_REMOTE = 0x100;
/** OTLP span flags: the parent is remote. */
const FLAGS_IS_REMOTE = 0x200;

/** Characters that keep a string from being written between quotes as it is: escapes, and anything not ASCII. */
const NEEDS_JSON_STRINGIFY = /["\\\u0000-\u001f\u007f-\uffff]/;

/** `text` as a JSON string: between quotes as it is in the common case, else through JSON.stringify. */
function quote(text: string): string {
  return NEEDS_JSON_STRINGIFY.test(text) ? JSON.stringify(text) : `"${text}"`;
}

/** Attribute keys at most in the cache of their JSON prefixes (keys are few; a flood of distinct ones is not cached). */
const KEY_CACHE_SIZE = 512;
const keyPrefixes = new Map<string, string>();

/** The JSON of a KeyValue up to its value, {"key":KEY,"value": — cached per key. */
function keyPrefix(key: string): string {
  let prefix = keyPrefixes.get(key);
  if (prefix === undefined) {
    prefix = `{"key":${quote(key)},"value":`;
    if (keyPrefixes.size < KEY_CACHE_SIZE) keyPrefixes.set(key, prefix);
  }
  return prefix;
}

/** Bytes a span takes in OTLP/JSON, about: the first guess of a batch's size. */
const SPAN_BYTES_GUESS = 800;

/** `spans` as one OTLP/JSON ExportTraceServiceRequest, grouped by resource and instrumentation scope. */
export function encodeSpansJson(spans: readonly RecordedSpan[]): Uint8Array {
  const byResource = new Map<Resource, Map<RecordedSpan["instrumentationScope"], RecordedSpan[]>>();
  for (const span of spans) {
    const resource = span.resource;
    let byScope = byResource.get(resource);
    if (byScope === undefined) byResource.set(resource, (byScope = new Map()));
    const scope = span.instrumentationScope;
    let list = byScope.get(scope);
    if (list === undefined) byScope.set(scope, (list = []));
    list.push(span);
  }
  const out = new ByteSink(1024 + spans.length * SPAN_BYTES_GUESS);
  out.write('{"resourceSpans":[');
  let firstResource = true;
  for (const [resource, byScope] of byResource) {
    out.write(`${firstResource ? "" : ","}{"resource":{"attributes":${attributesJson(resource.attributes)}}${resource.schemaUrl ? `,"schemaUrl":${quote(resource.schemaUrl)}` : ""},"scopeSpans":[`);
    firstResource = false;
    let firstScope = true;
    for (const [scope, list] of byScope) {
      const version = scope.version ? `,"version":${quote(scope.version)}` : "";
      const schema = scope.schemaUrl ? `,"schemaUrl":${quote(scope.schemaUrl)}` : "";
      out.write(`${firstScope ? "" : ","}{"scope":{"name":${quote(scope.name)}${version}}${schema},"spans":[`);
      firstScope = false;
      for (let i = 0; i < list.length; i++) out.write(i === 0 ? spanJson(list[i]) : `,${spanJson(list[i])}`);
      out.write("]}");
    }
    out.write("]}");
  }
  out.write("]}");
  return out.bytes();
}

/**
 * UTF-8 bytes written piece by piece into a growing Buffer: one native write per span, so the batch is never
 * one large string (a rope of thousands of pieces, flattened into large-object space, then copied again).
 */
class ByteSink {
  private buf: Buffer;
  private pos = 0;

  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
  }

  write(text: string): void {
    const max = text.length * 3;
    if (this.pos + max > this.buf.length) {
      const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + max));
      this.buf.copy(next, 0, 0, this.pos);
      this.buf = next;
    }
    this.pos += this.buf.write(text, this.pos, "utf8");
  }

  bytes(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }
}

/** One span as OTLP/JSON (default values left out). */
export function spanJson(span: RecordedSpan): string {
  const parent = span.parentSpanContext;
  const state = span.traceState?.serialize();
  const flags = (span.traceFlags & 0xff) | FLAGS_HAS_IS_REMOTE | (parent?.isRemote === true ? FLAGS_IS_REMOTE : 0);
  let out = `{"traceId":"${span.traceId}","spanId":"${span.spanId}"${parent !== undefined ? `,"parentSpanId":"${parent.spanId}"` : ""}${state ? `,"traceState":${quote(state)}` : ""},"flags":${flags},"name":${quote(span.name)},"kind":${span.kind + 1},"startTimeUnixNano":"${toUnixNanosText(span.epoch, span.startedAt)}","endTimeUnixNano":"${toUnixNanosText(span.epoch, span.endedAt)}","attributes":${attributesJson(span.attributes)}`;
  if (span.droppedAttributesCount > 0) out += `,"droppedAttributesCount":${span.droppedAttributesCount}`;
  if (span.events.length > 0) {
    out += ',"events":[';
    for (let i = 0; i < span.events.length; i++) out += (i === 0 ? "" : ",") + eventJson(span, span.events[i]);
    out += "]";
  }
  if (span.droppedEventsCount > 0) out += `,"droppedEventsCount":${span.droppedEventsCount}`;
  if (span.links.length > 0) {
    out += ',"links":[';
    for (let i = 0; i < span.links.length; i++) out += (i === 0 ? "" : ",") + linkJson(span.links[i]);
    out += "]";
  }
  if (span.droppedLinksCount > 0) out += `,"droppedLinksCount":${span.droppedLinksCount}`;
  const status = span.status;
  if (status.code !== 0) out += status.message ? `,"status":{"code":${status.code},"message":${quote(status.message)}}` : `,"status":{"code":${status.code}}`;
  return `${out}}`;
}

function eventJson(span: RecordedSpan, event: RecordedEvent): string {
  const attributes = event.attributes !== undefined ? `,"attributes":${attributesJson(event.attributes)}` : "";
  const dropped = event.droppedAttributesCount > 0 ? `,"droppedAttributesCount":${event.droppedAttributesCount}` : "";
  return `{"timeUnixNano":"${toUnixNanosText(span.epoch, event.at)}","name":${quote(event.name)}${attributes}${dropped}}`;
}

function linkJson(link: Link): string {
  const c = link.context;
  const state = c.traceState?.serialize();
  const attributes = link.attributes !== undefined ? `,"attributes":${attributesJson(link.attributes)}` : "";
  const dropped = link.droppedAttributesCount ? `,"droppedAttributesCount":${link.droppedAttributesCount}` : "";
  const flags = (c.traceFlags & 0xff) | FLAGS_HAS_IS_REMOTE | (c.isRemote === true ? FLAGS_IS_REMOTE : 0);
  return `{"traceId":${quote(c.traceId)},"spanId":${quote(c.spanId)}${state ? `,"traceState":${quote(state)}` : ""}${attributes}${dropped},"flags":${flags}}`;
}

/** Attributes as OTLP/JSON KeyValues. */
export function attributesJson(attributes: Attributes): string {
  let out = "";
  for (const key in attributes) {
    const value = attributes[key];
    if (value === undefined) continue;
    out += `${out === "" ? "[" : ","}${keyPrefix(key)}${anyValueJson(value)}}`;
  }
  return out === "" ? "[]" : `${out}]`;
}

function anyValueJson(value: AttributeValue | null | undefined): string {
  switch (typeof value) {
    case "string":
      return `{"stringValue":${quote(value)}}`;
    case "number":
      return Number.isInteger(value) ? `{"intValue":${value}}` : `{"doubleValue":${Number.isFinite(value) ? value : "null"}}`;
    case "boolean":
      return value ? '{"boolValue":true}' : '{"boolValue":false}';
    default:
      if (!Array.isArray(value)) return "{}";
      return `{"arrayValue":{"values":[${(value as (string | number | boolean | null | undefined)[]).map(anyValueJson).join(",")}]}}`;
  }
}
