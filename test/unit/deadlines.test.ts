import { describe, expect, it } from "vitest";
import { Deadlines } from "../../src/bus/deadlines.js";
import { ManualClock } from "../helpers/manual-clock.js";

function setup() {
  const clock = new ManualClock(1000);
  const deadlines = new Deadlines(clock);
  const fired: string[] = [];
  const add = (name: string, atMs: number) => deadlines.add(atMs, () => fired.push(`${name}@${clock.now()}`));
  return { clock, deadlines, fired, add };
}

describe("Deadlines", () => {
  it("fires each deadline at its time, in order, whatever order they were added in", () => {
    const { clock, fired, add } = setup();
    add("c", 1300);
    add("a", 1100);
    add("d", 1400);
    add("b", 1200);
    clock.advance(99);
    expect(fired).toEqual([]);
    clock.advance(1);
    expect(fired).toEqual(["a@1100"]);
    clock.advance(400);
    expect(fired).toEqual(["a@1100", "b@1200", "c@1300", "d@1400"]);
  });

  it("uses one armed timer for many deadlines", () => {
    const { clock, add } = setup();
    for (let i = 0; i < 100; i++) add(`d${i}`, 2000 + i);
    expect(clock.pendingTimers).toBe(1);
  });

  it("re-arms for an earlier deadline added later", () => {
    const { clock, fired, add } = setup();
    add("late", 5000);
    add("early", 1010);
    clock.advance(10);
    expect(fired).toEqual(["early@1010"]);
    expect(clock.pendingTimers).toBe(1);
  });

  it("never runs a cancelled deadline, and the next one still fires on time", () => {
    const { clock, fired, add } = setup();
    const a = add("a", 1100);
    add("b", 1200);
    a.cancel();
    clock.advance(1000);
    expect(fired).toEqual(["b@1200"]);
  });

  it("fires deadlines that share a time together", () => {
    const { clock, fired, add } = setup();
    add("x", 1500);
    add("y", 1500);
    add("z", 1500);
    clock.advance(500);
    expect([...fired].sort()).toEqual(["x@1500", "y@1500", "z@1500"]);
  });

  it("fires a deadline already in the past at the next timer run", () => {
    const { clock, fired, add } = setup();
    add("past", 500);
    clock.advance(0);
    expect(fired).toEqual(["past@1000"]);
  });

  it("keeps working when a callback adds another deadline", () => {
    const { clock, deadlines, fired } = setup();
    deadlines.add(1100, () => {
      fired.push(`first@${clock.now()}`);
      deadlines.add(clock.now() + 50, () => fired.push(`second@${clock.now()}`));
    });
    clock.advance(200);
    expect(fired).toEqual(["first@1100", "second@1150"]);
  });

  it("reports its size: pending deadlines, dropping fired ones", () => {
    const { clock, deadlines, add } = setup();
    add("a", 1100);
    add("b", 1200);
    expect(deadlines.size).toBe(2);
    clock.advance(100);
    expect(deadlines.size).toBe(1);
    clock.advance(100);
    expect(deadlines.size).toBe(0);
    expect(clock.pendingTimers).toBe(0);
  });

  it("keeps firing later deadlines when a callback throws", () => {
    const { clock, deadlines, fired, add } = setup();
    deadlines.add(1100, () => {
      throw new Error("callback failed");
    });
    add("after", 1200);
    expect(() => clock.advance(100)).toThrow("callback failed");
    clock.advance(100);
    expect(fired).toEqual(["after@1200"]);
  });

  it("stays correct under many random adds and cancels", () => {
    const { clock, deadlines } = setup();
    const want: number[] = [];
    const got: number[] = [];
    let seed = 42;
    const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    for (let i = 0; i < 500; i++) {
      const at = 1000 + Math.floor(rand() * 10_000);
      const d = deadlines.add(at, () => got.push(at));
      if (rand() < 0.3) d.cancel();
      else want.push(at);
    }
    clock.advance(20_000);
    expect(got).toEqual([...want].sort((a, b) => a - b));
  });
});

describe("Deadlines with an argument", () => {
  it("calls the callback with the argument given, and lets go of it when cancelled", () => {
    const clock = new ManualClock(0);
    const deadlines = new Deadlines(clock);
    const got: string[] = [];
    const onExpiry = (what: { name: string }) => got.push(what.name);
    deadlines.add(10, onExpiry, { name: "first" });
    const second = deadlines.add(20, onExpiry, { name: "second" });
    second.cancel();
    expect((second as unknown as { arg: unknown }).arg).toBeUndefined();
    clock.advance(30);
    expect(got).toEqual(["first"]);
  });
});
