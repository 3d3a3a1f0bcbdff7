/**
 * What the OTLP/protobuf tests share: decoding a request with the types generated from opentelemetry-proto,
 * a normal form to compare decoded requests by, exact nanoseconds, and recorded spans of random shapes —
 * attributes of every type, events, links, trace state, remote parents, statuses, dropped counts, several
 * resources and scopes, names that are not ASCII.
 */
import { createTraceState, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, TraceFlags, type Attributes, type AttributeValue, type Link } from "@opentelemetry/api";
import { fromBinary, toJson } from "@bufbuild/protobuf";
import { ExportTraceServiceRequestSchema, type ExportTraceServiceRequest } from "../../gen/opentelemetry/proto/collector/trace/v1/trace_service_pb.js";
import type { RecordedSpan } from "../../src/telemetry/recorded-span.js";
import { leanSampler, samplerSpecFromEnv } from "../../src/telemetry/sampling.js";
import { SpanRecorder } from "../../src/telemetry/span-recorder.js";
import type { Epoch } from "../../src/telemetry/span-time.js";
import { tracingResource } from "../../src/telemetry/tracing.js";
import type { RandomValues } from "../helpers/random-message.js";

/** A request's bytes decoded. */
export const decode = (bytes: Uint8Array): ExportTraceServiceRequest => fromBinary(ExportTraceServiceRequestSchema, bytes);

/** A decoded request as proto3 JSON without what may be left out (zeros, empty lists, empty messages). */
export function normal(request: ExportTraceServiceRequest): unknown {
  const strip = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(strip);
    if (value === null || typeof value !== "object") return value;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const n = strip(v);
      if (n === undefined || n === 0 || n === "0" || (Array.isArray(n) && n.length === 0) || (typeof n === "object" && n !== null && !Array.isArray(n) && Object.keys(n).length === 0)) continue;
      out[k] = n;
    }
    return out;
  };
  return strip(toJson(ExportTraceServiceRequestSchema, request));
}

/** Nanoseconds since the Unix epoch of `us` microseconds after `e`, computed with BigInt. */
export const exactNanos = (e: Epoch, us: number): bigint => BigInt(e.sec) * 1_000_000_000n + BigInt(e.nanos) + BigInt(us) * 1000n;

/** Bytes as lowercase hex. */
export const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString("hex");

/** Random attribute values of every type the API allows. */
export function attributeValue(rv: RandomValues): AttributeValue {
  switch (rv.int(9)) {
    case 0:
      return rv.string();
    case 1:
      return rv.chance(0.5);
    case 2:
      return rv.pick([0, 1, -1, 127, 128, 2 ** 31, -(2 ** 31), 2 ** 32, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 2 ** 60, -(2 ** 62), 2 ** 63, 1e300]);
    case 3:
      return rv.pick([0.5, -1.25, Math.PI, 1e-300, Number.MIN_VALUE, Number.NaN, Infinity, -Infinity]);
    case 4:
      return Array.from({ length: rv.int(4) }, () => (rv.chance(0.1) ? null : rv.string())) as AttributeValue;
    case 5:
      return Array.from({ length: rv.int(4) }, () => (rv.chance(0.1) ? undefined : rv.int(1000) - 500)) as AttributeValue;
    case 6:
      return Array.from({ length: rv.int(4) }, () => rv.chance(0.5));
    case 7:
      return Array.from({ length: rv.int(4) }, () => rv.random() * 100);
    default:
      return rv.pick(["agent-7", "echo", "x".repeat(200), "é".repeat(70)]);
  }
}

/** Up to `max` random attributes. */
export function attributes(rv: RandomValues, max: number): Attributes {
  const out: Attributes = {};
  for (let i = rv.int(max + 1); i > 0; i--) out[rv.pick(["agentmesh.correlation_id", "agentmesh.hops", "k", "ключ", "a.b.c", rv.string() || "z"])] = attributeValue(rv);
  return out;
}

/** `digits` random lowercase hex digits. */
export const randomHex = (rv: RandomValues, digits: number): string => Array.from({ length: digits }, () => "0123456789abcdef"[rv.int(16)]).join("");

/** Spans of random shapes from a recorder with random limits, under two resources and three scopes. */
export function recordedSpans(rv: RandomValues): RecordedSpan[] {
  const ended: RecordedSpan[] = [];
  const limits = rv.chance(0.5) ? {} : { attributeCount: rv.int(4), eventCount: rv.int(3), linkCount: rv.int(3), attributesPerEvent: rv.int(3), attributesPerLink: rv.int(3), attributeValueLength: rv.pick([Infinity, 5, 100]) };
  const recorders = ["agent-a", "agent-b"].map(
    (agent) =>
      new SpanRecorder({
        sampler: leanSampler(samplerSpecFromEnv({})),
        limits,
        sinks: [{ onEnd: (s) => void ended.push(s as RecordedSpan), forceFlush: () => Promise.resolve(), shutdown: () => Promise.resolve() }],
        resource: () => tracingResource(agent, { OTEL_RESOURCE_ATTRIBUTES: "team=r%26d,zone=é" }),
      }),
  );
  const tracers = [recorders[0].getTracer("agent-mesh", "0.1.0"), recorders[0].getTracer("other"), recorders[1].getTracer("agent-mesh", "0.1.0", { schemaUrl: "https://opentelemetry.io/schemas/1.30.0" })];
  const now = Date.now();
  for (let n = 1 + rv.int(12); n > 0; n--) {
    const tracer = rv.pick(tracers);
    const parent = rv.chance(0.5)
      ? trace.setSpanContext(ROOT_CONTEXT, {
          traceId: randomHex(rv, 32),
          spanId: randomHex(rv, 16),
          traceFlags: TraceFlags.SAMPLED,
          isRemote: rv.chance(0.5),
          traceState: rv.chance(0.3) ? createTraceState(`vendor=${randomHex(rv, 8)},other=x`) : undefined,
        })
      : ROOT_CONTEXT;
    const links: Link[] = Array.from({ length: rv.int(3) }, () => ({
      context: { traceId: randomHex(rv, 32), spanId: randomHex(rv, 16), traceFlags: rv.pick([TraceFlags.NONE, TraceFlags.SAMPLED]), isRemote: rv.chance(0.5), traceState: rv.chance(0.3) ? createTraceState("k=v") : undefined },
      attributes: rv.chance(0.5) ? attributes(rv, 3) : undefined,
    }));
    const start = rv.chance(0.3) ? now - rv.int(1e9) : rv.chance(0.5) ? ([Math.floor(now / 1000) - rv.int(100_000), rv.int(1e9)] as [number, number]) : undefined;
    const span = tracer.startSpan(rv.string(), { kind: rv.pick([SpanKind.INTERNAL, SpanKind.SERVER, SpanKind.CLIENT, SpanKind.PRODUCER, SpanKind.CONSUMER]), attributes: attributes(rv, 6), links, startTime: start }, parent);
    for (let e = rv.int(4); e > 0; e--) {
      if (rv.chance(0.2)) span.recordException(new Error(rv.string() || "boom"));
      else span.addEvent(rv.string(), rv.chance(0.6) ? attributes(rv, 4) : undefined, rv.chance(0.3) ? new Date(now + rv.int(10_000)) : undefined);
    }
    if (rv.chance(0.3)) span.addLink({ context: { traceId: randomHex(rv, 32), spanId: randomHex(rv, 16), traceFlags: TraceFlags.SAMPLED }, droppedAttributesCount: 0 });
    if (rv.chance(0.5)) span.setStatus(rv.chance(0.5) ? { code: SpanStatusCode.OK } : { code: SpanStatusCode.ERROR, message: rv.chance(0.7) ? rv.string() : undefined });
    span.end(rv.chance(0.3) ? new Date(now + rv.int(1e8)) : undefined);
  }
  return ended;
}

