/**
 * The OTLP/protobuf written straight from recorded spans decodes (with the types generated from
 * opentelemetry-proto) to what the SDK's protobuf serializer writes for the same spans — over many random span
 * shapes: attributes of every type, events, links, trace state, remote parents, statuses, dropped counts,
 * several resources and scopes, names that are not ASCII — with every timestamp exact to the nanosecond
 * however far from the span's epoch.
 */
import { createTraceState, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, TraceFlags, type Attributes, type AttributeValue, type Link } from "@opentelemetry/api";
import { fromBinary, toJson } from "@bufbuild/protobuf";
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import { ExportTraceServiceRequestSchema, type ExportTraceServiceRequest } from "../../gen/opentelemetry/proto/collector/trace/v1/trace_service_pb.js";
import { seededRandom } from "../../src/protocol/random.js";
import { encodeSpansProto } from "../../src/telemetry/otlp-proto.js";
import { DEFAULT_SPAN_LIMITS, RecordedSpan, type SpanOwner } from "../../src/telemetry/recorded-span.js";
import { leanSampler, samplerSpecFromEnv } from "../../src/telemetry/sampling.js";
import { SpanRecorder } from "../../src/telemetry/span-recorder.js";
import type { Epoch } from "../../src/telemetry/span-time.js";
import { tracingResource } from "../../src/telemetry/tracing.js";
import { RandomValues } from "../helpers/random-message.js";

/** The SDK's protobuf serializer, from the transformer package the exporter uses. */
const { ProtobufTraceSerializer } = createRequire(import.meta.url)("@opentelemetry/otlp-transformer") as { ProtobufTraceSerializer: { serializeRequest(spans: unknown[]): Uint8Array } };

const decode = (bytes: Uint8Array): ExportTraceServiceRequest => fromBinary(ExportTraceServiceRequestSchema, bytes);

/** A decoded request as proto3 JSON without what may be left out (zeros, empty lists, empty messages). */
function normal(request: ExportTraceServiceRequest): unknown {
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
const exactNanos = (e: Epoch, us: number): bigint => BigInt(e.sec) * 1_000_000_000n + BigInt(e.nanos) + BigInt(us) * 1000n;

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString("hex");

/** Random attribute values of every type the API allows. */
function attributeValue(rv: RandomValues): AttributeValue {
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

function attributes(rv: RandomValues, max: number): Attributes {
  const out: Attributes = {};
  for (let i = rv.int(max + 1); i > 0; i--) out[rv.pick(["agentmesh.correlation_id", "agentmesh.hops", "k", "ключ", "a.b.c", rv.string() || "z"])] = attributeValue(rv);
  return out;
}

const randomHex = (rv: RandomValues, digits: number): string => Array.from({ length: digits }, () => "0123456789abcdef"[rv.int(16)]).join("");

/** Spans of random shapes from a recorder with random limits, under two resources and three scopes. */
function recordedSpans(rv: RandomValues): RecordedSpan[] {
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

/** A span made directly with epoch `epoch`, started and ended `startUs` and `endUs` microseconds after it. */
function spanAt(epoch: Epoch, startUs: number, endUs: number, eventUs: number): RecordedSpan {
  let done: RecordedSpan | undefined;
  const owner: SpanOwner = {
    instrumentationScope: { name: "t" },
    limits: DEFAULT_SPAN_LIMITS,
    resource: tracingResource("agent-t", {}),
    finish: (s) => void (done = s),
  };
  const span = new RecordedSpan(owner, "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331", TraceFlags.SAMPLED, undefined, undefined, "timed", SpanKind.INTERNAL, epoch, startUs);
  span.addEvent("at");
  (span.events[0] as { at: number }).at = eventUs;
  span.end();
  span.endedAt = endUs;
  return done!;
}

describe("encodeSpansProto", () => {
  it("decodes to the messages the SDK's protobuf serializer writes, over many random span shapes", () => {
    for (let seed = 1; seed <= 300; seed++) {
      const rv = new RandomValues(seededRandom(seed));
      const spans = recordedSpans(rv);
      const ours = decode(encodeSpansProto(spans));
      const sdk = decode(ProtobufTraceSerializer.serializeRequest(spans));
      expect(normal(ours), `seed ${seed}`).toEqual(normal(sdk));
      expect(ours.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans))).toHaveLength(spans.length);
    }
  });

  it("writes ids as bytes, the parent, kind, flags, status, attribute types and exact times", () => {
    const rv = new RandomValues(seededRandom(99));
    const spans = recordedSpans(rv);
    const request = decode(encodeSpansProto(spans));
    const decoded = request.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans));
    for (const span of spans) {
      const got = decoded.find((d) => hex(d.spanId) === span.spanId)!;
      expect(hex(got.traceId)).toBe(span.traceId);
      expect(hex(got.parentSpanId)).toBe(span.parentSpanContext?.spanId ?? "");
      expect(got.name).toBe(Buffer.from(span.name, "utf8").toString("utf8")); // lone surrogates become U+FFFD
      expect(got.kind).toBe(span.kind + 1);
      expect(got.flags).toBe(0x101 | (span.parentSpanContext?.isRemote ? 0x200 : 0));
      expect(got.startTimeUnixNano).toBe(exactNanos(span.epoch, span.startedAt));
      expect(got.endTimeUnixNano).toBe(exactNanos(span.epoch, span.endedAt));
      expect(got.events.map((e) => e.timeUnixNano)).toEqual(span.events.map((e) => exactNanos(span.epoch, e.at)));
      expect(got.status?.code ?? 0).toBe(span.status.code);
    }
    const root = tracingResource("x", {});
    expect(request.resourceSpans[0].resource?.attributes.map((a) => a.key)).toEqual(expect.arrayContaining(Object.keys(root.attributes)));
  });

  it("keeps attribute types: string, bool, int (int64 range), double, arrays, empty values for holes", () => {
    const owner: SpanOwner = { instrumentationScope: { name: "t", version: "1" }, limits: DEFAULT_SPAN_LIMITS, resource: tracingResource("agent-t", {}), finish: () => {} };
    const span = new RecordedSpan(owner, "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331", TraceFlags.SAMPLED, createTraceState("a=1"), undefined, "n", SpanKind.SERVER, { sec: 1, nanos: 2, base: 0 }, 3);
    span.setAttributes({ s: "é", b: false, i: -5, big: 2 ** 62, huge: 2 ** 63, d: 0.25, arr: ["x", null as unknown as string] });
    span.end([1, 2]);
    const got = decode(encodeSpansProto([span])).resourceSpans[0].scopeSpans[0];
    expect(got.scope).toMatchObject({ name: "t", version: "1" });
    const s = got.spans[0];
    expect(s.traceState).toBe("a=1");
    const value = (key: string) => s.attributes.find((a) => a.key === key)?.value?.value;
    expect(value("s")).toEqual({ case: "stringValue", value: "é" });
    expect(value("b")).toEqual({ case: "boolValue", value: false });
    expect(value("i")).toEqual({ case: "intValue", value: -5n });
    expect(value("big")).toEqual({ case: "intValue", value: 2n ** 62n });
    expect(value("huge")).toEqual({ case: "doubleValue", value: 2 ** 63 });
    expect(value("d")).toEqual({ case: "doubleValue", value: 0.25 });
    const arr = value("arr") as { case: "arrayValue"; value: { values: { value: { case: string | undefined } }[] } };
    expect(arr.value.values.map((v) => v.value.case)).toEqual(["stringValue", undefined]);
    expect(s.startTimeUnixNano).toBe(1_000_003_002n);
  });

  it("writes times exactly however far from the span's epoch, epochs from 1970 to 2286", () => {
    const rv = new RandomValues(seededRandom(7));
    for (let i = 0; i < 500; i++) {
      const epoch: Epoch = { sec: rv.pick([0, 1, 65535, 65536, 1_700_000_000 + rv.int(1e8), 2 ** 32 - 1, 2 ** 32 + rv.int(1e6), 10_000_000_000]), nanos: rv.pick([0, 999_999_999, rv.int(1e9)]), base: 0 };
      const far = () => rv.pick([0, 1, 999_999, 1_000_000, rv.int(1e12), rv.int(2 ** 52), -Math.min(rv.int(1e12), epoch.sec * 1e6)]);
      const startUs = far();
      const span = spanAt(epoch, startUs, startUs + rv.int(1e12), far());
      const got = decode(encodeSpansProto([span])).resourceSpans[0].scopeSpans[0].spans[0];
      expect(got.startTimeUnixNano).toBe(exactNanos(epoch, span.startedAt));
      expect(got.endTimeUnixNano).toBe(exactNanos(epoch, span.endedAt));
      expect(got.events[0].timeUnixNano).toBe(exactNanos(epoch, span.events[0].at));
    }
  });

  it("encodes a batch larger than the writer's first buffer, and long nested values", () => {
    const rv = new RandomValues(seededRandom(3));
    const spans: RecordedSpan[] = [];
    while (spans.length < 3000) spans.push(...recordedSpans(rv));
    const ours = decode(encodeSpansProto(spans));
    expect(normal(ours)).toEqual(normal(decode(ProtobufTraceSerializer.serializeRequest(spans))));
    // The writer is reused: a small request after a large one is whole.
    const one = spans.slice(0, 1);
    expect(normal(decode(encodeSpansProto(one)))).toEqual(normal(decode(ProtobufTraceSerializer.serializeRequest(one))));
  });
});
