/**
 * One trace across three agents, in one process: each AgentNode has its own tracer provider (its resource
 * names the agent) exporting to one InMemorySpanExporter, on a MemoryNetwork. A task delegated A → B → C
 * must give one trace with spans from all three, the right parent/child links and the correlation id on
 * every span.
 */
import { SpanKind, SpanStatusCode } from "@opentelemetry/api";
import { describe, expect, it } from "vitest";
import type { AgentNode } from "../../src/node/agent-node.js";
import { Code, MeshError } from "../../src/protocol/errors.js";
import { ATTR_CORRELATION_ID } from "../../src/protocol/trace-context.js";
import { startMemoryMesh, type MemoryMesh } from "../helpers/memory-mesh.js";
import { waitFor } from "../helpers/wait.js";
import { agentOf, expectChild, only, parentOf, relayChain, spanWorld } from "./span-world.js";

let mesh: MemoryMesh | undefined;
const world = spanWorld(async () => {
  await mesh?.stopAll();
  mesh = undefined;
});
const { tracingFor } = world;

describe("tracing across agents (in-memory exporter)", () => {
  it("a task delegated A → B → C (B's handler submits a sub-task) is one trace with the right parents", async () => {
    let b: AgentNode | undefined;
    mesh = await startMemoryMesh([
      { id: "a", config: { tracing: tracingFor("a") } },
      {
        id: "b",
        config: { tracing: tracingFor("b") },
        handlers: {
          // Delegates to whoever has "ocr", keeping the task's correlation id.
          relay: async (input, ctx) => (await b!.submit("ocr", input, { correlationId: ctx.correlationId })).output,
        },
      },
      { id: "c", config: { tracing: tracingFor("c") }, handlers: { ocr: (input: string) => `text of ${input}` } },
    ]);
    b = mesh.node("b");
    const outcome = await mesh.node("a").submit("relay", "page-1", { correlationId: "corr-abc" });
    expect(outcome).toMatchObject({ agentId: "b", output: "text of page-1", correlationId: "corr-abc" });

    const spans = await waitFor(() => {
      const s = world.exporter.getFinishedSpans().filter((x) => x.attributes[ATTR_CORRELATION_ID] === "corr-abc");
      return s.some((x) => agentOf(x) === "a" && x.name === "route relay") ? s : undefined;
    }, { what: "the root span to finish" });

    expect(new Set(spans.map((s) => s.spanContext().traceId)).size).toBe(1);
    expect(new Set(spans.map(agentOf))).toEqual(new Set(["a", "b", "c"]));
    for (const s of spans) expect(s.attributes[ATTR_CORRELATION_ID], s.name).toBe("corr-abc");
    // Every span of the trace carries the correlation id (none is missing from the filtered list).
    const traceId = spans[0].spanContext().traceId;
    expect(world.exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId)).toHaveLength(spans.length);

    // route → send → run on each hop; B's route is the sub-task submitted from inside its handler.
    const { routeA, sendAB, runRelay, routeB, sendBC, runOcr } = relayChain(spans);
    expect(parentOf(routeA)).toBeUndefined();

    expect(sendAB.kind).toBe(SpanKind.CLIENT);
    // The receiver's handling span is the run: SERVER, with the envelope's and the task's attributes.
    expect(runRelay.kind).toBe(SpanKind.SERVER);
    expect(routeA.attributes).toMatchObject({ "agentmesh.capability": "relay", "agentmesh.task_id": expect.any(String) });
    expect(sendAB.attributes).toMatchObject({ "agentmesh.to": "b", "agentmesh.message_type": "task_request", "agentmesh.hops": 1 });
    // A span names the other side only (its resource names its own agent), and an attempt only when it is a reassignment's.
    expect(sendAB.attributes["agentmesh.from"]).toBeUndefined();
    expect(sendAB.attributes["agentmesh.attempt"]).toBeUndefined();
    // The task's id and capability are on the route span, not repeated on its send child.
    expect(sendAB.attributes["agentmesh.task_id"]).toBeUndefined();
    expect(sendAB.attributes["agentmesh.capability"]).toBeUndefined();
    expect(runOcr.attributes).toMatchObject({ "agentmesh.from": "b", "agentmesh.message_type": "task_request", "agentmesh.capability": "ocr", "agentmesh.task_id": expect.any(String) });
    expect(runOcr.attributes["agentmesh.to"]).toBeUndefined();
    expect(runOcr.attributes["agentmesh.attempt"]).toBeUndefined();
    expect(runOcr.attributes["agentmesh.task_id"]).toBe(routeB.attributes["agentmesh.task_id"]);
    // The result's way back: the caller's span names the reply's type; its sender is the agent asked, so it is not repeated.
    expect(sendBC.attributes).toMatchObject({ "agentmesh.reply.message_type": "task_result" });
    expect(sendBC.attributes["agentmesh.reply.from"]).toBeUndefined();
    expect(sendBC.events.map((e) => e.name)).toEqual([]);
    for (const s of spans) expect(s.status.code, s.name).not.toBe(SpanStatusCode.ERROR);
  });

  it("a task B cannot run is forwarded to C: the forward span is a child of B's handling span", async () => {
    mesh = await startMemoryMesh([
      { id: "a", config: { tracing: tracingFor("a") } },
      { id: "b", config: { tracing: tracingFor("b") } },
      { id: "c", config: { tracing: tracingFor("c") }, handlers: { ocr: (input: string) => input.toUpperCase() } },
    ]);
    const reply = await mesh.node("a").request("b", { type: "task_request", payload: { capability: "ocr", input: "scan" }, correlationId: "corr-fwd" });
    expect(reply.payload).toBe("SCAN");
    const spans = await waitFor(() => {
      const s = world.exporter.getFinishedSpans().filter((x) => x.attributes[ATTR_CORRELATION_ID] === "corr-fwd");
      return s.some((x) => agentOf(x) === "a" && x.name === "send task_request") ? s : undefined;
    });
    const sendAB = only(spans, "a", "send task_request");
    const handleB = only(spans, "b", "handle task_request");
    const forwardB = only(spans, "b", "forward ocr");
    const sendBC = only(spans, "b", "send task_request");
    const runC = only(spans, "c", "run ocr");
    expect(spans.filter((s) => agentOf(s) === "c" && s.name === "handle task_request")).toEqual([]);
    expectChild(handleB, sendAB);
    expectChild(forwardB, handleB);
    expectChild(sendBC, forwardB);
    expectChild(runC, sendBC);
    expect(runC.kind).toBe(SpanKind.SERVER);
    expect(sendAB.attributes["agentmesh.hops"]).toBe(0);
    expect(forwardB.attributes["agentmesh.hops"]).toBe(0);
    expect(sendBC.attributes["agentmesh.hops"]).toBe(1);
  });

  it("a failing task marks its spans ERROR with the message, on every hop back", async () => {
    mesh = await startMemoryMesh([
      { id: "a", config: { tracing: tracingFor("a") } },
      { id: "c", config: { tracing: tracingFor("c") }, handlers: { boom: () => Promise.reject(new Error("disk on fire")) } },
    ]);
    await expect(mesh.node("a").submit("boom", null, { correlationId: "corr-err" })).rejects.toThrow("disk on fire");
    const spans = await waitFor(() => {
      const s = world.exporter.getFinishedSpans().filter((x) => x.attributes[ATTR_CORRELATION_ID] === "corr-err");
      return s.some((x) => x.name === "route boom") ? s : undefined;
    });
    for (const name of ["route boom", "send task_request", "run boom"]) {
      const s = spans.find((x) => x.name === name);
      expect(s?.status, name).toMatchObject({ code: SpanStatusCode.ERROR, message: expect.stringContaining("disk on fire") });
    }
  });

  it("a task reassigned after a retryable failure names its attempts: 2 on the route, the second send and run; none on the first", async () => {
    let calls = 0;
    // Fails the first time it runs anywhere (retryably, so the route reassigns the task to the other agent).
    const flaky = (input: string) => {
      if (calls++ === 0) throw new MeshError(Code.Unavailable, "warming up");
      return input.toUpperCase();
    };
    mesh = await startMemoryMesh([
      { id: "a", config: { tracing: tracingFor("a") } },
      { id: "b", config: { tracing: tracingFor("b") }, handlers: { flaky } },
      { id: "c", config: { tracing: tracingFor("c") }, handlers: { flaky } },
    ]);
    const outcome = await mesh.node("a").submit("flaky", "x", { correlationId: "corr-retry" });
    expect(outcome.output).toBe("X");
    const spans = await waitFor(() => {
      const s = world.exporter.getFinishedSpans().filter((x) => x.attributes[ATTR_CORRELATION_ID] === "corr-retry");
      return s.some((x) => x.name === "route flaky") && s.filter((x) => x.name === "run flaky").length === 2 ? s : undefined;
    });
    const route = only(spans, "a", "route flaky");
    expect(route.attributes["agentmesh.attempt"]).toBe(2);
    expect(route.events.find((e) => e.name === "reassign")?.attributes).toMatchObject({ "agentmesh.attempt": 2 });
    const byStart = (a: { startTime: [number, number] }, b: { startTime: [number, number] }) => a.startTime[0] - b.startTime[0] || a.startTime[1] - b.startTime[1];
    const sends = spans.filter((s) => agentOf(s) === "a" && s.name === "send task_request").sort(byStart);
    expect(sends.map((s) => s.attributes["agentmesh.attempt"])).toEqual([undefined, 2]);
    const runs = spans.filter((s) => s.name === "run flaky").sort(byStart);
    expect(runs.map((s) => s.attributes["agentmesh.attempt"])).toEqual([undefined, 2]);
    expect(runs[0].status.code).toBe(SpanStatusCode.ERROR);
    expect(new Set(runs.map(agentOf))).toEqual(new Set(["b", "c"]));
    runs.forEach((run, i) => expectChild(run, sends[i]));
  });

  it("a broadcast gives each peer's copy its own child span, and each receiver a child of that", async () => {
    mesh = await startMemoryMesh([
      { id: "a", config: { tracing: tracingFor("a") } },
      { id: "b", config: { tracing: tracingFor("b") } },
      { id: "c", config: { tracing: tracingFor("c") } },
    ]);
    const heard: string[] = [];
    for (const id of ["b", "c"]) mesh.node(id).onMessage((m) => void heard.push(`${id}:${m.type}`));
    await mesh.node("a").broadcast({ type: "note", payload: 1, correlationId: "corr-bc" });
    await waitFor(() => heard.length === 2);
    const spans = await waitFor(() => {
      const s = world.exporter.getFinishedSpans().filter((x) => x.attributes[ATTR_CORRELATION_ID] === "corr-bc");
      return s.filter((x) => x.name === "receive message").length === 2 ? s : undefined;
    });
    const root = only(spans, "a", "broadcast message");
    const sends = spans.filter((s) => agentOf(s) === "a" && s.name === "send message");
    expect(sends.map((s) => s.attributes["agentmesh.peer"]).sort()).toEqual(["b", "c"]);
    for (const send of sends) {
      expectChild(send, root);
      const peer = send.attributes["agentmesh.peer"] as string;
      expectChild(only(spans, peer, "receive message"), send);
    }
  });

  it("a consensus round is one trace: each vote request a child span of the round, answered in a span on each voter", async () => {
    mesh = await startMemoryMesh([
      { id: "a", config: { tracing: tracingFor("a") } },
      { id: "b", config: { tracing: tracingFor("b") } },
      { id: "c", config: { tracing: tracingFor("c") } },
    ]);
    for (const n of mesh.nodes) n.onVote(() => "yes");
    const decision = await mesh.node("a").reachConsensus({ question: "ship?", options: ["yes", "no"], deadlineMs: 5000, correlationId: "corr-vote" });
    expect(decision.choice).toBe("yes");
    const spans = await waitFor(() => {
      const s = world.exporter.getFinishedSpans().filter((x) => x.attributes[ATTR_CORRELATION_ID] === "corr-vote");
      return s.filter((x) => x.name === "handle vote_request").length >= 2 ? s : undefined;
    });
    const round = only(spans, "a", "consensus");
    const sends = spans.filter((s) => agentOf(s) === "a" && s.name === "send vote_request" && s.attributes["agentmesh.to"] !== "a");
    expect(sends.map((s) => s.attributes["agentmesh.to"]).sort()).toEqual(["b", "c"]);
    for (const send of sends) {
      expectChild(send, round);
      expectChild(only(spans, send.attributes["agentmesh.to"] as string, "handle vote_request"), send);
    }
    expect(new Set(spans.map((s) => s.spanContext().traceId)).size).toBe(1);
  });

  it("membership and gossip traffic makes no spans by default", async () => {
    mesh = await startMemoryMesh([
      { id: "a", config: { tracing: tracingFor("a") } },
      { id: "b", config: { tracing: tracingFor("b") } },
    ]);
    await mesh.node("a").submit("nothing-here", null).catch(() => {}); // some traffic of ours
    const names = world.exporter.getFinishedSpans().map((s) => s.name);
    expect(names.filter((n) => /probe|gossip|membership|heartbeat|hello/.test(n))).toEqual([]);
  });

  it("with traceMembership on, gossip and SWIM messages are received in spans", async () => {
    const on = (id: string) => tracingFor(id, { traceMembership: true });
    mesh = await startMemoryMesh([
      { id: "a", config: { tracing: on("a") } },
      { id: "b", config: { tracing: on("b") } },
    ]);
    await waitFor(() => world.exporter.getFinishedSpans().some((s) => /^receive (probe|membership_sync|gossip_digest|gossip_updates)/.test(s.name)), { what: "a membership span" });
  });
});
