/**
 * The SDK-free W3C propagator reads and writes traceparent, tracestate and baggage exactly as
 * @opentelemetry/core's propagators do (checked against them on valid and malformed headers), and the
 * overlay contexts the span sites use behave as the API's contexts.
 */
import { defaultTextMapGetter, defaultTextMapSetter, INVALID_SPAN_CONTEXT, propagation, ROOT_CONTEXT, trace, TraceFlags, type Context } from "@opentelemetry/api";
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from "@opentelemetry/core";
import { describe, expect, it } from "vitest";
import { withSpan } from "../../src/protocol/trace-context.js";
import { ContextOnlySpan } from "../../src/telemetry/context-only-span.js";
import { formatTraceparent, parseTraceparent, W3CPropagator } from "../../src/telemetry/w3c-propagator.js";

const core = new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] });
const lean = new W3CPropagator();

/** What a context carries, for comparison: the span context and the baggage entries. */
function carried(ctx: Context) {
  const sc = trace.getSpanContext(ctx);
  return {
    span: sc === undefined ? undefined : { traceId: sc.traceId, spanId: sc.spanId, traceFlags: sc.traceFlags, isRemote: sc.isRemote, traceState: sc.traceState?.serialize() },
    baggage: propagation.getBaggage(ctx)?.getAllEntries().map(([k, e]) => [k, e.value, e.metadata?.toString()]),
  };
}

const TRACE = "0af7651916cd43dd8448eb211c80319c";
const SPAN = "b7ad6b7169203331";

describe("W3CPropagator", () => {
  it.each([
    `00-${TRACE}-${SPAN}-01`,
    `00-${TRACE}-${SPAN}-00`,
    `00-${TRACE}-${SPAN}-03`,
    ` 00-${TRACE}-${SPAN}-01 `,
    `\t00-${TRACE}-${SPAN}-01`,
    `00-${TRACE}-${SPAN}-01\n`,
    ` 01-${TRACE}-${SPAN}-01-future-stuff `,
    `  00-${TRACE}-${SPAN}-01`,
    `00-${TRACE}-${SPAN}-01-`,
    `01-${TRACE}-${SPAN}-01x`,
    `01-${TRACE}-${SPAN}-01-future-stuff`,
    `00-${TRACE}-${SPAN}-01-extra`,
    `ff-${TRACE}-${SPAN}-01`,
    `00-${TRACE.toUpperCase()}-${SPAN}-01`,
    `00-00000000000000000000000000000000-${SPAN}-01`,
    `00-${TRACE}-0000000000000000-01`,
    `00-${TRACE}-${SPAN}-1`,
    `00-${TRACE}_${SPAN}-01`,
    "",
    "garbage",
  ])("extracts traceparent %j as core does", (traceparent) => {
    const carrier = { traceparent, tracestate: "vendor=1,other=x" };
    expect(carried(lean.extract(ROOT_CONTEXT, carrier, defaultTextMapGetter))).toEqual(carried(core.extract(ROOT_CONTEXT, carrier, defaultTextMapGetter)));
  });

  it.each(["tenant=acme", "a=1,b=2;prop=x", "k%20ey=v%2Cal , bad, =novalue, novalue=", "x=%E0%A4%A", `${"k".repeat(5000)}=v,ok=1`])("extracts baggage %j as core does", (baggage) => {
    const carrier = { baggage };
    expect(carried(lean.extract(ROOT_CONTEXT, carrier, defaultTextMapGetter))).toEqual(carried(core.extract(ROOT_CONTEXT, carrier, defaultTextMapGetter)));
  });

  it("extracts a remote parent that is its own span context", () => {
    const ctx = lean.extract(ROOT_CONTEXT, { traceparent: ` 00-${TRACE}-${SPAN}-01`, tracestate: "vendor=1" }, defaultTextMapGetter);
    const parent = trace.getSpan(ctx);
    expect(parent).toBeInstanceOf(ContextOnlySpan);
    expect(parent?.spanContext()).toBe(parent);
    expect(parent?.spanContext()).toMatchObject({ traceId: TRACE, spanId: SPAN, traceFlags: TraceFlags.SAMPLED, isRemote: true });
    expect(parent?.spanContext().traceState?.get("vendor")).toBe("1");
    expect(parent?.isRecording()).toBe(false);
  });

  it("formats and parses traceparent values", () => {
    expect([0, 1, 3, 0x1ff].map((flags) => formatTraceparent(TRACE, SPAN, flags))).toEqual([`00-${TRACE}-${SPAN}-00`, `00-${TRACE}-${SPAN}-01`, `00-${TRACE}-${SPAN}-03`, `00-${TRACE}-${SPAN}-ff`]);
    expect(parseTraceparent(formatTraceparent(TRACE, SPAN, 3))).toEqual({ traceId: TRACE, spanId: SPAN, traceFlags: 3 });
    expect(parseTraceparent(`\t01-${TRACE}-${SPAN}-01-more `)).toEqual({ traceId: TRACE, spanId: SPAN, traceFlags: 1 });
    expect(parseTraceparent(`00-${TRACE}-${SPAN}-01-more`)).toBeUndefined();
    expect(parseTraceparent(`00-${TRACE}-${SPAN}-0g`)).toBeUndefined();
  });

  it("injects what core injects, and nothing where tracing is suppressed", () => {
    let ctx = trace.setSpanContext(ROOT_CONTEXT, { traceId: TRACE, spanId: SPAN, traceFlags: TraceFlags.SAMPLED });
    ctx = core.extract(ctx, { tracestate: "vendor=1" }, defaultTextMapGetter);
    const sc = trace.getSpanContext(core.extract(ROOT_CONTEXT, { traceparent: `00-${TRACE}-${SPAN}-01`, tracestate: "vendor=1" }, defaultTextMapGetter))!;
    ctx = trace.setSpanContext(ROOT_CONTEXT, sc);
    ctx = propagation.setBaggage(ctx, propagation.createBaggage({ tenant: { value: "a c" }, "k,1": { value: "v;2" } }));
    const a: Record<string, string> = {};
    const b: Record<string, string> = {};
    lean.inject(ctx, a, defaultTextMapSetter);
    core.inject(ctx, b, defaultTextMapSetter);
    expect(a).toEqual(b);
    expect(a.traceparent).toBe(`00-${TRACE}-${SPAN}-01`);
    const suppressed: Record<string, string> = {};
    lean.inject(ctx.setValue(Symbol.for("OpenTelemetry SDK Context Key SUPPRESS_TRACING"), true), suppressed, defaultTextMapSetter);
    expect(suppressed).toEqual({});
  });
});

describe("withSpan (overlay contexts)", () => {
  it("behaves as trace.setSpan: get, set, delete, a deep chain; a no-op span leaves the context as it is", () => {
    const key = Symbol("k");
    const base = ROOT_CONTEXT.setValue(key, "base");
    const span = trace.wrapSpanContext({ traceId: TRACE, spanId: SPAN, traceFlags: 1 });
    const ctx = withSpan(base, span);
    expect(trace.getSpan(ctx)).toBe(span);
    expect(ctx.getValue(key)).toBe("base");
    expect(trace.getSpan(base)).toBeUndefined();
    expect(ctx.deleteValue(key).getValue(key)).toBeUndefined();
    expect(trace.getSpan(trace.deleteSpan(ctx))).toBeUndefined();
    expect(ctx.setValue(key, "over").getValue(key)).toBe("over");
    // A no-op span (tracing off) changes nothing, and costs no context.
    expect(withSpan(base, trace.wrapSpanContext(INVALID_SPAN_CONTEXT))).toBe(base);
    let deep: Context = ctx;
    const spans = Array.from({ length: 40 }, (_, i) => trace.wrapSpanContext({ traceId: TRACE, spanId: String(i + 1).padStart(16, "0"), traceFlags: 1 }));
    for (const s of spans) deep = withSpan(deep, s);
    expect(trace.getSpan(deep)).toBe(spans[39]);
    expect(deep.getValue(key)).toBe("base");
  });
});
