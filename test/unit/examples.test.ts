import { describe, expect, it } from "vitest";
import { exampleHandlers } from "../../src/node/examples.js";
import { Code, MeshError } from "../../src/protocol/errors.js";
import type { TaskContext } from "../../src/node/task-runner.js";
import { silentLogger } from "../../src/protocol/logger.js";

const ctx = (signal = new AbortController().signal): TaskContext => ({
  taskId: "t",
  correlationId: "c",
  capability: "x",
  agentId: "a",
  signal,
  log: silentLogger,
  hops: 0,
  delegate: () => Promise.reject(new Error("no delegation in this test")),
});

async function failure(fn: () => unknown): Promise<MeshError> {
  try {
    await fn();
  } catch (err) {
    expect(err).toBeInstanceOf(MeshError);
    return err as MeshError;
  }
  throw new Error("expected a failure");
}

describe("example handlers", () => {
  it.each([
    ["echo", { any: ["thing"] }, { any: ["thing"] }],
    ["uppercase", "abc", "ABC"],
    ["uppercase", { text: "déjà" }, "DÉJÀ"],
    ["reverse", "a😀b", "b😀a"],
    ["wordcount", "one two\nthree", { words: 3, lines: 2, chars: 13 }],
    ["wordcount", "", { words: 0, lines: 0, chars: 0 }],
    ["keywords", "mesh mesh agents agents agents tiny gossip", ["agents", "mesh", "gossip", "tiny"]],
  ])("%s(%j) → %j", async (name, input, want) => {
    expect(await exampleHandlers[name](input, ctx())).toEqual(want);
  });

  it.each(["uppercase", "reverse", "wordcount", "keywords"])("%s refuses input that is not text with INVALID_ARGUMENT", async (name) => {
    const e = await failure(() => exampleHandlers[name]({ n: 1 }, ctx()));
    expect(e.code).toBe(Code.InvalidArgument);
    expect(e.message).toContain(name);
  });

  it("sleep waits and returns what it slept, and stops when aborted", async () => {
    expect(await exampleHandlers.sleep({ ms: 5 }, ctx())).toEqual({ slept: 5 });
    const abort = new AbortController();
    const running = exampleHandlers.sleep({ ms: 60_000 }, ctx(abort.signal));
    abort.abort(new MeshError(Code.DeadlineExceeded, "deadline"));
    const e = await failure(() => running);
    expect(e.code).toBe(Code.DeadlineExceeded);
    expect((await failure(() => exampleHandlers.sleep({ ms: -1 }, ctx()))).code).toBe(Code.InvalidArgument);
  });

  it("delegate hands its input on to the capability named, as a sub-task, and returns what that gives back", async () => {
    const asked: unknown[] = [];
    const delegating = { ...ctx(), delegate: async (capability: string, input: unknown) => (asked.push([capability, input]), `done by ${capability}`) };
    expect(await exampleHandlers.delegate({ capability: "uppercase", input: "hi" }, delegating)).toBe("done by uppercase");
    expect(asked).toEqual([["uppercase", "hi"]]);
    for (const bad of [null, "uppercase", {}, { capability: "" }, { capability: 7, input: "hi" }]) {
      const e = await failure(() => exampleHandlers.delegate(bad, delegating));
      expect(e.code, JSON.stringify(bad)).toBe(Code.InvalidArgument);
      expect(e.message).toContain('delegate: input must be {"capability": string, "input": any}');
    }
    expect(asked).toHaveLength(1);
  });

  it.each([
    ["NOT_FOUND", Code.NotFound],
    ["CANCELLED", Code.Canceled],
    ["RESOURCE_EXHAUSTED", Code.ResourceExhausted],
    ["NO_SUCH_CODE", Code.Unknown],
  ])("fail throws the code named %s", async (name, code) => {
    const e = await failure(() => exampleHandlers.fail({ code: name, message: "on purpose" }, ctx()));
    expect(e.code).toBe(code);
    expect(e.message).toBe("on purpose");
  });
});
