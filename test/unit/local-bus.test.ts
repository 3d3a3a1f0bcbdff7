import { describe, expect, it } from "vitest";
import { LocalMessageBus } from "../../src/bus/local-bus.js";
import { Code, MeshError } from "../../src/protocol/errors.js";
import { ManualClock } from "../helpers/manual-clock.js";
import { waitFor } from "../helpers/wait.js";

describe("LocalMessageBus", () => {
  it("times requests out on its clock", async () => {
    const clock = new ManualClock();
    const bus = new LocalMessageBus({ clock, config: { requestTimeoutMs: 1000 } });
    bus.attach("b", () => new Promise(() => {}));
    let outcome: unknown;
    const pending = bus.request("b", { type: "q", payload: null }).catch((err: unknown) => (outcome = err));
    clock.advance(999);
    await Promise.resolve();
    expect(outcome).toBeUndefined();
    clock.advance(1);
    await waitFor(() => outcome !== undefined, { timeoutMs: 2000, what: "the request to time out" });
    await pending;
    expect(outcome).toBeInstanceOf(MeshError);
    expect((outcome as MeshError).code).toBe(Code.DeadlineExceeded);
    expect((outcome as MeshError).message).toContain("1000 ms");
  });

  it("names the sender 'local' (or its selfId) when the message does not", async () => {
    const bus = new LocalMessageBus({ selfId: "hub" });
    const froms: string[] = [];
    bus.attach("b", (m) => void froms.push(m.from));
    await bus.send("b", { type: "note", payload: 1 });
    await bus.send("b", { type: "note", payload: 2, from: "a" });
    expect(froms).toEqual(["hub", "a"]);
  });

  it("delivers a published message with a duplicate id once", async () => {
    const bus = new LocalMessageBus();
    const got: unknown[] = [];
    bus.subscribe("t", (m) => void got.push(m.payload));
    await bus.publish("t", { id: "same", type: "x", payload: 1 });
    await bus.publish("t", { id: "same", type: "x", payload: 2 });
    expect(got).toEqual([1]);
  });

  it("publish resolves after every subscriber finished, even one that throws", async () => {
    const bus = new LocalMessageBus();
    const done: string[] = [];
    bus.subscribe("t", async () => {
      await Promise.resolve();
      done.push("slow");
    });
    bus.subscribe("t", () => {
      throw new Error("bad subscriber");
    });
    bus.subscribe("t", () => void done.push("fast"));
    await bus.publish("t", { type: "x", payload: null });
    expect(done.sort()).toEqual(["fast", "slow"]);
  });
});
