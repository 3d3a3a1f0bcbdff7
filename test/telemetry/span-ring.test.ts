/** The span ring: bounded, oldest overwritten, queried by correlation id and trace id, converted to the wire type. */
import { ROOT_CONTEXT, SpanKind as OtelKind, SpanStatusCode as OtelStatus, trace } from "@opentelemetry/api";
import { BasicTracerProvider } from "@opentelemetry/sdk-trace-base";
import { describe, expect, it } from "vitest";
import { SpanKind, SpanStatusCode } from "../../gen/agentmesh/v1/trace_pb.js";
import { SpanRing } from "../../src/telemetry/span-ring.js";
import { tracingResource } from "../../src/telemetry/tracing.js";

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
});
