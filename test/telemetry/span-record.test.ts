/**
 * The span ring's record codec: every wire field round-trips (non-ASCII text, numbers, booleans, arrays, error
 * status, nanosecond times of SDK spans, ids that are not lowercase hex), intern tables stay bounded, matching
 * compares the right bytes, a record fits exactly when its size is at most its space and never writes
 * outside it, and cutting keeps an oversize span within its space.
 */
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type HrTime, type SpanContext } from "@opentelemetry/api";
import type { ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { describe, expect, it } from "vitest";
import { InternTable } from "../../src/telemetry/span-record-intern.js";
import { SpanRecordReader } from "../../src/telemetry/span-record-reader.js";
import { SpanRecordWriter, varintSize } from "../../src/telemetry/span-record.js";
import type { RecordedSpan } from "../../src/telemetry/recorded-span.js";
import { expectedWire, recorder, sdkTracer } from "./span-record-world.js";

const CID = "agentmesh.correlation_id";

function codec(bytes = 1 << 16, names = new InternTable(), keys = new InternTable()) {
  const buf = Buffer.alloc(bytes);
  return { buf, names, keys, writer: new SpanRecordWriter(buf, names, keys), reader: new SpanRecordReader(buf, names, keys) };
}

/** Writes `span` at 0 with the whole buffer as space and reads it back. */
function roundTrip(span: RecordedSpan | ReadableSpan, ringAgent = "ring-agent", c = codec()) {
  const end = "epoch" in span ? c.writer.writeRecorded(span, 0, c.buf.length, 0) : c.writer.writeReadable(span, ringAgent, 0, c.buf.length, 0);
  expect(end).toBeGreaterThan(0);
  return { wire: c.reader.decode(0, ringAgent), end };
}

/** A finished recorded span with every kind of field. */
function richSpan() {
  const { tracer, last } = recorder();
  const parent = tracer.startSpan("parent");
  const span = tracer.startSpan("処理 task_request → b", { kind: SpanKind.SERVER }, trace.setSpan(ROOT_CONTEXT, parent));
  span.setAttributes({
    [CID]: "c-1",
    "agentmesh.hops": 2,
    negative: -7,
    big: 2 ** 53 + 2,
    float: 3.25,
    nan: Number.NaN,
    inf: Number.NEGATIVE_INFINITY,
    negZero: -0,
    yes: true,
    no: false,
    empty: "",
    "clé ✓": "héllo ✓ 😀 \u{10FFFF}",
    strings: ["a", "é", ""],
    numbers: [1, 2.5, -3],
    booleans: [true, false],
    long: "x".repeat(5000),
  });
  span.setStatus({ code: SpanStatusCode.ERROR, message: "agent b unreachable ✗" });
  span.end();
  return last();
}

describe("span record", () => {
  it("round-trips every field of a recorded span: ids, parent, non-ASCII name and attributes, numbers, booleans, arrays, error status, times", () => {
    const span = richSpan();
    const { wire } = roundTrip(span);
    expect(wire).toMatchObject(expectedWire(span, "ring-agent"));
    expect(wire.attributes).toMatchObject({ big: "9007199254740994", nan: "NaN", inf: "-Infinity", negZero: "0", strings: '["a","é",""]', "clé ✓": "héllo ✓ 😀 \u{10FFFF}" });
    expect(wire.parentSpanId).toMatch(/^[0-9a-f]{16}$/);
    expect(wire.statusMessage).toBe("agent b unreachable ✗");
  });

  it("writes the ids a recorded span holds as words to the same bytes as from their hex, for roots, children and remote parents", () => {
    const { tracer, ended } = recorder();
    const root = tracer.startSpan("root");
    const child = tracer.startSpan("child", {}, trace.setSpan(ROOT_CONTEXT, root));
    const grandchild = tracer.startSpan("grandchild", {}, trace.setSpan(ROOT_CONTEXT, child));
    const remote = trace.wrapSpanContext({ traceId: "4bf92f3577b34da6a3ce929d0e0e4736", spanId: "00f067aa0ba902b7", traceFlags: 1, isRemote: true });
    const fromRemote = tracer.startSpan("from remote", { kind: SpanKind.SERVER }, trace.setSpan(ROOT_CONTEXT, remote));
    const underRemote = tracer.startSpan("under remote", {}, trace.setSpan(ROOT_CONTEXT, fromRemote));
    for (const s of [underRemote, fromRemote, grandchild, child, root]) s.end();
    const [under, server, grand, mid, top] = ended;
    // Which ids each span holds as words: its own always; the trace's from a root of this process; the parent's from a parent of this process.
    expect([top, mid, grand, server, under].map((s) => s.idWords)).toEqual([3, 7, 7, 2, 6]);
    for (const span of ended) {
      const withWords = codec();
      const withHex = codec();
      const end = withWords.writer.writeRecorded(span, 0, withWords.buf.length, 0, 1);
      const known = span.idWords;
      span.idWords = 0; // the same span, its ids parsed from hex
      const endHex = withHex.writer.writeRecorded(span, 0, withHex.buf.length, 0, 1);
      span.idWords = known;
      expect(end, span.name).toBe(endHex);
      expect(withWords.buf.subarray(0, end).equals(withHex.buf.subarray(0, endHex)), span.name).toBe(true);
      const wire = withWords.reader.decode(0, "ring-agent");
      expect([wire.traceId, wire.spanId, wire.parentSpanId], span.name).toEqual([span.traceId, span.spanId, span.parentSpanContext?.spanId ?? ""]);
    }
  });

  it("keeps a recorded span's times exactly (epoch and microsecond offsets), also far from the epoch", () => {
    const { tracer, last } = recorder();
    for (const [start, end] of [
      [new Date(Date.now() - 86_400_000 * 400), new Date(Date.now() + 3_600_000)],
      [[1_700_000_000, 999_999_000] as HrTime, [1_700_000_001, 1_000] as HrTime],
    ] as const) {
      tracer.startSpan("t", { startTime: start }).end(end);
      const span = last();
      expect(roundTrip(span).wire).toMatchObject({ startUnixNanos: expectedWire(span, "").startUnixNanos, endUnixNanos: expectedWire(span, "").endUnixNanos });
    }
  });

  it("round-trips an SDK span with nanosecond times, taking the agent from its resource", () => {
    const { tracer, last } = sdkTracer("agent-x");
    const span = tracer.startSpan("sdk span", { kind: SpanKind.CONSUMER, startTime: [1_700_000_000, 123_456_789], attributes: { [CID]: "c", n: 1 } });
    span.setStatus({ code: SpanStatusCode.OK });
    span.end([1_700_000_002, 987_654_321]);
    const { wire } = roundTrip(last());
    expect(wire).toMatchObject({ ...expectedWire(last(), "ring-agent"), agentId: "agent-x", startUnixNanos: 1_700_000_000_123_456_789n, endUnixNanos: 1_700_000_002_987_654_321n, statusCode: 1 });
    // Years long, to the nanosecond.
    tracer.startSpan("long", { startTime: [1_000_000_000, 1] }).end([1_700_000_000, 999_999_999]);
    expect(roundTrip(last()).wire).toMatchObject({ startUnixNanos: 1_000_000_000_000_000_001n, endUnixNanos: 1_700_000_000_999_999_999n });
  });

  it("gives an SDK span the ring's agent when its resource names the same agent or none", () => {
    const same = sdkTracer("ring-agent");
    const times = [{ startTime: [1_000_000_000, 0] as HrTime }, [1_000_000_000, 500] as HrTime] as const;
    same.tracer.startSpan("s", times[0]).end(times[1]);
    const none = sdkTracer(undefined);
    none.tracer.startSpan("s", times[0]).end(times[1]);
    const withAgent = codec();
    const sameEnd = withAgent.writer.writeReadable(same.last(), "ring-agent", 0, 4096, 0);
    expect(withAgent.reader.decode(0, "ring-agent").agentId).toBe("ring-agent");
    // Same agent as the ring: not written at all (the record is as small as one with no agent).
    const noneEnd = withAgent.writer.writeReadable(none.last(), "ring-agent", 0, 4096, 0);
    expect(withAgent.reader.decode(0, "ring-agent").agentId).toBe("ring-agent");
    expect(sameEnd).toBe(noneEnd);
    const other = sdkTracer("agent-x");
    other.tracer.startSpan("s", times[0]).end(times[1]);
    expect(withAgent.writer.writeReadable(other.last(), "ring-agent", 0, 4096, 0)).toBeGreaterThan(noneEnd);
    expect(withAgent.reader.decode(0, "ring-agent").agentId).toBe("agent-x");
  });

  it("keeps ids that are not lowercase hex as text, and matches them as text", () => {
    const sc: SpanContext = { traceId: "0AF7651916CD43DD8448EB211C80319C", spanId: "short", traceFlags: 1 };
    const fake = {
      name: "n",
      kind: SpanKind.CLIENT,
      spanContext: () => sc,
      parentSpanContext: { traceId: sc.traceId, spanId: "père-ü", traceFlags: 1 },
      startTime: [10, 5] as HrTime,
      endTime: [10, 7] as HrTime,
      status: { code: SpanStatusCode.UNSET },
      attributes: { [CID]: "c" },
      resource: { attributes: {} },
    } as unknown as ReadableSpan;
    const c = codec();
    const { wire } = roundTrip(fake, "ring", c);
    expect(wire).toMatchObject({ traceId: sc.traceId, spanId: "short", parentSpanId: "père-ü", startUnixNanos: 10_000_000_005n, endUnixNanos: 10_000_000_007n, statusCode: 0, kind: 3 });
    expect(c.reader.matches(0, c.reader.prepare(sc.traceId, "c"))).toBe(true);
    expect(c.reader.matches(0, c.reader.prepare(sc.traceId.toLowerCase(), undefined))).toBe(false);
  });

  it("matches by trace id and string correlation id only", () => {
    const { tracer, ended } = recorder();
    tracer.startSpan("a", { attributes: { x: 1, [CID]: "c-1", y: "z" } }).end();
    tracer.startSpan("b", { attributes: { [CID]: 5 } }).end();
    tracer.startSpan("c", { attributes: { other: "c-1" } }).end();
    const c = codec();
    const at: number[] = [];
    let end = 0;
    for (const span of ended) {
      at.push(end);
      end = c.writer.writeRecorded(span, end, c.buf.length, 0);
    }
    const match = (traceId: string | undefined, correlationId: string | undefined) => at.map((a) => c.reader.matches(a, c.reader.prepare(traceId, correlationId)));
    expect(match(undefined, "c-1")).toEqual([true, false, false]);
    expect(match(undefined, "5")).toEqual([false, false, false]);
    expect(match(undefined, undefined)).toEqual([true, true, true]);
    expect(match("", "")).toEqual([true, true, true]);
    expect(match(ended[0].traceId, undefined)).toEqual([true, false, false]);
    expect(match(ended[1].traceId, "c-1")).toEqual([false, false, false]);
    expect(match("not a trace id", undefined)).toEqual([false, false, false]);
  });

  it("numbers names and keys in bounded tables and writes the others inline (matching an inline correlation key too)", () => {
    const names = new InternTable(2);
    const keys = new InternTable(1, 8);
    const c = codec(1 << 16, names, keys);
    const { tracer, ended } = recorder();
    for (let i = 0; i < 5; i++) tracer.startSpan(`name ${i} ü`, { attributes: { k: i, [CID]: `c${i}`, [`key ${i} é`]: `v${i}` } }).end();
    let end = 0;
    const at: number[] = [];
    for (const span of ended) {
      at.push(end);
      end = c.writer.writeRecorded(span, end, c.buf.length, 0);
    }
    expect(names.size).toBe(2);
    expect(keys.size).toBe(1);
    expect(keys.find(CID)).toBe(-1); // longer than 8: inline
    ended.forEach((span, i) => {
      expect(c.reader.decode(at[i], "r")).toMatchObject(expectedWire(span, "r"));
      expect(c.reader.matches(at[i], c.reader.prepare(undefined, `c${i}`))).toBe(true);
      expect(c.reader.matches(at[i], c.reader.prepare(undefined, `c${i + 1}`))).toBe(false);
    });
    const longName = new InternTable(10, 4);
    expect(longName.intern("12345")).toBe(-1);
    expect(longName.intern("1234")).toBe(0);
    expect(longName.intern("1234")).toBe(0);
    expect(longName.text(0)).toBe("1234");
  });

  it("fits a record exactly when its size is at most its space, and writes nothing outside the space", () => {
    const { tracer, ended } = recorder();
    for (let i = 0; i < 40; i++) {
      const attributes: Record<string, string | number> = { [CID]: "c".repeat(i * 7), n: i * 1_000_003 };
      if (i % 3 === 0) attributes["ü"] = "é".repeat(i);
      tracer.startSpan(`s${"x".repeat(i * 5)}`, { attributes }).end();
    }
    const c = codec(1 << 14);
    for (const span of ended) {
      const size = c.writer.writeRecorded(span, 0, c.buf.length, 0);
      for (const space of [size, size - 1, size - 2, Math.floor(size / 2)]) {
        c.buf.fill(0xaa);
        const end = c.writer.writeRecorded(span, 100, 100 + space, 0);
        expect(end).toBe(space >= size ? 100 + size : -1);
        expect(c.writer.reach).toBe(space >= size ? 100 + size : 100 + space);
        for (const i of [0, 99, 100 + space, 100 + space + 1, c.buf.length - 1]) expect(c.buf[i]).toBe(0xaa);
        if (end > 0) expect(c.reader.decode(100, "r")).toMatchObject(expectedWire(span, "r"));
      }
    }
  });

  it("cuts texts at character boundaries and leaves out attributes that do not fit, within its space", () => {
    const { tracer, last } = recorder();
    const attributes: Record<string, string> = { [CID]: "c", wide: "é".repeat(5000), ascii: "a".repeat(5000) };
    for (let i = 0; i < 200; i++) attributes[`attribute ${i}`] = "v".repeat(30);
    tracer.startSpan("n".repeat(3000), { attributes }).end();
    const span = last();
    const c = codec(1 << 16);
    expect(c.writer.writeRecorded(span, 0, 1024, 0)).toBe(-1);
    const end = c.writer.writeRecorded(span, 0, 1024, 33);
    expect(end).toBeGreaterThan(0);
    expect(end).toBeLessThanOrEqual(1024);
    const wire = c.reader.decode(0, "r");
    expect(wire.name).toBe("n".repeat(33));
    expect(wire.attributes).toMatchObject({ [CID]: "c", wide: "é".repeat(16), ascii: "a".repeat(33) });
    const kept = Object.keys(wire.attributes).filter((k) => k.startsWith("attribute "));
    expect(kept.length).toBeGreaterThan(0);
    expect(kept.length).toBeLessThan(200);
    for (const k of kept) expect(wire.attributes[k]).toBe("v".repeat(30));
    expect(c.reader.matches(0, c.reader.prepare(span.traceId, "c"))).toBe(true);
  });

  it("reads back integers near and beyond 2^53, arrays with holes and null as the wire's text", () => {
    const { tracer, last } = recorder();
    const values = { a: -(2 ** 53 - 1), b: 2 ** 53 - 1, c: 2 ** 52, d: -(2 ** 52), e: 2 ** 60, f: -(2 ** 63), g: 2 ** 64, holes: ["x", null, "y"] as string[], mixed: [1, 2 ** 60, 0.5, -0] };
    const span = tracer.startSpan("numbers", { attributes: values });
    span.end();
    // As String() and JSON print them (what the ring printed before integers beyond 2^52 were kept as doubles).
    expect(roundTrip(last()).wire.attributes).toEqual({
      a: "-9007199254740991",
      b: "9007199254740991",
      c: "4503599627370496",
      d: "-4503599627370496",
      e: String(2 ** 60),
      f: String(-(2 ** 63)),
      g: String(2 ** 64),
      holes: '["x",null,"y"]',
      mixed: JSON.stringify([1, 2 ** 60, 0.5, 0]),
    });
  });

  it("writes the tail of a span (events, links), which queries read back; marks records exact only when OTLP can be read from them", () => {
    const { tracer, last } = recorder();
    const link = { context: { traceId: "11111111111111111111111111111111", spanId: "2222222222222222", traceFlags: 1 }, attributes: { why: "retry" } };
    const span = tracer.startSpan("with tail", { attributes: { [CID]: "c-tail" }, links: [link] });
    span.addEvent("reply", { from: "b", n: 2 });
    span.addEvent("done");
    span.end();
    const c = codec();
    c.writer.writeRecorded(last(), 0, c.buf.length, 0);
    expect(c.writer.exact).toBe(false); // no scope: not exported from its bytes
    const read = c.reader.decode(0, "r");
    expect(read).toMatchObject(expectedWire(last(), "r"));
    expect(read.events.map((e) => [e.name, e.attributes])).toEqual([["reply", { from: "b", n: "2" }], ["done", {}]]);
    expect(read.events[0].timeUnixNanos).toBeGreaterThanOrEqual(read.startUnixNanos);
    expect(read.links.map((l) => [l.traceId, l.spanId, l.attributes])).toEqual([["11111111111111111111111111111111", "2222222222222222", { why: "retry" }]]);
    c.writer.writeRecorded(last(), 0, c.buf.length, 0, 1);
    expect(c.writer.exact).toBe(true);
    expect(c.reader.decode(0, "r")).toMatchObject(expectedWire(last(), "r"));
    expect(c.reader.matches(0, c.reader.prepare(last().traceId, "c-tail"))).toBe(true);
    c.writer.writeRecorded(last(), 0, 1024, 8, 1);
    expect(c.writer.exact).toBe(false); // cut
    expect(c.reader.decode(0, "r")).toMatchObject({ events: [], links: [] }); // a cut record has no tail
    const upper = trace.setSpanContext(ROOT_CONTEXT, { traceId: "0AF7651916CD43DD8448EB211C80319C", spanId: "B7AD6B7169203331", traceFlags: 1, isRemote: true });
    tracer.startSpan("uppercase parent", {}, upper).end();
    c.writer.writeRecorded(last(), 0, c.buf.length, 0, 1);
    expect(c.writer.exact).toBe(false);
    const sdk = sdkTracer("agent-s");
    sdk.tracer.startSpan("sdk").end();
    c.writer.writeReadable(sdk.last(), "r", 0, c.buf.length, 0);
    expect(c.writer.exact).toBe(false);
  });

  it("sizes varints", () => {
    const sizes = [0, 127, 128, 16_383, 16_384, 2 ** 21 - 1, 2 ** 21, 2 ** 28 - 1, 2 ** 28, 2 ** 35, 2 ** 53].map(varintSize);
    expect(sizes).toEqual([1, 1, 2, 2, 3, 3, 4, 4, 5, 6, 8]);
  });
});
