/**
 * The lean samplers (a node that only keeps its ring) decide exactly as the SDK's samplers for every name
 * OTEL_TRACES_SAMPLER accepts: roots by trace id, children of sampled and unsampled, local and remote parents.
 */
import { ROOT_CONTEXT, SamplingDecision, SpanKind, trace, TraceFlags, type Context, type Sampler } from "@opentelemetry/api";
import { describe, expect, it } from "vitest";
import { withSpan } from "../../src/protocol/trace-context.js";
import { leanSampler, SAMPLER_NAMES, samplerSpecFromEnv, sdkSampler } from "../../src/telemetry/sampling.js";
import { newTraceId } from "../../src/telemetry/span-ids.js";
import { SpanRecorder } from "../../src/telemetry/span-recorder.js";
import { tracingResource } from "../../src/telemetry/tracing.js";

/** Contexts to decide in: none, remote parents sampled or not, local recorded parents sampled or not. */
function parents(): Context[] {
  const remote = (flags: TraceFlags) => trace.setSpanContext(ROOT_CONTEXT, { traceId: newTraceId(), spanId: "b7ad6b7169203331", traceFlags: flags, isRemote: true });
  const local = (env: NodeJS.ProcessEnv) => {
    const tracer = new SpanRecorder({ sampler: leanSampler(samplerSpecFromEnv(env)), sinks: [], resource: () => tracingResource("x", {}) }).getTracer("t");
    return withSpan(ROOT_CONTEXT, tracer.startSpan("parent"));
  };
  return [ROOT_CONTEXT, remote(TraceFlags.SAMPLED), remote(TraceFlags.NONE), local({}), local({ OTEL_TRACES_SAMPLER: "always_off" })];
}

function decide(sampler: Sampler, ctx: Context, traceId: string): SamplingDecision {
  return sampler.shouldSample(ctx, traceId, "span", SpanKind.INTERNAL, {}, []).decision;
}

describe("lean samplers", () => {
  it.each(SAMPLER_NAMES.flatMap((name) => (name.endsWith("traceidratio") ? ["0", "0.3", "1"].map((arg) => [name, arg]) : [[name, ""]])))(
    "%s %s decides as the SDK's",
    (name, arg) => {
      const spec = samplerSpecFromEnv({ OTEL_TRACES_SAMPLER: name, OTEL_TRACES_SAMPLER_ARG: arg });
      const lean = leanSampler(spec);
      const sdk = sdkSampler(spec);
      const contexts = parents();
      let differences = 0;
      for (let i = 0; i < 400; i++) {
        const traceId = newTraceId();
        for (const ctx of contexts) if (decide(lean, ctx, traceId) !== decide(sdk, ctx, traceId)) differences++;
      }
      expect(differences).toBe(0);
    },
  );

  it("defaults to parentbased_always_on and reads the ratio", () => {
    expect(samplerSpecFromEnv({})).toEqual({ name: "parentbased_always_on", ratio: 1 });
    expect(samplerSpecFromEnv({ OTEL_TRACES_SAMPLER: " TraceIdRatio ", OTEL_TRACES_SAMPLER_ARG: "0.5" })).toEqual({ name: "traceidratio", ratio: 0.5 });
  });
});
