/**
 * With the synchronous context manager (no AsyncLocalStorage, no promise hooks), the mesh's own spans keep
 * their parents because the mesh passes contexts explicitly: a task delegated A → B → C through
 * TaskContext.delegate after an await in B's handler is still one trace with the right parent/child links.
 * What the manager does not keep is said too: after an await in a handler, no span is active. A
 * collaboration pattern keeps its later rounds in its trace (an auction's award comes after the bidding).
 */
import { context, trace } from "@opentelemetry/api";
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { TaskContext } from "../../src/node/task-runner.js";
import type { Logger } from "../../src/protocol/logger.js";
import { ATTR_AGENT_ID, ATTR_CORRELATION_ID } from "../../src/protocol/trace-context.js";
import { startTracing, type Tracing } from "../../src/telemetry/tracing.js";
import { startMemoryMesh, type MemoryMesh } from "../helpers/memory-mesh.js";
import { waitFor } from "../helpers/wait.js";

/** Fresh for each test: shutting a tracing down shuts its exporter down too. */
let exporter = new InMemorySpanExporter();
const tracings: Tracing[] = [];
let mesh: MemoryMesh | undefined;

/** Private tracing for agent `id` with the synchronous context manager (the first tracing of this process decides). */
function tracingFor(id: string): Tracing {
  const t = startTracing({ agentId: id, env: {}, register: false, asyncContext: false, spanProcessors: [new SimpleSpanProcessor(exporter)] });
  tracings.push(t);
  return t;
}

const agentOf = (s: ReadableSpan) => s.resource.attributes[ATTR_AGENT_ID];
const one = (spans: ReadableSpan[], agent: string, name: string) => {
  const found = spans.filter((s) => agentOf(s) === agent && s.name === name);
  expect(found.map((s) => `${agentOf(s)} ${s.name}`)).toEqual([`${agent} ${name}`]);
  return found[0];
};
const childOf = (child: ReadableSpan, parent: ReadableSpan) => expect(child.parentSpanContext?.spanId, `${child.name} under ${parent.name}`).toBe(parent.spanContext().spanId);

beforeEach(() => {
  exporter = new InMemorySpanExporter();
});
afterEach(async () => {
  await mesh?.stopAll();
  mesh = undefined;
  await Promise.all(tracings.splice(0).map((t) => t.shutdown()));
});

describe("the synchronous context manager", () => {
  it("keeps a delegation made after an await in one trace", async () => {
    let activeAfterAwait: unknown = "unset";
    mesh = await startMemoryMesh([
      { id: "a", config: { tracing: tracingFor("a") } },
      {
        id: "b",
        config: { tracing: tracingFor("b") },
        handlers: {
          relay: async (input: string, ctx: TaskContext) => {
            expect(trace.getActiveSpan()?.isRecording()).toBe(true); // before the first await: the task's span
            await Promise.resolve();
            activeAfterAwait = trace.getSpan(context.active());
            return ctx.delegate("ocr", input);
          },
        },
      },
      { id: "c", config: { tracing: tracingFor("c") }, handlers: { ocr: (input: string) => `text of ${input}` } },
    ]);
    const outcome = await mesh.node("a").submit("relay", "page", { correlationId: "corr-sync" });
    expect(outcome.output).toBe("text of page");
    expect(activeAfterAwait).toBeUndefined();
    const spans = await waitFor(() => {
      const s = exporter.getFinishedSpans().filter((x) => x.attributes[ATTR_CORRELATION_ID] === "corr-sync");
      return s.some((x) => agentOf(x) === "a" && x.name === "route relay") ? s : undefined;
    });
    expect(new Set(spans.map((s) => s.spanContext().traceId)).size).toBe(1);
    const routeA = one(spans, "a", "route relay");
    const sendAB = one(spans, "a", "send task_request");
    const handleB = one(spans, "b", "handle task_request");
    const runRelay = one(spans, "b", "run relay");
    const routeB = one(spans, "b", "route ocr");
    const sendBC = one(spans, "b", "send task_request");
    const handleC = one(spans, "c", "handle task_request");
    const runOcr = one(spans, "c", "run ocr");
    childOf(sendAB, routeA);
    childOf(handleB, sendAB);
    childOf(runRelay, handleB);
    childOf(routeB, runRelay);
    childOf(sendBC, routeB);
    childOf(handleC, sendBC);
    childOf(runOcr, handleC);
  });

  it("writes a handler's ctx.log lines after an await with the task's span active", async () => {
    const seen: { msg: string; spanId: string | undefined }[] = [];
    const recording: Logger = {
      debug: () => {},
      info: (_fields, msg) => seen.push({ msg, spanId: trace.getActiveSpan()?.spanContext().spanId }),
      warn: () => {},
      error: () => {},
      child: () => recording,
    };
    mesh = await startMemoryMesh([
      {
        id: "a",
        config: { tracing: tracingFor("a"), logger: recording },
        handlers: {
          note: async (input: string, ctx: TaskContext) => {
            await new Promise((r) => setTimeout(r, 1));
            ctx.log.info({}, "after the await");
            return input;
          },
        },
      },
    ]);
    await mesh.node("a").submit("note", "x", { correlationId: "corr-log" });
    const run = await waitFor(() => exporter.getFinishedSpans().find((x) => x.name === "run note"));
    expect(seen.filter((l) => l.msg === "after the await")).toEqual([{ msg: "after the await", spanId: run.spanContext().spanId }]);
  });

  it("keeps an auction's award, sent after the bidding, in the auction's trace", async () => {
    mesh = await startMemoryMesh([
      { id: "a", config: { tracing: tracingFor("a") } },
      { id: "b", config: { tracing: tracingFor("b") }, handlers: { ocr: (input: string) => `b read ${input}` } },
      { id: "c", config: { tracing: tracingFor("c") }, handlers: { ocr: (input: string) => `c read ${input}` } },
    ]);
    const outcome = await mesh.node("a").auctionTask("ocr", "page", { correlationId: "corr-auction", biddingDeadlineMs: 2000 });
    expect(String(outcome.output)).toMatch(/read page$/);
    const spans = await waitFor(() => {
      const s = exporter.getFinishedSpans().filter((x) => x.attributes[ATTR_CORRELATION_ID] === "corr-auction");
      return s.some((x) => agentOf(x) === "a" && x.name === "auction ocr") ? s : undefined;
    });
    const auction = one(spans, "a", "auction ocr");
    const award = one(spans, "a", "send award");
    childOf(award, auction);
    expect(spans.filter((x) => agentOf(x) === "a" && x.name === "send task_auction").length).toBe(2);
    for (const bid of spans.filter((x) => agentOf(x) === "a" && x.name === "send task_auction")) childOf(bid, auction);
    expect(new Set(spans.map((x) => x.spanContext().traceId)).size).toBe(1);
  });
});
