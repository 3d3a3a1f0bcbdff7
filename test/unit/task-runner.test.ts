import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { TaskRequestSchema, type TaskResult } from "../../gen/agentmesh/v1/task_pb.js";
import { TaskRunner, type TaskHandler } from "../../src/node/task-runner.js";
import { Code, MeshError } from "../../src/protocol/errors.js";
import { silentLogger } from "../../src/protocol/logger.js";
import { fromPayload, toPayload } from "../../src/protocol/payload.js";
import { ManualClock } from "../helpers/manual-clock.js";
import { waitFor } from "../helpers/wait.js";

function deferred<T = void>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

function setup(capacity: number, maxQueued = 1000) {
  const clock = new ManualClock();
  const loads: number[] = [];
  const runner = new TaskRunner({ agentId: "w1", capacity, maxQueued, clock, logger: silentLogger, onLoadChange: (l) => loads.push(l) });
  let n = 0;
  const run = (capability: string, input: unknown, timeoutMs = 60_000) =>
    runner.run(create(TaskRequestSchema, { taskId: `t${++n}`, capability, input: toPayload(input), attempt: 1 }), {
      correlationId: `c${n}`,
      deadlineMs: clock.now() + timeoutMs,
    });
  return { clock, runner, run, loads };
}

const output = (r: TaskResult) => {
  if (r.outcome.case !== "output") throw new Error(`task failed: ${r.outcome.case === "failure" ? r.outcome.value.message : "no outcome"}`);
  return fromPayload(r.outcome.value);
};
const failure = (r: TaskResult) => {
  if (r.outcome.case !== "failure") throw new Error("expected a failed task");
  return r.outcome.value;
};

describe("TaskRunner", () => {
  it("runs a task with its input and context and reports who ran it", async () => {
    const { runner, run } = setup(2);
    let seen: unknown;
    runner.register("greet", (input: { name: string }, ctx) => {
      seen = { capability: ctx.capability, agentId: ctx.agentId, correlationId: ctx.correlationId, taskId: ctx.taskId };
      return `hello ${input.name}`;
    });
    const r = await run("greet", { name: "ada" });
    expect(output(r)).toBe("hello ada");
    expect(r.agentId).toBe("w1");
    expect(r.taskId).toBe("t1");
    expect(r.attempt).toBe(1);
    expect(r.workerCapacity).toBe(2);
    expect(seen).toEqual({ capability: "greet", agentId: "w1", correlationId: "c1", taskId: "t1" });
  });

  it("gives a context whose members still work when destructured, and whose delegate passes the task's lineage", async () => {
    const clock = new ManualClock();
    const delegated: unknown[] = [];
    const runner = new TaskRunner({
      agentId: "w1",
      capacity: 1,
      maxQueued: 10,
      clock,
      logger: silentLogger,
      onLoadChange: () => {},
      delegate: async (capability, input, parent) => {
        delegated.push({ capability, input, correlationId: parent.correlationId, hops: parent.hops, deadlineMs: parent.deadlineMs });
        return "sub-result";
      },
    });
    runner.register("outer", async (_input, { signal, delegate, hops, taskId }) => ({ sub: await delegate("inner", 7), aborted: signal.aborted, hops, taskId }));
    const deadlineMs = clock.now() + 5_000;
    const r = await runner.run(create(TaskRequestSchema, { taskId: "t9", capability: "outer", input: toPayload(null), attempt: 1 }), { correlationId: "c9", deadlineMs, hops: 2 });
    expect(output(r)).toEqual({ sub: "sub-result", aborted: false, hops: 2, taskId: "t9" });
    expect(delegated).toEqual([{ capability: "inner", input: 7, correlationId: "c9", hops: 2, deadlineMs }]);
  });

  it("fails a delegation with UNIMPLEMENTED when the runner has no way to delegate", async () => {
    const { runner, run } = setup(1);
    runner.register("outer", (_input, ctx) => ctx.delegate("inner", 1));
    const f = failure(await run("outer", null));
    expect(f.code).toBe(Code.Unimplemented);
    expect(f.message).toContain("cannot delegate");
  });

  it("never runs more than `capacity` handlers at once under 50 concurrent tasks, and runs them all", async () => {
    const { runner, run, loads } = setup(4);
    let active = 0;
    let peak = 0;
    const gates: (() => void)[] = [];
    runner.register("work", async (i: number) => {
      active++;
      peak = Math.max(peak, active);
      await new Promise<void>((r) => gates.push(r));
      active--;
      return i * 2;
    });
    const results = Array.from({ length: 50 }, (_, i) => run("work", i));
    expect(runner.load).toBe(4);
    expect(runner.queued).toBe(46);
    // Release the running handlers a few at a time until everything finished.
    let done = 0;
    void Promise.all(results).then(() => (done = 1));
    await waitFor(
      async () => {
        gates.splice(0).forEach((g) => g());
        await Promise.resolve();
        return done === 1;
      },
      { what: "all 50 tasks", intervalMs: 1 },
    );
    expect(peak).toBe(4);
    expect((await Promise.all(results)).map(output)).toEqual(Array.from({ length: 50 }, (_, i) => i * 2));
    expect(Math.max(...loads)).toBe(4);
    expect(runner.load).toBe(0);
    expect(runner.queued).toBe(0);
  });

  it("starts queued tasks in the order they came (FIFO)", async () => {
    const { runner, run } = setup(1);
    const started: number[] = [];
    const gates = new Map<number, () => void>();
    runner.register("work", (i: number) => {
      started.push(i);
      return new Promise<number>((r) => gates.set(i, () => r(i)));
    });
    const results = [0, 1, 2, 3, 4].map((i) => run("work", i));
    for (const i of [0, 1, 2, 3, 4]) {
      await waitFor(() => gates.has(i), { what: `task ${i} to start` });
      expect(started).toEqual([0, 1, 2, 3, 4].slice(0, i + 1));
      gates.get(i)?.();
    }
    expect((await Promise.all(results)).map(output)).toEqual([0, 1, 2, 3, 4]);
  });

  it("refuses a task with RESOURCE_EXHAUSTED when the queue is full, and runs the rest", async () => {
    const { runner, run } = setup(1, 2);
    const gate = deferred();
    runner.register("work", async (i: number) => {
      await gate.promise;
      return i;
    });
    const running = run("work", 0);
    const queued = [run("work", 1), run("work", 2)];
    const refused = await run("work", 3);
    const f = failure(refused);
    expect(f.code).toBe(Code.ResourceExhausted);
    expect(f.message).toContain("w1");
    expect(f.message).toContain("queue full");
    expect(f.retryable).toBe(true);
    gate.resolve();
    expect((await Promise.all([running, ...queued])).map(output)).toEqual([0, 1, 2]);
  });

  it("turns a throwing handler into a failed result and keeps working", async () => {
    const { runner, run } = setup(1);
    runner.register("explode", () => {
      throw new Error("kaboom");
    });
    runner.register("reject", async () => {
      throw new MeshError(Code.PermissionDenied, "not allowed");
    });
    runner.register("ok", () => "fine");
    const a = failure(await run("explode", null));
    expect(a.code).toBe(Code.Unknown);
    expect(a.message).toBe("kaboom");
    const b = failure(await run("reject", null));
    expect(b.code).toBe(Code.PermissionDenied);
    expect(b.message).toBe("not allowed");
    expect(output(await run("ok", null))).toBe("fine");
    expect(runner.load).toBe(0);
  });

  it("fails a task for a capability it has no handler for with NOT_FOUND naming it", async () => {
    const { run } = setup(1);
    const f = failure(await run("translate", null));
    expect(f.code).toBe(Code.NotFound);
    expect(f.message).toContain('"translate"');
  });

  it("fails a task whose input is not valid JSON with INVALID_ARGUMENT naming input", async () => {
    const { runner } = setup(1);
    runner.register("echo", (x) => x);
    const task = create(TaskRequestSchema, { taskId: "t", capability: "echo", input: { contentType: "application/json", data: new TextEncoder().encode("{") } });
    const f = failure(await runner.run(task, { correlationId: "c", deadlineMs: Date.now() + 1e9 }));
    expect(f.code).toBe(Code.InvalidArgument);
    expect(f.message).toMatch(/^input: /);
  });

  it("aborts the handler's signal at the deadline and fails the task with DEADLINE_EXCEEDED", async () => {
    const { clock, runner, run } = setup(1);
    let signal: AbortSignal | undefined;
    runner.register("slow", (_input, ctx) => {
      signal = ctx.signal;
      return new Promise(() => {}); // never finishes by itself
    });
    runner.register("ok", () => "next");
    const result = run("slow", null, 500);
    await waitFor(() => signal !== undefined, { what: "the handler to start" });
    clock.advance(499);
    expect(signal?.aborted).toBe(false);
    clock.advance(1);
    expect(signal?.aborted).toBe(true);
    const f = failure(await result);
    expect(f.code).toBe(Code.DeadlineExceeded);
    expect(f.message).toContain("deadline");
    expect(runner.load).toBe(0);
    expect(output(await run("ok", null))).toBe("next");
  });

  it("fails a queued task whose deadline passed before it could start, without running it", async () => {
    const { clock, runner, run } = setup(1);
    const gate = deferred();
    const calls: string[] = [];
    runner.register("work", async (name: string) => {
      calls.push(name);
      if (name === "first") await gate.promise;
      return name;
    });
    const first = run("work", "first", 10_000);
    const second = run("work", "second", 100);
    clock.advance(200);
    gate.resolve();
    expect(output(await first)).toBe("first");
    expect(failure(await second).code).toBe(Code.DeadlineExceeded);
    expect(calls).toEqual(["first"]);
  });

  it("drain waits for running and queued tasks to finish", async () => {
    const { runner, run } = setup(1);
    const gates: (() => void)[] = [];
    runner.register("work", () => new Promise<string>((r) => gates.push(() => r("done"))));
    const results = [run("work", 1), run("work", 2)];
    let drained = false;
    const draining = runner.drain(60_000).then(() => (drained = true));
    await waitFor(() => gates.length === 1, { what: "the first task" });
    gates.shift()?.();
    await waitFor(() => gates.length === 1, { what: "the second task" });
    expect(drained).toBe(false);
    gates.shift()?.();
    await draining;
    expect((await Promise.all(results)).map(output)).toEqual(["done", "done"]);
  });

  it("drain returns at once when idle, and after its timeout aborts what still runs", async () => {
    const { clock, runner, run } = setup(1);
    await runner.drain(1000); // idle: nothing to wait for
    let signal: AbortSignal | undefined;
    runner.register("stuck", (_i, ctx) => {
      signal = ctx.signal;
      return new Promise(() => {});
    });
    const result = run("stuck", null);
    await waitFor(() => signal !== undefined, { what: "the handler to start" });
    const draining = runner.drain(1000);
    clock.advance(1000);
    await draining;
    expect(signal?.aborted).toBe(true);
    const f = failure(await result);
    expect(f.code).toBe(Code.Unavailable);
    expect(f.message).toContain("w1 stopped");
  });

  it("reports load changes and knows its capabilities", async () => {
    const { runner, run, loads } = setup(2);
    const handler: TaskHandler = (x) => x;
    runner.register("a", handler);
    runner.register("b", handler);
    expect(runner.capabilities().sort()).toEqual(["a", "b"]);
    runner.unregister("a");
    expect(runner.has("a")).toBe(false);
    expect(runner.has("b")).toBe(true);
    await run("b", 1);
    expect(loads).toEqual([1, 0]);
  });
});
