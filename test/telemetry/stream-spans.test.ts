/**
 * Spans of the streaming calls. Each message a Subscribe stream delivers goes out in a PRODUCER span
 * "deliver TYPE", a child of the message's own trace (its receipt from a peer, or its publication on this node)
 * and linked to the subscriber's call, and the delivered envelope carries that span's context. A client's
 * streaming call (connectToNode) runs in a CLIENT span that ends when the stream ends or its reader leaves it,
 * and the node's delivery spans link to it.
 */
import { create } from "@bufbuild/protobuf";
import type { HandlerContext, StreamRequest, StreamResponse } from "@connectrpc/connect";
import { SpanKind, SpanStatusCode } from "@opentelemetry/api";
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { afterAll, describe, expect, it } from "vitest";
import { AgentService, SubscribeRequestSchema, SubscribeResponseSchema, type SubscribeResponse } from "../../gen/agentmesh/v1/agent_service_pb.js";
import { clientSpans } from "../../src/cli/client-spans.js";
import { connectToNode } from "../../src/cli/client.js";
import { AgentNode } from "../../src/node/agent-node.js";
import { createAgentService } from "../../src/node/agent-service.js";
import { toPayload } from "../../src/protocol/payload.js";
import { TRACER_NAME } from "../../src/protocol/trace-context.js";
import { parseTraceparent } from "../../src/telemetry/w3c-propagator.js";
import { startTracing } from "../../src/telemetry/tracing.js";
import { startMemoryMesh } from "../helpers/memory-mesh.js";
import { waitFor } from "../helpers/wait.js";
import { expectChild, only, spanWorldStopping, type Started } from "./span-world.js";

const started: Started = {};
const world = spanWorldStopping(started);

const SUBSCRIBER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
const SUBSCRIBER = "00f067aa0ba902b7";

/** A Subscribe handler context whose request headers carry the subscriber's trace context. */
function subscriberContext(signal: AbortSignal): HandlerContext {
  return { requestHeader: new Headers({ traceparent: `00-${SUBSCRIBER_TRACE}-${SUBSCRIBER}-01` }), signal } as unknown as HandlerContext;
}

describe("Subscribe's delivery spans", () => {
  it("deliver each message in a child of the message's trace, linked to the subscriber, and send that span's context along", async () => {
    const tracing = world.tracingFor("a");
    const mesh = (started.mesh = await startMemoryMesh([{ id: "a", config: { tracing } }, { id: "b", config: { tracing: world.tracingFor("b") } }]));
    const service = createAgentService(mesh.node("a"), tracing.tracerProvider.getTracer(TRACER_NAME));
    const abort = new AbortController();
    const stream = (service.subscribe(create(SubscribeRequestSchema, { topic: "news" }), subscriberContext(abort.signal)) as AsyncIterable<SubscribeResponse>)[Symbol.asyncIterator]();
    // The generator subscribes when first asked for a message.
    const fromPeer = stream.next();
    await mesh.node("b").bus.publish("news", { type: "note", payload: "from b", correlationId: "corr-peer" });
    const peerEnvelope = (await fromPeer).value?.envelope;
    const fromSelf = stream.next();
    await mesh.node("a").bus.publish("news", { type: "note", payload: "from a", correlationId: "corr-self" });
    const selfEnvelope = (await fromSelf).value?.envelope;
    await stream.return?.(undefined);

    const spans = world.exporter.getFinishedSpans();
    const delivered = spans.filter((s) => s.name === "deliver message");
    expect(delivered.map((s) => s.attributes["agentmesh.correlation_id"]).sort()).toEqual(["corr-peer", "corr-self"]);
    for (const [envelope, correlationId] of [[peerEnvelope, "corr-peer"], [selfEnvelope, "corr-self"]] as const) {
      const span = delivered.find((s) => s.attributes["agentmesh.correlation_id"] === correlationId)!;
      expect(span.kind).toBe(SpanKind.PRODUCER);
      expect(span.links.map((l) => [l.context.traceId, l.context.spanId])).toEqual([[SUBSCRIBER_TRACE, SUBSCRIBER]]);
      // The subscriber continues the message's trace from the envelope.
      expect(parseTraceparent(envelope?.trace?.traceparent ?? "")).toEqual({ traceId: span.spanContext().traceId, spanId: span.spanContext().spanId, traceFlags: 1 });
      expect(span.attributes).toMatchObject({ "agentmesh.message_type": "note", "agentmesh.to": "topic:news", "agentmesh.hops": envelope?.hops });
    }
    // From a peer: a child of a's receipt, itself a child of b's publication.
    const fromB = delivered.find((s) => s.attributes["agentmesh.correlation_id"] === "corr-peer")!;
    expect(fromB.attributes["agentmesh.from"]).toBe("b");
    const received = spans.find((s) => s.name === "receive message" && s.attributes["agentmesh.correlation_id"] === "corr-peer")!;
    expectChild(fromB, received);
    expect(received.spanContext().traceId).toBe(only(spans, "b", "publish message").spanContext().traceId);
    // Published here: a child of a's own publication.
    const fromA = delivered.find((s) => s.attributes["agentmesh.correlation_id"] === "corr-self")!;
    expectChild(fromA, spans.find((s) => s.name === "publish message" && s.attributes["agentmesh.correlation_id"] === "corr-self")!);
  });
});

describe("a client's streaming call", () => {
  const exporter = new InMemorySpanExporter();
  // The client's tracing is the process's registered one, as the CLI's is (client-tracing.ts).
  const client = startTracing({ agentId: "stream-client", env: {}, ringSize: 0, spanProcessors: [new SimpleSpanProcessor(exporter)] });
  afterAll(() => client.shutdown());

  it("runs in a CLIENT span that ends with the stream, and the node's deliveries link to it", async () => {
    const node = (started.node = await AgentNode.start({ id: "a", host: "127.0.0.1", port: 0, tracing: world.tracingFor("a") }));
    const conn = connectToNode(node.address);
    try {
      const abort = new AbortController();
      const got: string[] = [];
      const reading = (async () => {
        try {
          for await (const res of conn.service.subscribe({ topic: "news" }, { signal: abort.signal })) {
            got.push(res.envelope?.correlationId ?? "");
            if (got.length === 2) abort.abort(); // a connect client cancels a stream through its signal
          }
        } catch (err) {
          if (!abort.signal.aborted) throw err;
        }
      })();
      // Publish until the subscription is in place and two messages arrived (the stream starts asynchronously).
      const deadline = Date.now() + 10_000;
      for (let i = 0; got.length < 2; i++) {
        if (Date.now() > deadline) throw new Error(`two messages not delivered within 10 s (got ${got.length})`);
        await conn.service.publish({ topic: "news", type: "note", payload: toPayload(i), correlationId: `corr-${i}` });
        await Promise.race([reading, new Promise((r) => setTimeout(r, 50))]);
      }
      await reading;
      // The node ends its delivery spans as its stream's generator closes.
      await waitFor(() => world.exporter.getFinishedSpans().filter((s) => s.name === "deliver message").length >= 2, { what: "both deliveries' spans to end" });

      const calls = exporter.getFinishedSpans().filter((s) => s.name === "agentmesh.v1.AgentService/Subscribe");
      expect(calls).toHaveLength(1);
      const call = calls[0];
      expect(call.kind).toBe(SpanKind.CLIENT);
      // Cancelled by its reader: not OK, as any gRPC client span that did not end OK.
      expect(call.status).toMatchObject({ code: SpanStatusCode.ERROR, message: expect.stringMatching(/^CANCELLED: /) });
      expect(call.attributes).toMatchObject({ "rpc.system": "grpc", "rpc.service": "agentmesh.v1.AgentService", "rpc.method": "Subscribe" });
      const deliveries = world.exporter.getFinishedSpans().filter((s) => s.name === "deliver message" && got.includes(String(s.attributes["agentmesh.correlation_id"])));
      expect(deliveries).toHaveLength(2);
      for (const d of deliveries) expect(d.links.map((l) => l.context.spanId)).toEqual([call.spanContext().spanId]);
    } finally {
      conn.close();
    }
  });

  it("marks the stream's span failed with the status that ended it", async () => {
    const node = (started.node = await AgentNode.start({ id: "a", host: "127.0.0.1", port: 0, tracing: world.tracingFor("a") }));
    const conn = connectToNode(node.address);
    try {
      // An empty topic: the node ends the stream with INVALID_ARGUMENT.
      await expect(
        (async () => {
          for await (const _ of conn.service.subscribe({ topic: "" })) void _;
        })(),
      ).rejects.toThrow(/topic/);
      const call = exporter.getFinishedSpans().filter((s) => s.name === "agentmesh.v1.AgentService/Subscribe").at(-1);
      expect(call?.status).toMatchObject({ code: SpanStatusCode.ERROR, message: expect.stringMatching(/^invalid_argument: .*topic/i) });
    } finally {
      conn.close();
    }
  });

  it("ends the span of a stream that ends OK with its last message, status unset", async () => {
    const messages = async function* () {
      yield create(SubscribeResponseSchema, {});
      yield create(SubscribeResponseSchema, {});
    };
    const call = clientSpans(async (req) => ({ stream: true, service: req.service, method: req.method, header: new Headers(), trailer: new Headers(), message: messages() }) as StreamResponse);
    const req = { stream: true, service: AgentService, method: AgentService.method.subscribe, header: new Headers(), signal: new AbortController().signal, message: (async function* () {})() } as unknown as StreamRequest;
    const before = exporter.getFinishedSpans().length;
    const res = (await call(req)) as StreamResponse;
    expect(req.header.get("traceparent")).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    let n = 0;
    for await (const _ of res.message) {
      void _;
      // Open while its messages come.
      expect(exporter.getFinishedSpans().length).toBe(before);
      n++;
    }
    expect(n).toBe(2);
    const [span] = exporter.getFinishedSpans().slice(before);
    expect(span).toMatchObject({ name: "agentmesh.v1.AgentService/Subscribe", kind: SpanKind.CLIENT, status: { code: SpanStatusCode.UNSET } });
    expect(req.header.get("traceparent")).toBe(`00-${span.spanContext().traceId}-${span.spanContext().spanId}-01`);
  });
});
