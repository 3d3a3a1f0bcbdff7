/** startTracing's reading of the standard environment variables: sampler, endpoint, resource, ring size. */
import { ROOT_CONTEXT, SpanKind, trace, TraceFlags } from "@opentelemetry/api";
import { AlwaysOffSampler, AlwaysOnSampler, ParentBasedSampler, SamplingDecision, TraceIdRatioBasedSampler, type Sampler } from "@opentelemetry/sdk-trace-base";
import { describe, expect, it } from "vitest";
import { Code, MeshError } from "../../src/protocol/errors.js";
import {
  asyncContextFromEnv,
  asyncLocalStorageIsCheap,
  exportQueueConfigFromEnv,
  parseResourceAttributes,
  ringSizeFromEnv,
  samplerFromEnv,
  spanLimitsFromEnv,
  startTracing,
  otlpTracesUrl,
  tracingResource,
} from "../../src/telemetry/tracing.js";
import { defaultNodeTracing } from "../../src/telemetry/node-tracing.js";

function invalid(fn: () => unknown, naming: string): void {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(MeshError);
    expect((err as MeshError).code).toBe(Code.InvalidArgument);
    expect((err as MeshError).message).toContain(naming);
    return;
  }
  throw new Error(`expected INVALID_ARGUMENT naming ${naming}`);
}

/** The decision of `sampler` for a root span, and for a child of a remote parent sampled or not. */
function decisions(sampler: Sampler): string {
  const traceId = "0af7651916cd43dd8448eb211c80319c";
  const decide = (ctx = ROOT_CONTEXT) => (sampler.shouldSample(ctx, traceId, "x", SpanKind.INTERNAL, {}, []).decision === SamplingDecision.RECORD_AND_SAMPLED ? "y" : "n");
  const parent = (flags: TraceFlags) => trace.setSpanContext(ROOT_CONTEXT, { traceId, spanId: "b7ad6b7169203331", traceFlags: flags, isRemote: true });
  return `${decide()}${decide(parent(TraceFlags.SAMPLED))}${decide(parent(TraceFlags.NONE))}`;
}

describe("samplerFromEnv", () => {
  it.each([
    [{}, ParentBasedSampler, "yyn"],
    [{ OTEL_TRACES_SAMPLER: "always_on" }, AlwaysOnSampler, "yyy"],
    [{ OTEL_TRACES_SAMPLER: "ALWAYS_OFF" }, AlwaysOffSampler, "nnn"],
    [{ OTEL_TRACES_SAMPLER: "parentbased_always_on" }, ParentBasedSampler, "yyn"],
    [{ OTEL_TRACES_SAMPLER: "parentbased_always_off" }, ParentBasedSampler, "nyn"],
    [{ OTEL_TRACES_SAMPLER: "traceidratio", OTEL_TRACES_SAMPLER_ARG: "0" }, TraceIdRatioBasedSampler, "nnn"],
    [{ OTEL_TRACES_SAMPLER: "traceidratio" }, TraceIdRatioBasedSampler, "yyy"],
    [{ OTEL_TRACES_SAMPLER: "parentbased_traceidratio", OTEL_TRACES_SAMPLER_ARG: "0" }, ParentBasedSampler, "nyn"],
  ])("%o", (env, type, expected) => {
    const sampler = samplerFromEnv(env);
    expect(sampler).toBeInstanceOf(type);
    expect(decisions(sampler)).toBe(expected);
  });

  it("refuses unknown names and ratios out of range, naming the variable", () => {
    invalid(() => samplerFromEnv({ OTEL_TRACES_SAMPLER: "jaeger_remote" }), "OTEL_TRACES_SAMPLER");
    invalid(() => samplerFromEnv({ OTEL_TRACES_SAMPLER: "traceidratio", OTEL_TRACES_SAMPLER_ARG: "1.5" }), "OTEL_TRACES_SAMPLER_ARG");
    invalid(() => samplerFromEnv({ OTEL_TRACES_SAMPLER: "parentbased_traceidratio", OTEL_TRACES_SAMPLER_ARG: "half" }), "OTEL_TRACES_SAMPLER_ARG");
  });
});

describe("otlpTracesUrl", () => {
  it.each([
    [{}, undefined],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: "http://localhost:4318" }, "http://localhost:4318/v1/traces"],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318/" }, "http://collector:4318/v1/traces"],
    [{ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "https://x.example/otlp/traces" }, "https://x.example/otlp/traces"],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: "http://a:4318", OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://b:9999/t" }, "http://b:9999/t"],
  ])("%o → %s", (env, url) => {
    expect(otlpTracesUrl(env)).toBe(url);
  });

  it("refuses what is not an http(s) URL, naming the variable", () => {
    invalid(() => otlpTracesUrl({ OTEL_EXPORTER_OTLP_ENDPOINT: "localhost:4318" }), "OTEL_EXPORTER_OTLP_ENDPOINT");
    invalid(() => otlpTracesUrl({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "not a url" }), "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
  });
});

describe("the resource", () => {
  it("names the agent and the service (OTEL_SERVICE_NAME, else OTEL_RESOURCE_ATTRIBUTES, else the agent id) in the mesh's namespace", () => {
    expect(tracingResource("a1", {}).attributes).toMatchObject({
      "service.name": "a1",
      "service.namespace": "agent-mesh",
      "service.instance.id": "a1",
      "agentmesh.agent_id": "a1",
      "telemetry.sdk.language": "nodejs",
    });
    expect(tracingResource("a4", { OTEL_RESOURCE_ATTRIBUTES: "service.namespace=prod-mesh" }).attributes).toMatchObject({ "service.name": "a4", "service.namespace": "prod-mesh" });
    const r = tracingResource("a2", { OTEL_RESOURCE_ATTRIBUTES: "deployment.environment=staging,service.name=from-attrs,team=r%26d" });
    expect(r.attributes).toMatchObject({ "service.name": "from-attrs", "service.namespace": "agent-mesh", "deployment.environment": "staging", team: "r&d", "service.instance.id": "a2" });
    expect(tracingResource("a3", { OTEL_SERVICE_NAME: "ocr-fleet", OTEL_RESOURCE_ATTRIBUTES: "service.name=x" }).attributes["service.name"]).toBe("ocr-fleet");
  });

  it("parses OTEL_RESOURCE_ATTRIBUTES and refuses malformed pairs", () => {
    expect(parseResourceAttributes(" a=1 , b = two ,,")).toEqual({ a: "1", b: "two" });
    invalid(() => parseResourceAttributes("novalue"), "OTEL_RESOURCE_ATTRIBUTES");
    invalid(() => parseResourceAttributes("k=%E0%A4%A"), "OTEL_RESOURCE_ATTRIBUTES");
  });
});

describe("startTracing", () => {
  it("keeps a ring of 4096 spans by default, or AGENT_MESH_TRACE_RING_SIZE", () => {
    expect(ringSizeFromEnv({})).toBe(4096);
    expect(ringSizeFromEnv({ AGENT_MESH_TRACE_RING_SIZE: "100" })).toBe(100);
    invalid(() => ringSizeFromEnv({ AGENT_MESH_TRACE_RING_SIZE: "-1" }), "AGENT_MESH_TRACE_RING_SIZE");
    const t = startTracing({ agentId: "a", env: { AGENT_MESH_TRACE_RING_SIZE: "16" }, register: false });
    expect(t.enabled).toBe(true);
    expect(t.spans?.capacity).toBe(16);
    expect(t.exportUrl).toBeUndefined();
    expect(t.traceMembership).toBe(false);
    void t.shutdown();
  });

  it("installs nothing when there is neither a ring nor an endpoint, or the SDK is disabled", () => {
    for (const env of [{ AGENT_MESH_TRACE_RING_SIZE: "0" }, { OTEL_SDK_DISABLED: "true", OTEL_EXPORTER_OTLP_ENDPOINT: "http://localhost:4318" }]) {
      const t = startTracing({ agentId: "a", env });
      expect(t.enabled).toBe(false);
      expect(t.spans).toBeUndefined();
      expect(trace.getTracer("x").startSpan("s").isRecording()).toBe(false);
      expect(defaultNodeTracing().spans).toBeUndefined();
    }
  });

  it("exports over OTLP/HTTP when an endpoint is set, and registers itself as the process's tracing", async () => {
    const t = startTracing({ agentId: "a", env: { OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:1", AGENT_MESH_TRACE_MEMBERSHIP: "true" } });
    try {
      expect(t.exportUrl).toBe("http://127.0.0.1:1/v1/traces");
      expect(t.traceMembership).toBe(true);
      expect(defaultNodeTracing()).toBe(t);
      const span = trace.getTracer("x").startSpan("s");
      expect(span.isRecording()).toBe(true);
      span.end();
      expect(t.spans?.query({ traceId: span.spanContext().traceId }).map((s) => s.name)).toEqual(["s"]);
    } finally {
      const started = Date.now();
      await t.shutdown(1000); // the collector is unreachable: the flush gives up, the shutdown does not hang
      expect(Date.now() - started).toBeLessThan(3000);
    }
    expect(defaultNodeTracing().spans).toBeUndefined();
    expect(trace.getTracer("x").startSpan("s").isRecording()).toBe(false);
  });

  it("refuses a bad switch value, naming it", () => {
    invalid(() => startTracing({ agentId: "a", env: { AGENT_MESH_TRACE_MEMBERSHIP: "maybe" } }), "AGENT_MESH_TRACE_MEMBERSHIP");
    invalid(() => startTracing({ agentId: "a", env: { OTEL_TRACES_EXPORTER: "zipkin" } }), "OTEL_TRACES_EXPORTER");
  });
});

describe("limits, the export queue and the context manager from the environment", () => {
  it("reads the span limits, the SDK's defaults otherwise", () => {
    expect(spanLimitsFromEnv({})).toEqual({ attributeCount: 128, attributeValueLength: Infinity, eventCount: 128, linkCount: 128, attributesPerEvent: 128, attributesPerLink: 128 });
    expect(spanLimitsFromEnv({ OTEL_ATTRIBUTE_COUNT_LIMIT: "10", OTEL_SPAN_EVENT_COUNT_LIMIT: "3", OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT: "64" })).toMatchObject({ attributeCount: 10, eventCount: 3, attributeValueLength: 64 });
    expect(spanLimitsFromEnv({ OTEL_ATTRIBUTE_COUNT_LIMIT: "10", OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT: "20" }).attributeCount).toBe(20);
    invalid(() => spanLimitsFromEnv({ OTEL_SPAN_LINK_COUNT_LIMIT: "many" }), "OTEL_SPAN_LINK_COUNT_LIMIT");
  });

  it("reads the export queue's OTEL_BSP_* limits and timers, the SDK's defaults otherwise", () => {
    expect(exportQueueConfigFromEnv({})).toEqual({ maxQueueSize: 4096, maxExportBatchSize: 1024, scheduledDelayMs: 5000, exportTimeoutMs: 30_000, maxConcurrentExports: 2 });
    expect(exportQueueConfigFromEnv({ OTEL_BSP_MAX_QUEUE_SIZE: "100", OTEL_BSP_MAX_EXPORT_BATCH_SIZE: "10", OTEL_BSP_SCHEDULE_DELAY: "50", OTEL_BSP_EXPORT_TIMEOUT: "1000", AGENT_MESH_TRACE_EXPORT_CONCURRENCY: "4" })).toEqual({
      maxQueueSize: 100,
      maxExportBatchSize: 10,
      scheduledDelayMs: 50,
      exportTimeoutMs: 1000,
      maxConcurrentExports: 4,
    });
    invalid(() => exportQueueConfigFromEnv({ OTEL_BSP_MAX_QUEUE_SIZE: "0" }), "OTEL_BSP_MAX_QUEUE_SIZE");
  });

  it("uses AsyncLocalStorage where it runs without promise hooks, unless AGENT_MESH_TRACE_ASYNC_CONTEXT says", () => {
    expect(asyncLocalStorageIsCheap("20.20.2", [])).toBe(false);
    expect(asyncLocalStorageIsCheap("22.12.0", ["--experimental-async-context-frame"])).toBe(true);
    expect(asyncLocalStorageIsCheap("24.1.0", [])).toBe(true);
    expect(asyncLocalStorageIsCheap("24.1.0", ["--no-async-context-frame"])).toBe(false);
    expect(asyncContextFromEnv({})).toBe(asyncLocalStorageIsCheap());
    expect(asyncContextFromEnv({ AGENT_MESH_TRACE_ASYNC_CONTEXT: "true" })).toBe(true);
    expect(asyncContextFromEnv({ AGENT_MESH_TRACE_ASYNC_CONTEXT: "0" })).toBe(false);
    invalid(() => asyncContextFromEnv({ AGENT_MESH_TRACE_ASYNC_CONTEXT: "sometimes" }), "AGENT_MESH_TRACE_ASYNC_CONTEXT");
  });
});
