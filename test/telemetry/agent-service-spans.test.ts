/**
 * The AgentService's SERVER spans: each continues the caller's trace from the request headers and carries the
 * rpc.* attributes and the request's (and, for SubmitTask, the outcome's) mesh attributes.
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import type { HandlerContext } from "@connectrpc/connect";
import * as grpc from "@grpc/grpc-js";
import { SpanKind } from "@opentelemetry/api";
import { describe, expect, it } from "vitest";
import { PublishRequestSchema, SubmitTaskRequestSchema, SubmitTaskResponseSchema } from "../../gen/agentmesh/v1/agent_service_pb.js";
import { AgentNode } from "../../src/node/agent-node.js";
import { createAgentService } from "../../src/node/agent-service.js";
import { toPayload } from "../../src/protocol/payload.js";
import { TRACER_NAME } from "../../src/protocol/trace-context.js";
import { startMemoryMesh } from "../helpers/memory-mesh.js";
import { only, spanWorldStopping, type Started } from "./span-world.js";

const started: Started = {};
const world = spanWorldStopping(started);

const TRACE = "0af7651916cd43dd8448eb211c80319c";
const CALLER = "b7ad6b7169203331";
/** A handler context whose request headers carry the caller's trace context. */
const callerContext = () => ({ requestHeader: new Headers({ traceparent: `00-${TRACE}-${CALLER}-01` }), signal: new AbortController().signal }) as unknown as HandlerContext;

describe("AgentService spans", () => {
  it("SubmitTask and Publish continue the caller's trace with the rpc and mesh attributes", async () => {
    const tracing = world.tracingFor("a");
    const mesh = (started.mesh = await startMemoryMesh([{ id: "a", config: { tracing } }, { id: "b", config: { tracing: world.tracingFor("b") }, handlers: { echo: (x: unknown) => x } }]));
    const service = createAgentService(mesh.node("a"), tracing.tracerProvider.getTracer(TRACER_NAME));
    const res = await service.submitTask(create(SubmitTaskRequestSchema, { capability: "echo", input: toPayload("hi"), correlationId: "corr-rpc" }), callerContext());
    await service.publish(create(PublishRequestSchema, { topic: "news", type: "note", payload: toPayload(1), correlationId: "corr-pub" }), callerContext());

    const spans = world.exporter.getFinishedSpans();
    const submit = only(spans, "a", "agentmesh.v1.AgentService/SubmitTask");
    expect(submit.kind).toBe(SpanKind.SERVER);
    expect(submit.spanContext().traceId).toBe(TRACE);
    expect(submit.parentSpanContext?.spanId).toBe(CALLER);
    expect(submit.attributes).toEqual({
      "rpc.system": "grpc",
      "rpc.service": "agentmesh.v1.AgentService",
      "rpc.method": "SubmitTask",
      "agentmesh.correlation_id": "corr-rpc",
      "agentmesh.capability": "echo",
      "agentmesh.to": "b",
      "agentmesh.hops": res.hops,
    });
    // The task's id and attempt are on its route span, the SubmitTask span's child.
    const route = only(spans, "a", "route echo");
    expect(route.parentSpanContext?.spanId).toBe(submit.spanContext().spanId);
    expect(route.attributes).toMatchObject({ "agentmesh.task_id": res.taskId, "agentmesh.to": "b" });
    // A first attempt is not named (agentmesh.attempt is on reassignments' spans only).
    expect(res.attempt).toBe(1);
    expect(route.attributes["agentmesh.attempt"]).toBeUndefined();
    const publish = only(spans, "a", "agentmesh.v1.AgentService/Publish");
    expect(publish.parentSpanContext?.spanId).toBe(CALLER);
    expect(publish.attributes).toEqual({
      "rpc.system": "grpc",
      "rpc.service": "agentmesh.v1.AgentService",
      "rpc.method": "Publish",
      "agentmesh.correlation_id": "corr-pub",
      "agentmesh.message_type": "note",
      "agentmesh.to": "topic:news",
    });
  });

  it("SubmitTask over plain gRPC continues the trace of the caller's traceparent metadata", async () => {
    const node = (started.node = await AgentNode.start({ id: "a", host: "127.0.0.1", port: 0, tracing: world.tracingFor("a") }));
    node.announceCapability("echo", (x: unknown) => x);
    const client = new grpc.Client(node.address, grpc.credentials.createInsecure());
    try {
      const metadata = new grpc.Metadata();
      metadata.set("traceparent", `00-${TRACE}-${CALLER}-01`);
      const request = Buffer.from(toBinary(SubmitTaskRequestSchema, create(SubmitTaskRequestSchema, { capability: "echo", input: toPayload("hi"), correlationId: "corr-grpc" })));
      const res = await new Promise((resolve, reject) =>
        client.makeUnaryRequest("/agentmesh.v1.AgentService/SubmitTask", (b: Buffer) => b, (b: Buffer) => fromBinary(SubmitTaskResponseSchema, b), request, metadata, (err, r) => (err ? reject(err) : resolve(r))),
      );
      expect(res).toMatchObject({ correlationId: "corr-grpc", agentId: "a" });
    } finally {
      client.close();
    }
    const submit = only(world.exporter.getFinishedSpans(), "a", "agentmesh.v1.AgentService/SubmitTask");
    expect(submit.spanContext().traceId).toBe(TRACE);
    expect(submit.parentSpanContext).toMatchObject({ spanId: CALLER, isRemote: true });
    expect(submit.attributes["agentmesh.correlation_id"]).toBe("corr-grpc");
  });
});
