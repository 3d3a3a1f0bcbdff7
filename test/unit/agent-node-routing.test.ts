import { afterEach, describe, expect, it } from "vitest";
import { Code, MeshError } from "../../src/protocol/errors.js";
import type { TaskHandler } from "../../src/node/task-runner.js";
import { startMemoryMesh, type MemoryMesh } from "../helpers/memory-mesh.js";
import { waitFor } from "../helpers/wait.js";

let mesh: MemoryMesh | undefined;
afterEach(async () => {
  await mesh?.stopAll();
  mesh = undefined;
});

async function rejection(promise: Promise<unknown>): Promise<MeshError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(MeshError);
    return err as MeshError;
  }
  throw new Error("expected a failure, it succeeded");
}

/** A handler that reports which agent ran it. */
const whoRan: TaskHandler = (input, ctx) => ({ input, ranOn: ctx.agentId });

describe("AgentNode routing", () => {
  it("routes a task for a capability only one node has to that node, one hop away", async () => {
    mesh = await startMemoryMesh([{ id: "n1", handlers: { echo: whoRan } }, { id: "n2", handlers: { echo: whoRan } }, { id: "n3", handlers: { ocr: whoRan } }]);
    const outcome = await mesh.node("n1").submit("ocr", { page: 1 }, { correlationId: "corr-ocr" });
    expect(outcome).toMatchObject({ agentId: "n3", hops: 1, correlationId: "corr-ocr", output: { input: { page: 1 }, ranOn: "n3" } });
    expect(outcome.taskId).toEqual(expect.any(String));
  });

  it("runs a task on the submitting node itself when it is the only capable one (no hop)", async () => {
    mesh = await startMemoryMesh([{ id: "n1", handlers: { echo: whoRan } }, { id: "n2", handlers: { ocr: whoRan } }]);
    const outcome = await mesh.node("n1").submit("echo", "hi");
    expect(outcome).toMatchObject({ agentId: "n1", hops: 0, output: { input: "hi", ranOn: "n1" } });
  });

  it("has a node without the capability forward a task sent to it", async () => {
    mesh = await startMemoryMesh([{ id: "n1" }, { id: "n2" }, { id: "n3", handlers: { ocr: whoRan } }]);
    let sawIt = 0;
    mesh.node("n2").onMessage(() => {
      sawIt++; // listens, does not answer
    });
    const reply = await mesh.node("n1").request("n2", { type: "task_request", payload: { capability: "ocr", input: "scan" } });
    expect(reply.type).toBe("task_result");
    expect(reply.payload).toEqual({ input: "scan", ranOn: "n3" });
    expect(sawIt).toBe(1);
  });

  it("runs a task sent to a node that has the capability with its capability handler, not its message handlers", async () => {
    mesh = await startMemoryMesh([{ id: "n1" }, { id: "n2", handlers: { ocr: whoRan } }]);
    mesh.node("n2").onMessage(() => "from the message handler");
    const reply = await mesh.node("n1").request("n2", { type: "task_request", payload: { capability: "ocr", input: 1 } });
    expect(reply.payload).toEqual({ input: 1, ranOn: "n2" });
  });

  it("fails a task for a capability nobody has with NOT_FOUND naming it", async () => {
    mesh = await startMemoryMesh([{ id: "n1", handlers: { echo: whoRan } }, { id: "n2", handlers: { ocr: whoRan } }]);
    const e = await rejection(mesh.node("n1").submit("teleport", null));
    expect(e.code).toBe(Code.NotFound);
    expect(e.message).toContain('"teleport"');
    expect(e.message).toContain("echo, ocr");
    // The same when the task was forwarded to a node that cannot run it.
    const viaPeer = await rejection(mesh.node("n1").request("n2", { type: "task_request", payload: { capability: "teleport" } }));
    expect(viaPeer.code).toBe(Code.NotFound);
    expect(viaPeer.message).toContain('"teleport"');
  });

  it("refuses a task for an invalid capability name with INVALID_ARGUMENT", async () => {
    mesh = await startMemoryMesh([{ id: "n1", handlers: { echo: whoRan } }]);
    const e = await rejection(mesh.node("n1").submit("not a name", null));
    expect(e.code).toBe(Code.InvalidArgument);
    expect(e.message).toMatch(/^capability: /);
  });

  it("returns a handler's failure as the task's error, with its code", async () => {
    mesh = await startMemoryMesh([
      { id: "n1" },
      {
        id: "n2",
        handlers: {
          strict: () => {
            throw new MeshError(Code.FailedPrecondition, "strict: needs a plan first");
          },
        },
      },
    ]);
    const e = await rejection(mesh.node("n1").submit("strict", null));
    expect(e.code).toBe(Code.FailedPrecondition);
    expect(e.message).toBe("strict: needs a plan first");
    // The node keeps serving.
    await expect(rejection(mesh.node("n1").submit("strict", null))).resolves.toMatchObject({ code: Code.FailedPrecondition });
  });

  it("spreads tasks across equally loaded capable nodes", async () => {
    const ran = new Map<string, number>();
    const gates: (() => void)[] = [];
    const work: TaskHandler = (_input, ctx) => {
      ran.set(ctx.agentId, (ran.get(ctx.agentId) ?? 0) + 1);
      return new Promise((resolve) => gates.push(() => resolve(ctx.agentId)));
    };
    mesh = await startMemoryMesh([
      { id: "n1" },
      { id: "n2", handlers: { work }, config: { capacity: 10 } },
      { id: "n3", handlers: { work }, config: { capacity: 10 } },
      { id: "n4", handlers: { work }, config: { capacity: 10 } },
    ]);
    const results = Array.from({ length: 30 }, () => mesh!.node("n1").submit("work", null));
    await waitFor(() => gates.length === 30, { what: "all 30 tasks to start" });
    gates.forEach((release) => release());
    const outcomes = await Promise.all(results);
    for (const id of ["n2", "n3", "n4"]) {
      expect(ran.get(id) ?? 0).toBeGreaterThanOrEqual(5);
      expect(outcomes.filter((o) => o.agentId === id).length).toBe(ran.get(id));
    }
    expect(ran.has("n1")).toBe(false);
  });

  it("sends no new tasks to a draining node", async () => {
    const gate: { release?: () => void } = {};
    const started: string[] = [];
    const work: TaskHandler = (input: string, ctx) => {
      started.push(`${ctx.agentId}:${input}`);
      if (input !== "long") return ctx.agentId;
      return new Promise((resolve) => (gate.release = () => resolve(ctx.agentId)));
    };
    mesh = await startMemoryMesh([{ id: "n1" }, { id: "n2", handlers: { work } }, { id: "n3", handlers: { work } }]);
    const n1 = mesh.node("n1");
    const n2 = mesh.node("n2");
    const long = n2.handle({ capability: "work", input: "long" });
    await waitFor(() => gate.release !== undefined, { what: "the long task to start" });
    const stopping = n2.stop();
    expect(n2.state.status).toBe("draining");
    expect(n2.canHandle({ capability: "work" })).toBe(false);
    await waitFor(() => n1.registry.get("n2")?.draining === true, { what: "n1 to hear n2 drains" });
    const outcomes = await Promise.all(Array.from({ length: 10 }, (_, i) => n1.submit("work", `t${i}`)));
    expect(outcomes.map((o) => o.agentId)).toEqual(Array(10).fill("n3"));
    expect(started.filter((s) => s.startsWith("n2:"))).toEqual(["n2:long"]);
    gate.release?.();
    await expect(long).resolves.toMatchObject({ agentId: "n2", output: "n2" });
    await stopping;
    expect(n2.state.status).toBe("stopped");
  });

  it("skips a capable agent it cannot reach and uses the next one", async () => {
    mesh = await startMemoryMesh([
      // n1 would always choose n2 first, so each task must get past it.
      { id: "n1", config: { bus: { maxAttempts: 2, retryInitialMs: 10 }, select: (candidates) => candidates.find((c) => c.id === "n2") ?? candidates[0] } },
      { id: "n2", handlers: { work: whoRan } },
      { id: "n3", handlers: { work: whoRan } },
    ]);
    mesh.network.partition(mesh.node("n1").address, mesh.node("n2").address);
    for (let i = 0; i < 6; i++) {
      const outcome = await mesh.node("n1").submit("work", i, { timeoutMs: 10_000 });
      expect(outcome.agentId).toBe("n3");
    }
  });

  it("refuses new tasks once stopped", async () => {
    mesh = await startMemoryMesh([{ id: "n1", handlers: { echo: whoRan } }]);
    await mesh.node("n1").stop();
    const e = await rejection(mesh.node("n1").submit("echo", 1));
    expect(e.code).toBe(Code.Unavailable);
    expect(e.message).toContain("n1");
  });

  it("lists the agents it knows by id in code-unit order, the same on every node whatever the locale", async () => {
    mesh = await startMemoryMesh(["b", "B", "a", "a-2", "A", "_z"].map((id) => ({ id, handlers: { echo: whoRan } })));
    for (const node of mesh.nodes) expect(node.allAgents().map((a) => a.id)).toEqual(["A", "B", "_z", "a", "a-2", "b"]);
  });
});
