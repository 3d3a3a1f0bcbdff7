/**
 * Trace context on the wire (envelope field and gRPC headers) and in the logs: inject/extract round trips
 * with the W3C propagators, nothing carried without an SDK, trace_id/span_id on log lines written in a span.
 */
import { context, propagation, ROOT_CONTEXT, trace, TraceFlags } from "@opentelemetry/api";
import { BasicTracerProvider } from "@opentelemetry/sdk-trace-base";
import { describe, expect, it } from "vitest";
import { extractTrace, headersGetter, injectTrace, messageTypeOf, spanTrace } from "../../src/protocol/trace-context.js";
import { createJsonLogger } from "../../src/telemetry/logger.js";
import { installContextAndPropagation } from "../../src/telemetry/tracing.js";
import { W3CPropagator } from "../../src/telemetry/w3c-propagator.js";
import type { TraceContext } from "../../gen/agentmesh/v1/envelope_pb.js";

/** The span id of a W3C traceparent (version-traceid-spanid-flags). */
const spanIdOf = (traceparent: string): string => traceparent.split("-")[2];

const remote = { traceId: "0af7651916cd43dd8448eb211c80319c", spanId: "b7ad6b7169203331", traceFlags: TraceFlags.SAMPLED, isRemote: true };

describe("without an SDK", () => {
  it("carries nothing: no trace context is built for envelopes", () => {
    const span = trace.getTracer("t").startSpan("s");
    expect(span.isRecording()).toBe(false);
    expect(spanTrace(ROOT_CONTEXT, span)).toBeUndefined();
  });
});

describe("with the W3C propagators", () => {
  it("round-trips span context and baggage through an envelope's trace field", () => {
    installContextAndPropagation();
    let ctx = trace.setSpanContext(ROOT_CONTEXT, remote);
    ctx = propagation.setBaggage(ctx, propagation.createBaggage({ tenant: { value: "acme" } }));
    const carried = injectTrace(ctx);
    expect(carried).toMatchObject({ traceparent: `00-${remote.traceId}-${remote.spanId}-01`, baggage: "tenant=acme" });
    expect(spanIdOf(carried!.traceparent)).toBe(remote.spanId);
    const back = extractTrace(carried);
    expect(trace.getSpanContext(back)).toMatchObject({ traceId: remote.traceId, spanId: remote.spanId, isRemote: true });
    expect(propagation.getBaggage(back)?.getEntry("tenant")?.value).toBe("acme");
    expect(extractTrace(undefined)).toBe(ROOT_CONTEXT);
  });

  it("makes a trace field of its own for every inject, also when a propagator injects again from within its inject", () => {
    installContextAndPropagation();
    const outer = trace.setSpanContext(ROOT_CONTEXT, remote);
    const inner = trace.setSpanContext(ROOT_CONTEXT, { ...remote, spanId: "00f067aa0ba902b7" });
    const first = injectTrace(outer);
    const second = injectTrace(outer);
    expect(second).toEqual(first);
    expect(second).not.toBe(first);
    const w3c = new W3CPropagator();
    let nested: TraceContext | undefined;
    propagation.disable();
    propagation.setGlobalPropagator({
      inject: (ctx, carrier, setter) => {
        if (ctx === outer) nested = injectTrace(inner);
        w3c.inject(ctx, carrier, setter);
      },
      extract: (ctx, carrier, getter) => w3c.extract(ctx, carrier, getter),
      fields: () => w3c.fields(),
    });
    try {
      expect(spanIdOf(injectTrace(outer)!.traceparent)).toBe(remote.spanId);
      expect(spanIdOf(nested!.traceparent)).toBe("00f067aa0ba902b7");
      expect(injectTrace(ROOT_CONTEXT)).toBeUndefined();
    } finally {
      propagation.disable();
      propagation.setGlobalPropagator(w3c);
    }
  });

  it("reads W3C headers of a client call", () => {
    installContextAndPropagation();
    const headers = new Headers({ traceparent: `00-${remote.traceId}-${remote.spanId}-01`, tracestate: "vendor=1" });
    const ctx = propagation.extract(ROOT_CONTEXT, headers, headersGetter);
    expect(trace.getSpanContext(ctx)?.traceId).toBe(remote.traceId);
    expect(trace.getSpanContext(ctx)?.traceState?.get("vendor")).toBe("1");
  });

  it("names body cases as message types", () => {
    expect([messageTypeOf("taskRequest"), messageTypeOf("gossipDigest"), messageTypeOf(undefined)]).toEqual(["task_request", "gossip_digest", "empty"]);
  });
});

describe("log lines", () => {
  it("carry trace_id and span_id of the active span, and none outside a span", async () => {
    installContextAndPropagation();
    const lines: Record<string, unknown>[] = [];
    const log = createJsonLogger({ level: "info", stream: { write: (l) => void lines.push(JSON.parse(l) as Record<string, unknown>) } }).child({ agent: "a" });
    const tracer = new BasicTracerProvider().getTracer("t");
    const span = tracer.startSpan("run echo");
    await context.with(trace.setSpan(ROOT_CONTEXT, span), async () => {
      await Promise.resolve();
      log.info({ correlation_id: "c-1" }, "inside");
    });
    log.info({}, "outside");
    span.end();
    expect(lines[0]).toMatchObject({ msg: "inside", agent: "a", correlation_id: "c-1", trace_id: span.spanContext().traceId, span_id: span.spanContext().spanId });
    expect(lines[1].msg).toBe("outside");
    expect(lines[1]).not.toHaveProperty("trace_id");
  });
});
