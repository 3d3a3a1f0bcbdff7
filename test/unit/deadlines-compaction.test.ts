import { describe, expect, it } from "vitest";
import { Deadlines } from "../../src/bus/deadlines.js";
import { ManualClock } from "../helpers/manual-clock.js";

// Requests are cancelled (answered) long before their deadlines: the heap must not keep every one of them
// for the whole timeout (it used to hold each answered request's envelopes for requestTimeoutMs).
describe("Deadlines: cancelled deadlines do not pile up", () => {
  it("rebuilds the heap once tombstones outnumber live deadlines", () => {
    const clock = new ManualClock(0);
    const deadlines = new Deadlines(clock);
    const handles = Array.from({ length: 5000 }, (_, i) => deadlines.add(30_000 + i, () => {}));
    for (const h of handles.slice(0, 4000)) h.cancel();
    expect(deadlines.size).toBeLessThanOrEqual(2 * 1000 + 1024);
    for (const h of handles.slice(4000)) h.cancel();
    expect(deadlines.size).toBeLessThan(1024);
    expect(clock.pendingTimers).toBeLessThanOrEqual(1);
  });

  it("holds steady under a stream of add-then-cancel, as a busy bus does", () => {
    const clock = new ManualClock(0);
    const deadlines = new Deadlines(clock);
    let max = 0;
    for (let i = 0; i < 100_000; i++) {
      const h = deadlines.add(clock.now() + 30_000, () => {});
      if (i % 10 === 0) clock.advance(1);
      h.cancel();
      max = Math.max(max, deadlines.size);
    }
    expect(max).toBeLessThanOrEqual(2048);
  });

  it("fires the live deadlines in order, and never a cancelled one, across rebuilds", () => {
    const clock = new ManualClock(1000);
    const deadlines = new Deadlines(clock);
    const want: number[] = [];
    const got: number[] = [];
    let seed = 7;
    const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    for (let round = 0; round < 20; round++) {
      const batch = Array.from({ length: 1000 }, () => {
        const at = clock.now() + 1 + Math.floor(rand() * 5000);
        return { at, h: deadlines.add(at, () => got.push(at)) };
      });
      for (const { at, h } of batch) {
        if (rand() < 0.8) h.cancel();
        else want.push(at);
      }
      clock.advance(100);
    }
    clock.advance(10_000);
    expect(got).toEqual([...want].sort((a, b) => a - b));
    expect(deadlines.size).toBe(0);
    expect(clock.pendingTimers).toBe(0);
  });

  it("ignores cancel() after the deadline fired, and a second cancel()", () => {
    const clock = new ManualClock(0);
    const deadlines = new Deadlines(clock);
    const fired: string[] = [];
    const a = deadlines.add(10, () => fired.push("a"));
    const b = deadlines.add(20, () => fired.push("b"));
    clock.advance(10);
    a.cancel();
    b.cancel();
    b.cancel();
    const c = deadlines.add(30, () => fired.push("c"));
    clock.advance(30);
    expect(fired).toEqual(["a", "c"]);
    expect(deadlines.size).toBe(0);
    c.cancel();
  });
});
