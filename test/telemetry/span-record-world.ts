/**
 * What the span record and span ring tests share: a recorder whose finished spans are collected, an SDK
 * tracer whose finished spans are collected, the wire span a finished span should read back as (computed from
 * the span itself, the way the ring converted spans before it kept bytes).
 */
import type { AttributeValue, Attributes, HrTime } from "@opentelemetry/api";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BasicTracerProvider, type ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { RecordedSpan } from "../../src/telemetry/recorded-span.js";
import { leanSampler, samplerSpecFromEnv } from "../../src/telemetry/sampling.js";
import { SpanRecorder } from "../../src/telemetry/span-recorder.js";
import { tracingResource } from "../../src/telemetry/tracing.js";

/** A recorder of RecordedSpans (every span sampled) collecting each finished span in `ended`. */
export function recorder() {
  const ended: RecordedSpan[] = [];
  const provider = new SpanRecorder({
    sampler: leanSampler(samplerSpecFromEnv({})),
    sinks: [{ onEnd: (s) => void ended.push(s), forceFlush: () => Promise.resolve(), shutdown: () => Promise.resolve() }],
    resource: () => tracingResource("agent-r", {}),
  });
  return { tracer: provider.getTracer("test"), ended, last: (): RecordedSpan => ended[ended.length - 1] };
}

/** An SDK tracer whose resource names agent `agentId` (none when undefined), collecting each finished span in `ended`. */
export function sdkTracer(agentId: string | undefined) {
  const ended: ReadableSpan[] = [];
  const provider = new BasicTracerProvider({
    resource: agentId === undefined ? resourceFromAttributes({ "service.name": "no-agent" }) : tracingResource(agentId, {}),
    spanProcessors: [{ onStart() {}, onEnd: (s) => void ended.push(s), forceFlush: () => Promise.resolve(), shutdown: () => Promise.resolve() }],
  });
  return { tracer: provider.getTracer("test"), ended, last: (): ReadableSpan => ended[ended.length - 1] };
}

/** Nanoseconds since the Unix epoch of `t`. */
export function hrNanos(t: HrTime): bigint {
  return BigInt(t[0]) * 1_000_000_000n + BigInt(t[1]);
}

/** An attribute value as the wire shows it: strings as they are, arrays as JSON, anything else as String() prints it. */
export function attributeText(v: AttributeValue): string {
  return typeof v === "string" ? v : Array.isArray(v) ? JSON.stringify(v) : String(v);
}

/** Every attribute with a value, as text. */
export function attributeTexts(attributes: Attributes): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(attributes)) if (v !== undefined) out[k] = attributeText(v);
  return out;
}

/**
 * The wire fields `span` should read back as, from a ring of agent `ringAgent`: with its events and links
 * unless `tail` is false (a record written cut, or an SDK span's, has none).
 */
export function expectedWire(span: RecordedSpan | ReadableSpan, ringAgent: string, tail = span instanceof RecordedSpan) {
  const sc = span.spanContext();
  const resourceAgent = span instanceof RecordedSpan ? undefined : span.resource.attributes["agentmesh.agent_id"];
  return {
    traceId: sc.traceId,
    spanId: sc.spanId,
    parentSpanId: span.parentSpanContext?.spanId ?? "",
    name: span.name,
    agentId: typeof resourceAgent === "string" ? resourceAgent : ringAgent,
    startUnixNanos: hrNanos(span.startTime),
    endUnixNanos: hrNanos(span.endTime),
    statusCode: span.status.code === 1 || span.status.code === 2 ? span.status.code : 0,
    statusMessage: span.status.message ?? "",
    attributes: attributeTexts(span.attributes),
    kind: span.kind + 1,
    events: !tail ? [] : span.events.map((e) => ({ name: e.name, timeUnixNanos: hrNanos(e.time), attributes: attributeTexts(e.attributes ?? {}) })),
    links: !tail ? [] : span.links.map((l) => ({ traceId: l.context.traceId, spanId: l.context.spanId, attributes: attributeTexts(l.attributes ?? {}) })),
  };
}
