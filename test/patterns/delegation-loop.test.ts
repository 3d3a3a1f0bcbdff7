import { afterEach, describe, expect, it } from "vitest";
import { Code, MeshError } from "../../src/protocol/errors.js";
import type { TaskContext } from "../../src/node/task-runner.js";
import { startMemoryMesh, type MemoryMesh } from "../helpers/memory-mesh.js";

let mesh: MemoryMesh | undefined;
afterEach(async () => {
  await mesh?.stopAll();
  mesh = undefined;
});

describe("delegation between agents", () => {
  it("keeps the correlation id and counts a hop per sub-task", async () => {
    const seen: { correlationId: string; hops: number }[] = [];
    mesh = await startMemoryMesh([
      { id: "a", handlers: { outer: (input: string, ctx: TaskContext) => ctx.delegate("inner", input) } },
      {
        id: "b",
        handlers: {
          inner: (input: string, ctx: TaskContext) => {
            seen.push({ correlationId: ctx.correlationId, hops: ctx.hops });
            return input.toUpperCase();
          },
        },
      },
    ]);
    const out = await mesh.node("a").submit("outer", "hi", { correlationId: "corr-1" });
    expect(out.output).toBe("HI");
    expect(seen).toEqual([{ correlationId: "corr-1", hops: 2 }]);
  });

  it("stops a loop of agents that keep delegating to each other at the hop limit with a clear error", async () => {
    let calls = 0;
    const relay = (next: string) => (input: unknown, ctx: TaskContext) => {
      calls++;
      return ctx.delegate(next, input);
    };
    mesh = await startMemoryMesh([
      { id: "a", handlers: { ping: relay("pong") } },
      { id: "b", handlers: { pong: relay("ping") } },
    ]);
    const err = await mesh.node("a").submit("ping", 1).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(MeshError);
    expect((err as MeshError).code).toBe(Code.FailedPrecondition);
    expect((err as MeshError).message).toMatch(/hop limit 8/);
    expect(calls).toBeGreaterThanOrEqual(4);
    expect(calls).toBeLessThanOrEqual(9);
  });
});
