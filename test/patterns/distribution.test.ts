import { create } from "@bufbuild/protobuf";
import { afterEach, describe, expect, it } from "vitest";
import { TaskRequestSchema } from "../../gen/agentmesh/v1/task_pb.js";
import { toPayload } from "../../src/protocol/payload.js";
import type { TaskHandler } from "../../src/node/task-runner.js";
import { startMemoryMesh, type MemoryMesh } from "../helpers/memory-mesh.js";
import { waitFor } from "../helpers/wait.js";

let mesh: MemoryMesh | undefined;
afterEach(async () => {
  await mesh?.stopAll();
  mesh = undefined;
});

/** A handler that sleeps and records how many of its runs overlap on its agent. */
function tracked(stats: { running: number; max: number; ran: number }): TaskHandler {
  return async (input: { ms: number }) => {
    stats.running++;
    stats.max = Math.max(stats.max, stats.running);
    await new Promise((r) => setTimeout(r, input.ms));
    stats.running--;
    stats.ran++;
    return { ok: true };
  };
}

describe("self-organizing task distribution", () => {
  it("spreads 100 tasks submitted to one agent of capacity 2 over the three capable agents, never beyond capacity", async () => {
    const stats = { a: { running: 0, max: 0, ran: 0 }, b: { running: 0, max: 0, ran: 0 }, c: { running: 0, max: 0, ran: 0 } };
    mesh = await startMemoryMesh(
      (["a", "b", "c"] as const).map((id) => ({ id, handlers: { work: tracked(stats[id]) }, config: { capacity: 2 } })),
    );
    const origin = mesh.node("a");
    const results = await Promise.all(Array.from({ length: 100 }, () => origin.submit("work", { ms: 20 }, { timeoutMs: 30_000 })));
    expect(results).toHaveLength(100);
    expect(results.every((r) => (r.output as { ok: boolean }).ok)).toBe(true);
    for (const s of Object.values(stats)) {
      expect(s.max).toBeLessThanOrEqual(2);
      expect(s.ran).toBeGreaterThanOrEqual(10);
    }
    expect(stats.a.ran + stats.b.ran + stats.c.ran).toBe(100);
  });

  it("delegates a task that reaches an overloaded agent to a capable peer with spare capacity", async () => {
    const stats = { b: { running: 0, max: 0, ran: 0 }, c: { running: 0, max: 0, ran: 0 } };
    mesh = await startMemoryMesh([
      { id: "a", config: { capacity: 1 } },
      { id: "b", handlers: { work: tracked(stats.b) }, config: { capacity: 1 } },
      { id: "c", handlers: { work: tracked(stats.c) }, config: { capacity: 1 } },
    ]);
    const b = mesh.node("b");
    // b is busy with a long task; a task sent to b directly is delegated to c.
    const long = b.submit("work", { ms: 500 });
    await waitFor(() => b.state.load === 1, { what: "b to be busy" });
    const reply = await mesh.node("a").bus.call("b", {
      case: "taskRequest",
      value: create(TaskRequestSchema, { taskId: "t-1", capability: "work", input: toPayload({ ms: 10 }), attempt: 1 }),
    });
    expect(reply.body.case).toBe("taskResult");
    expect(reply.body.case === "taskResult" && reply.body.value.agentId).toBe("c");
    await long;
    expect(stats.b.max).toBe(1);
  });
});
