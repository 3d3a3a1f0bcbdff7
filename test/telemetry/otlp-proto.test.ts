/**
 * The OTLP/protobuf written straight from recorded spans decodes (with the types generated from
 * opentelemetry-proto) to what the SDK's protobuf serializer writes for the same spans — over many random span
 * shapes: attributes of every type, events, links, trace state, remote parents, statuses, dropped counts,
 * several resources and scopes, names that are not ASCII — with every timestamp exact to the nanosecond
 * however far from the span's epoch.
 */
import { createTraceState, SpanKind, TraceFlags } from "@opentelemetry/api";
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import { seededRandom } from "../../src/protocol/random.js";
import { encodeSpansProto } from "../../src/telemetry/otlp-proto.js";
import { DEFAULT_SPAN_LIMITS, RecordedSpan, type SpanOwner } from "../../src/telemetry/recorded-span.js";
import type { Epoch } from "../../src/telemetry/span-time.js";
import { tracingResource } from "../../src/telemetry/tracing.js";
import { RandomValues } from "../helpers/random-message.js";
import { decode, exactNanos, hex, normal, recordedSpans } from "./otlp-world.js";

/** The SDK's protobuf serializer, from the transformer package the exporter uses. */
const { ProtobufTraceSerializer } = createRequire(import.meta.url)("@opentelemetry/otlp-transformer") as { ProtobufTraceSerializer: { serializeRequest(spans: unknown[]): Uint8Array } };

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
    // A small request after a large one is whole.
    const one = spans.slice(0, 1);
    expect(normal(decode(encodeSpansProto(one)))).toEqual(normal(decode(ProtobufTraceSerializer.serializeRequest(one))));
  });

  it("gives each request bytes of its own: encoding later batches leaves an earlier request's bytes as they were", () => {
    const rv = new RandomValues(seededRandom(4));
    const batches: RecordedSpan[][] = [];
    for (let i = 0; i < 6; i++) {
      const spans: RecordedSpan[] = [];
      while (spans.length < 20 + 200 * i) spans.push(...recordedSpans(rv));
      batches.push(spans);
    }
    const requests = batches.map((b) => encodeSpansProto(b));
    const copies = requests.map((r) => Uint8Array.from(r));
    for (let i = 0; i < 6; i++) encodeSpansProto(batches[i]); // more requests, as the exporter keeps sending
    for (let i = 0; i < requests.length; i++) {
      expect(Buffer.from(requests[i]).equals(Buffer.from(copies[i])), `request ${i}`).toBe(true);
      expect(normal(decode(requests[i]))).toEqual(normal(decode(ProtobufTraceSerializer.serializeRequest(batches[i]))));
    }
  });
});
