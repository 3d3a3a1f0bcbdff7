/**
 * What a node's ring of recent spans answers GetSpans with beyond the spans themselves: each span's events
 * (a task queued behind a full agent, then started) and links (a delivery linked to its subscriber's call), as
 * `agent-mesh trace` prints them under the span.
 */
import { create } from "@bufbuild/protobuf";
import type { HandlerContext } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { GetSpansRequestSchema, type GetSpansResponse } from "../../gen/agentmesh/v1/agent_service_pb.js";
import { createAgentService } from "../../src/node/agent-service.js";
import { TRACER_NAME } from "../../src/protocol/trace-context.js";
import { startMemoryMesh } from "../helpers/memory-mesh.js";
import { waitFor } from "../helpers/wait.js";
import { agentOf, spanWorldStopping, type Started } from "./span-world.js";

const started: Started = {};
const world = spanWorldStopping(started);

describe("GetSpans: events and links", () => {
  it("gives a queued task's run span its queued and started events, with times inside the span", async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const tracing = world.tracingFor("a");
    const mesh = (started.mesh = await startMemoryMesh([{ id: "a", config: { tracing, capacity: 1 }, handlers: { slow: () => gate.then(() => "done") } }]));
    const node = mesh.node("a");
    const first = node.submit("slow", null, { correlationId: "corr-first" });
    await waitFor(() => node.state.load === 1, { what: "the first task running" });
    const second = node.submit("slow", null, { correlationId: "corr-second" });
    await waitFor(() => node.state.queued === 1, { what: "the second task queued" });
    release();
    await Promise.all([first, second]);

    const service = createAgentService(node, tracing.tracerProvider.getTracer(TRACER_NAME));
    const res = (await service.getSpans(create(GetSpansRequestSchema, { correlationId: "corr-second" }), {} as HandlerContext)) as GetSpansResponse;
    const run = res.spans.find((s) => s.name === "run slow");
    expect(run?.events.map((e) => [e.name, e.attributes])).toEqual([
      ["queued", { "agentmesh.queue_length": "1" }],
      ["started", {}],
    ]);
    for (const e of run?.events ?? []) {
      expect(e.timeUnixNanos).toBeGreaterThanOrEqual(run!.startUnixNanos);
      expect(e.timeUnixNanos).toBeLessThanOrEqual(run!.endUnixNanos);
    }
    // The first task never waited: no events.
    const firstRun = ((await service.getSpans(create(GetSpansRequestSchema, { correlationId: "corr-first" }), {} as HandlerContext)) as GetSpansResponse).spans.find((s) => s.name === "run slow");
    expect(firstRun?.events).toEqual([]);
  });

  it("gives a gossip span its links to the state writes it carried, with their attributes", async () => {
    const on = (id: string) => world.tracingFor(id, { traceMembership: true });
    const tracingB = on("b");
    const mesh = (started.mesh = await startMemoryMesh([
      { id: "a", config: { tracing: on("a") }, handlers: { remember: (input: string) => void mesh.node("a").meshState.set(`memo/${input}`, input) } },
      { id: "b", config: { tracing: tracingB } },
    ]));
    await mesh.node("a").submit("remember", "x");
    const run = world.exporter.getFinishedSpans().find((s) => s.name === "run remember")!;
    const received = await waitFor(
      () => world.exporter.getFinishedSpans().find((s) => agentOf(s) === "b" && s.name === "receive gossip_updates" && s.links.some((l) => l.context.spanId === run.spanContext().spanId)),
      { what: "b's receive span linked to a's write" },
    );
    const service = createAgentService(mesh.node("b"), tracingB.tracerProvider.getTracer(TRACER_NAME));
    const res = (await service.getSpans(create(GetSpansRequestSchema, { traceId: received.spanContext().traceId }), {} as HandlerContext)) as GetSpansResponse;
    const fromRing = res.spans.find((s) => s.spanId === received.spanContext().spanId);
    expect(fromRing?.links.map((l) => [l.traceId, l.spanId, l.attributes])).toEqual([[run.spanContext().traceId, run.spanContext().spanId, { "agentmesh.state_keys": '["memo/x"]' }]]);
  });
});
