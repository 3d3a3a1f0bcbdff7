/**
 * The span ring: bounded by count and by bytes, oldest dropped first, queried by correlation id and trace id,
 * converted to the wire type; through many wrap-arounds of its arena it keeps exactly what a model of its
 * policy keeps, every record intact; oversize spans are cut; its byte budget is configurable.
 */
import { ROOT_CONTEXT, SpanKind as OtelKind, SpanStatusCode as OtelStatus, trace, type Attributes, type AttributeValue } from "@opentelemetry/api";
import { BasicTracerProvider, type ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { describe, expect, it } from "vitest";
import { SpanKind, SpanStatusCode, type Span } from "../../gen/agentmesh/v1/trace_pb.js";
import { Code, MeshError } from "../../src/protocol/errors.js";
import type { RecordedSpan } from "../../src/telemetry/recorded-span.js";
import { InternTable } from "../../src/telemetry/span-record-intern.js";
import { SpanRecordWriter } from "../../src/telemetry/span-record.js";
import { DEFAULT_SPAN_RING_SPAN_BYTES, MIN_ARENA_BYTES, SpanRing } from "../../src/telemetry/span-ring.js";
import { ringSpanBytesFromEnv, startTracing, tracingResource } from "../../src/telemetry/tracing.js";
import { attributeText, expectedWire, recorder, sdkTracer } from "./span-record-world.js";
import { seededRandom } from "../../src/protocol/random.js";

function setup(capacity: number) {
  const ring = new SpanRing(capacity, "fallback");
  const provider = new BasicTracerProvider({ resource: tracingResource("agent-7", {}), spanProcessors: [ring] });
  return { ring, tracer: provider.getTracer("test") };
}

describe("SpanRing", () => {
  it("keeps the newest `capacity` spans, oldest first", () => {
    const { ring, tracer } = setup(3);
    for (let i = 0; i < 5; i++) tracer.startSpan(`s${i}`, { attributes: { "agentmesh.correlation_id": "c" } }).end();
    expect(ring.size).toBe(3);
    expect(ring.query({ correlationId: "c" }).map((s) => s.name)).toEqual(["s2", "s3", "s4"]);
  });

  it("selects by correlation id and by trace id (both: spans matching both)", () => {
    const { ring, tracer } = setup(10);
    const root = tracer.startSpan("root", { attributes: { "agentmesh.correlation_id": "c1" } });
    const ctx = trace.setSpan(ROOT_CONTEXT, root);
    tracer.startSpan("child-c1", { attributes: { "agentmesh.correlation_id": "c1" } }, ctx).end();
    tracer.startSpan("child-c2", { attributes: { "agentmesh.correlation_id": "c2" } }, ctx).end();
    tracer.startSpan("other-c1", { attributes: { "agentmesh.correlation_id": "c1" } }).end();
    root.end();
    const traceId = root.spanContext().traceId;
    expect(ring.query({ correlationId: "c1" }).map((s) => s.name)).toEqual(["child-c1", "other-c1", "root"]);
    expect(ring.query({ traceId }).map((s) => s.name)).toEqual(["child-c1", "child-c2", "root"]);
    expect(ring.query({ traceId, correlationId: "c2" }).map((s) => s.name)).toEqual(["child-c2"]);
    expect(ring.query({ correlationId: "none" })).toEqual([]);
  });

  it("converts spans to the wire type: ids, parent, agent from the resource, times, status, kind, attributes as text", () => {
    const { ring, tracer } = setup(10);
    const parent = tracer.startSpan("parent");
    const child = tracer.startSpan("handle task_request", { kind: OtelKind.SERVER, attributes: { "agentmesh.correlation_id": "c", "agentmesh.hops": 2, "agentmesh.flag": true, list: ["x", "y"] } }, trace.setSpan(ROOT_CONTEXT, parent));
    child.setStatus({ code: OtelStatus.ERROR, message: "agent b unreachable" });
    child.end();
    parent.end();
    const [wire] = ring.query({ correlationId: "c" });
    expect(wire).toMatchObject({
      traceId: parent.spanContext().traceId,
      spanId: child.spanContext().spanId,
      parentSpanId: parent.spanContext().spanId,
      name: "handle task_request",
      agentId: "agent-7",
      kind: SpanKind.SERVER,
      statusCode: SpanStatusCode.ERROR,
      statusMessage: "agent b unreachable",
      attributes: { "agentmesh.correlation_id": "c", "agentmesh.hops": "2", "agentmesh.flag": "true", list: '["x","y"]' },
    });
    expect(wire.endUnixNanos).toBeGreaterThanOrEqual(wire.startUnixNanos);
    expect(Number(wire.startUnixNanos / 1_000_000n)).toBeGreaterThan(Date.now() - 60_000);
    expect(ring.query({ traceId: parent.spanContext().traceId }).find((s) => s.name === "parent")?.parentSpanId).toBe("");
  });

  it("forgets everything on shutdown", async () => {
    const { ring, tracer } = setup(4);
    tracer.startSpan("s", { attributes: { "agentmesh.correlation_id": "c" } }).end();
    await ring.shutdown();
    expect(ring.query({ correlationId: "c" })).toEqual([]);
  });

  it("drops the oldest when the byte budget is hit before the count", () => {
    const ring = new SpanRing(100, "r", 64);
    expect(ring.arenaBytes).toBe(MIN_ARENA_BYTES);
    const { tracer, ended } = recorder();
    for (let i = 0; i < 300; i++) {
      tracer.startSpan(`s${i}`, { attributes: { "agentmesh.correlation_id": "c", v: "x".repeat(100) } }).end();
      ring.onEnd(ended[i]);
    }
    const names = ring.query({ correlationId: "c" }).map((s) => s.name);
    expect(names.length).toBe(ring.size);
    // ~150 bytes a record: about 50 fit in 8 KiB (less what a wrap-around leaves unused at the arena's end).
    expect(ring.size).toBeGreaterThan(40);
    expect(ring.size).toBeLessThan(60);
    expect(names).toEqual(Array.from({ length: ring.size }, (_, i) => `s${300 - ring.size + i}`));
    ring.query({}).forEach((wire, i) => expect(wire).toMatchObject(expectedWire(ended[300 - ring.size + i], "r")));
  });

  it("keeps exactly what a model of its policy keeps, through many wrap-arounds, every record intact", () => {
    const random = seededRandom(7);
    let laps = 0;
    let cuts = 0;
    for (let round = 0; round < 6; round++) {
      const capacity = 1 + Math.floor(random() * 80);
      const ring = new SpanRing(capacity, "ring-agent", 64 + Math.floor(random() * 400));
      const model = new RingModel(ring);
      const spans = randomSpans(random, 2500);
      for (let i = 0; i < spans.length; i++) {
        ring.onEnd(spans[i]);
        model.add(spans[i]);
        if (i % 5 === 0 || i === spans.length - 1) expect(ring.query({}).map((s) => s.spanId)).toEqual(model.kept.map((k) => k.span.spanContext().spanId));
      }
      expect(ring.size).toBe(model.kept.length);
      expect(ring.cutSpans).toBe(model.cut);
      const wires = ring.query({});
      model.kept.forEach((k, i) => expectRead(wires[i], k.span, k.cut ? ring.maxRecordBytes >> 5 : 0));
      laps += model.written / ring.arenaBytes;
      cuts += model.cut;
    }
    expect(laps).toBeGreaterThan(300);
    expect(cuts).toBeGreaterThan(10);
  });

  it("cuts the long values of an oversize span, counts it, and leaves its neighbours intact", () => {
    const ring = new SpanRing(64, "r");
    const { tracer, ended } = recorder();
    const normal = (i: number) => tracer.startSpan(`n${i}`, { attributes: { "agentmesh.correlation_id": `c${i}`, k: "é".repeat(i) } }).end();
    for (let i = 0; i < 3; i++) normal(i);
    const attributes: Attributes = { "agentmesh.correlation_id": "big", huge: "ü".repeat(100_000), small: 1 };
    for (let i = 0; i < 10; i++) attributes[`a${i}`] = `value ${i}`;
    tracer.startSpan("oversize", { attributes }).end();
    for (let i = 3; i < 6; i++) normal(i);
    for (const span of ended) ring.onEnd(span);
    expect(ring.cutSpans).toBe(1);
    expect(ring.size).toBe(7);
    const [big] = ring.query({ correlationId: "big" });
    const cutTo = ring.maxRecordBytes >> 5;
    expect(big.attributes.huge).toBe("ü".repeat(Math.floor(cutTo / 2)));
    expect(big.attributes).toMatchObject({ small: "1", a0: "value 0", a9: "value 9" });
    for (let i = 0; i < 6; i++) expect(ring.query({ correlationId: `c${i}` })).toMatchObject([expectedWire(ended[i < 3 ? i : i + 1], "r")]);
  });

  it("keeps thousands of distinct names and keys (beyond its intern tables) intact", () => {
    const ring = new SpanRing(4096, "r");
    const { tracer, ended } = recorder();
    for (let i = 0; i < 3000; i++) tracer.startSpan(`unique name ${i}`, { attributes: { [`key ${i}`]: i, [`ключ ${i % 7}`]: "v" } }).end();
    for (const span of ended) ring.onEnd(span);
    const wires = ring.query({});
    expect(wires.length).toBe(3000);
    wires.forEach((wire, i) => expect(wire).toMatchObject(expectedWire(ended[i], "r")));
  });

  it("keeps recorded and SDK spans side by side", () => {
    const ring = new SpanRing(16, "r");
    const rec = recorder();
    const sdk = sdkTracer("agent-s");
    for (let i = 0; i < 6; i++) {
      const t = i % 2 === 0 ? rec : sdk;
      t.tracer.startSpan(`s${i}`, { attributes: { "agentmesh.correlation_id": "c", i } }).end();
      ring.onEnd(t.last() as RecordedSpan & ReadableSpan);
    }
    expect(ring.query({ correlationId: "c" }).map((s) => [s.name, s.agentId])).toEqual([
      ["s0", "r"],
      ["s1", "agent-s"],
      ["s2", "r"],
      ["s3", "agent-s"],
      ["s4", "r"],
      ["s5", "agent-s"],
    ]);
  });
});

describe("the ring's byte budget", () => {
  it("is capacity × AGENT_MESH_TRACE_RING_SPAN_BYTES (default 512), or the ringSpanBytes option", () => {
    expect(ringSpanBytesFromEnv({})).toBe(DEFAULT_SPAN_RING_SPAN_BYTES);
    expect(DEFAULT_SPAN_RING_SPAN_BYTES).toBe(512);
    expect(ringSpanBytesFromEnv({ AGENT_MESH_TRACE_RING_SPAN_BYTES: " 1024 " })).toBe(1024);
    const fromEnv = startTracing({ agentId: "a", env: { AGENT_MESH_TRACE_RING_SIZE: "100", AGENT_MESH_TRACE_RING_SPAN_BYTES: "256" }, register: false });
    expect(fromEnv.spans?.arenaBytes).toBe(25_600);
    const fromOption = startTracing({ agentId: "a", env: {}, ringSize: 4096, ringSpanBytes: 128, register: false });
    expect(fromOption.spans?.arenaBytes).toBe(4096 * 128);
    expect(new SpanRing().arenaBytes).toBe(4096 * 512);
    expect(new SpanRing(1).arenaBytes).toBe(MIN_ARENA_BYTES);
    return Promise.all([fromEnv.shutdown(), fromOption.shutdown()]);
  });

  it("rejects a bad AGENT_MESH_TRACE_RING_SPAN_BYTES with INVALID_ARGUMENT naming it", () => {
    for (const text of ["63", "65537", "abc", "-512", "1.5"]) {
      let error: unknown;
      try {
        ringSpanBytesFromEnv({ AGENT_MESH_TRACE_RING_SPAN_BYTES: text });
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(MeshError);
      expect((error as MeshError).code).toBe(Code.InvalidArgument);
      expect((error as MeshError).message).toContain("AGENT_MESH_TRACE_RING_SPAN_BYTES");
    }
  });
});

type AnySpan = RecordedSpan | ReadableSpan;

/**
 * The ring's documented policy on record sizes alone: a record starts at the write position, or at the next
 * multiple of the arena size when fewer bytes than it needs are left before the arena's end (a cut record
 * needs maxRecordBytes there); the oldest are dropped while their start is a whole arena behind the end of
 * the bytes written (a cut record counts maxRecordBytes written), then one more if all slots are full.
 * Record sizes come from a writer of its own, fed the same spans in the same order.
 */
class RingModel {
  readonly kept: { span: AnySpan; start: number; cut: boolean }[] = [];
  written = 0;
  cut = 0;
  private readonly scratch = Buffer.alloc(1 << 16);
  private readonly writer = new SpanRecordWriter(this.scratch, new InternTable(), new InternTable());

  constructor(private readonly ring: SpanRing) {}

  add(span: AnySpan): void {
    const { arenaBytes: size, maxRecordBytes: max, capacity } = this.ring;
    const write = (cut: number) => ("epoch" in span ? this.writer.writeRecorded(span, 0, max, cut) : this.writer.writeReadable(span, "ring-agent", 0, max, cut));
    let bytes = write(0);
    const cut = bytes < 0;
    if (cut) {
      bytes = write(max >> 5);
      this.cut++;
    }
    let start = this.written;
    const room = size - (start % size);
    if ((cut ? max : bytes) > room) start += room;
    const reach = cut ? start + max : start + bytes;
    while (this.kept.length > 0 && this.kept[0].start + size < reach) this.kept.shift();
    if (this.kept.length === capacity) this.kept.shift();
    this.kept.push({ span, start, cut });
    this.written = start + bytes;
  }
}

/** `wire` is `span` read back; with `cutTo` > 0, its texts may be cut to that many UTF-8 bytes and attributes left out. */
function expectRead(wire: Span, span: AnySpan, cutTo: number): void {
  const expected = expectedWire(span, "ring-agent");
  if (cutTo === 0) {
    expect(wire).toMatchObject(expected);
    return;
  }
  const { attributes, name, statusMessage, ...rest } = expected;
  expect(wire).toMatchObject(rest);
  for (const [text, full] of [
    [wire.name, name],
    [wire.statusMessage, statusMessage],
  ]) expectCut(text, full, cutTo);
  for (const [key, value] of Object.entries(wire.attributes)) {
    const full = Object.entries(attributes).find(([k]) => Buffer.from(k).subarray(0, cutTo).toString() === key || k === key);
    expect(full, `attribute ${key}`).toBeDefined();
    expectCut(value, full![1], cutTo);
  }
}

/** `text` is `full` (short, or a name or key in an intern table), or its longest prefix of whole characters within `cutTo` UTF-8 bytes. */
function expectCut(text: string, full: string, cutTo: number): void {
  if (text === full) return;
  expect(full.startsWith(text)).toBe(true);
  expect(Buffer.byteLength(text)).toBeLessThanOrEqual(cutTo);
  expect(Buffer.byteLength(text + String.fromCodePoint(full.codePointAt(text.length)!))).toBeGreaterThan(cutTo);
}

const NAMES = ["send task_request", "handle task_request", "route echo", "run echo", "ручка", "処理 → b", "agentmesh.v1.AgentService/SubmitTask"];
const KEYS = ["agentmesh.correlation_id", "agentmesh.message_type", "agentmesh.from", "agentmesh.to", "agentmesh.hops", "rpc.system", "ключ", "k"];
const CHARS = ["a", "b", "z", "0", "-", "é", "ü", "✓", "😀", "中"];

/** `count` finished spans of random shape (names, keys, value types and lengths; some SDK spans; a few oversize). */
function randomSpans(random: () => number, count: number): AnySpan[] {
  const rec = recorder();
  const sdk = sdkTracer("sdk-agent");
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)];
  const text = (max: number): string => {
    const n = Math.floor(random() * max);
    const ascii = random() < 0.7;
    let s = "";
    for (let i = 0; i < n; i++) s += ascii ? CHARS[i % 5] : pick(CHARS);
    return s;
  };
  const value = (): AttributeValue => {
    const r = random();
    if (r < 0.45) return text(random() < 0.05 ? 3000 : 120);
    if (r < 0.6) return Math.floor((random() - 0.5) * 2 ** (random() * 60));
    if (r < 0.7) return (random() - 0.5) * 1e6;
    if (r < 0.8) return random() < 0.5;
    if (r < 0.9) return [text(10), text(10)];
    return [1, 2.5, random()];
  };
  const out: AnySpan[] = [];
  for (let i = 0; i < count; i++) {
    const t = random() < 0.25 ? sdk : rec;
    const attributes: Attributes = {};
    const n = Math.floor(random() * 9);
    for (let j = 0; j < n; j++) attributes[random() < 0.15 ? `key ${i}.${j}` : pick(KEYS)] = value();
    const name = random() < 0.3 ? `${pick(NAMES)} ${i}` : pick(NAMES);
    const span = t.tracer.startSpan(name, { kind: Math.floor(random() * 5), attributes });
    if (random() < 0.2) span.setStatus(random() < 0.5 ? { code: OtelStatus.ERROR, message: text(60) } : { code: OtelStatus.OK });
    span.end();
    out.push(t.last());
  }
  return out;
}
