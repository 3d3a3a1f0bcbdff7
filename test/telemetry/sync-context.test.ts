/**
 * With the synchronous context manager (no AsyncLocalStorage, no promise hooks), the mesh's own spans keep
 * their parents because the mesh passes contexts explicitly: a task delegated A → B → C through
 * TaskContext.delegate after an await in B's handler is still one trace with the right parent/child links.
 * What the manager does not keep is said too: after an await in a handler, no span is active. A
 * collaboration pattern keeps its later rounds in its trace (an auction's award comes after the bidding).
 */
import { context, trace } from "@opentelemetry/api";
import { describe, expect, it } from "vitest";
import type { TaskContext } from "../../src/node/task-runner.js";
import type { Logger } from "../../src/protocol/logger.js";
import { ATTR_CORRELATION_ID } from "../../src/protocol/trace-context.js";
import { startMemoryMesh, type MemoryMesh } from "../helpers/memory-mesh.js";
import { waitFor } from "../helpers/wait.js";
import { agentOf, expectChild, only, relayChain, spanWorld } from "./span-world.js";

let mesh: MemoryMesh | undefined;
const world = spanWorld(async () => {
  await mesh?.stopAll();
  mesh = undefined;
}, false);
const { tracingFor } = world;

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
      const s = world.exporter.getFinishedSpans().filter((x) => x.attributes[ATTR_CORRELATION_ID] === "corr-sync");
      return s.some((x) => agentOf(x) === "a" && x.name === "route relay") ? s : undefined;
    });
    expect(new Set(spans.map((s) => s.spanContext().traceId)).size).toBe(1);
    relayChain(spans);
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
    const run = await waitFor(() => world.exporter.getFinishedSpans().find((x) => x.name === "run note"));
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
      const s = world.exporter.getFinishedSpans().filter((x) => x.attributes[ATTR_CORRELATION_ID] === "corr-auction");
      return s.some((x) => agentOf(x) === "a" && x.name === "auction ocr") ? s : undefined;
    });
    const auction = only(spans, "a", "auction ocr");
    const award = only(spans, "a", "send award");
    expectChild(award, auction);
    expect(spans.filter((x) => agentOf(x) === "a" && x.name === "send task_auction").length).toBe(2);
    for (const bid of spans.filter((x) => agentOf(x) === "a" && x.name === "send task_auction")) expectChild(bid, auction);
    expect(new Set(spans.map((x) => x.spanContext().traceId)).size).toBe(1);
  });
});
