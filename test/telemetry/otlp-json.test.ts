/**
 * The OTLP/JSON written straight from recorded spans says what the SDK's JSON serializer says for the same
 * spans (parsed and compared, default values aside) — names and values that need escaping included.
 */
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, TraceFlags } from "@opentelemetry/api";
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import { withSpan } from "../../src/protocol/trace-context.js";
import { encodeSpansJson } from "../../src/telemetry/otlp-json.js";
import type { RecordedSpan } from "../../src/telemetry/recorded-span.js";
import { leanSampler, samplerSpecFromEnv } from "../../src/telemetry/sampling.js";
import { SpanRecorder } from "../../src/telemetry/span-recorder.js";
import { tracingResource } from "../../src/telemetry/tracing.js";

/** The SDK's JSON serializer, from the transformer package the exporter uses. */
const { JsonTraceSerializer } = createRequire(import.meta.url)("@opentelemetry/otlp-transformer") as { JsonTraceSerializer: { serializeRequest(spans: unknown[]): Uint8Array } };

/** `value` without the fields OTLP/JSON may leave out (zeros, empty lists, empty objects, undefined). */
function normal(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(normal);
  if (value === null || typeof value !== "object") return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    const n = normal(v);
    if (n === undefined || n === 0 || (Array.isArray(n) && n.length === 0) || (typeof n === "object" && n !== null && !Array.isArray(n) && Object.keys(n).length === 0)) continue;
    out[k] = n;
  }
  return out;
}

function spans(): RecordedSpan[] {
  const ended: RecordedSpan[] = [];
  const recorder = new SpanRecorder({
    sampler: leanSampler(samplerSpecFromEnv({})),
    sinks: [{ onEnd: (s) => void ended.push(s), forceFlush: () => Promise.resolve(), shutdown: () => Promise.resolve() }],
    resource: () => tracingResource("agent-j", { OTEL_RESOURCE_ATTRIBUTES: "team=r%26d" }),
  });
  const tracer = recorder.getTracer("agent-mesh", "0.1.0");
  const other = recorder.getTracer("other");
  const remote = trace.setSpanContext(ROOT_CONTEXT, { traceId: "0af7651916cd43dd8448eb211c80319c", spanId: "b7ad6b7169203331", traceFlags: TraceFlags.SAMPLED, isRemote: true });
  const server = tracer.startSpan("handle task_request", { kind: SpanKind.SERVER, attributes: { "agentmesh.hops": 2, ratio: 0.5, ok: true, list: ["a", "b"], nums: [1, 2] } }, remote);
  const child = tracer.startSpan('quote " back\\slash\nnew line é 🚀 \ud800', { links: [{ context: server.spanContext(), attributes: { why: "x" } }] }, withSpan(ROOT_CONTEXT, server));
  child.setAttribute("text", 'say "hi"\t');
  child.addEvent("reply", { "agentmesh.reply.from": "b" });
  child.addEvent("bare");
  child.setStatus({ code: SpanStatusCode.ERROR, message: "it \"failed\"" });
  child.end();
  server.setStatus({ code: SpanStatusCode.OK });
  server.end();
  other.startSpan("elsewhere", { kind: SpanKind.PRODUCER }).end();
  return ended;
}

describe("encodeSpansJson", () => {
  it("says what the SDK's JSON serializer says", () => {
    const list = spans();
    const ours = JSON.parse(Buffer.from(encodeSpansJson(list)).toString("utf8"));
    const sdk = JSON.parse(Buffer.from(JsonTraceSerializer.serializeRequest(list)).toString("utf8"));
    expect(normal(ours)).toEqual(normal(sdk));
    expect(ours.resourceSpans[0].scopeSpans).toHaveLength(2);
    const names = ours.resourceSpans[0].scopeSpans.flatMap((s: { spans: { name: string }[] }) => s.spans.map((x) => x.name));
    expect(names).toContain('quote " back\\slash\nnew line é 🚀 \ud800');
  });
});
