/** VirtualClock: timers run in time order, ties in the order set, only when advanced; cancellation; the PRNG. */
import { describe, expect, it } from "vitest";
import { deriveSeed, seededRandom, VirtualClock } from "../../src/sim/virtual-clock.js";

describe("VirtualClock", () => {
  it("runs due timers in order of time, ties in the order they were set, only when advanced", () => {
    const clock = new VirtualClock(1000);
    const log: string[] = [];
    clock.setTimeout(() => log.push(`c@${clock.now()}`), 30);
    clock.setTimeout(() => log.push(`a@${clock.now()}`), 10);
    clock.setTimeout(() => log.push(`b1@${clock.now()}`), 20);
    clock.setTimeout(() => log.push(`b2@${clock.now()}`), 20);
    clock.setTimeout(() => log.push(`b3@${clock.now()}`), 20);
    expect(log).toEqual([]);
    expect(clock.advance(25)).toBe(4);
    expect(log).toEqual(["a@1010", "b1@1020", "b2@1020", "b3@1020"]);
    expect(clock.now()).toBe(1025);
    clock.advance(10);
    expect(log.at(-1)).toBe("c@1030");
    expect(clock.now()).toBe(1035);
  });

  it("keeps the order of thousands of timers set in random order (heap)", () => {
    const clock = new VirtualClock();
    const random = seededRandom(3);
    const fired: [number, number][] = [];
    for (let i = 0; i < 5000; i++) {
      const at = Math.floor(random() * 100);
      clock.setTimeout(() => fired.push([clock.now(), i]), at);
    }
    expect(clock.advance(100)).toBe(5000);
    const sorted = [...fired].sort((x, y) => x[0] - y[0] || x[1] - y[1]);
    expect(fired).toEqual(sorted);
  });

  it("runs timers set by timers in the same advance when they fall due, and a zero or negative delay at once", () => {
    const clock = new VirtualClock();
    const log: string[] = [];
    clock.setTimeout(() => {
      log.push(`outer@${clock.now()}`);
      clock.setTimeout(() => log.push(`zero@${clock.now()}`), 0);
      clock.setTimeout(() => log.push(`negative@${clock.now()}`), -5);
      clock.setTimeout(() => log.push(`inner@${clock.now()}`), 5);
      clock.setTimeout(() => log.push(`late@${clock.now()}`), 50);
    }, 10);
    clock.advance(20);
    expect(log).toEqual(["outer@10", "zero@10", "negative@10", "inner@15"]);
    expect(clock.pendingTimers).toBe(1);
  });

  it("cancels: a cancelled timer never runs, cancelling twice or after it ran is harmless, pendingTimers counts live ones", () => {
    const clock = new VirtualClock();
    const log: string[] = [];
    const a = clock.setTimeout(() => log.push("a"), 10);
    const b = clock.setTimeout(() => log.push("b"), 10);
    const c = clock.setTimeout(() => log.push("c"), 20);
    expect(clock.pendingTimers).toBe(3);
    b.cancel();
    b.cancel();
    expect(clock.pendingTimers).toBe(2);
    clock.advance(15);
    a.cancel(); // already ran
    expect(log).toEqual(["a"]);
    expect(clock.pendingTimers).toBe(1);
    // a timer cancelled by another timer before it falls due does not run
    clock.setTimeout(() => c.cancel(), 4);
    clock.advance(10);
    expect(log).toEqual(["a"]);
    expect(clock.pendingTimers).toBe(0);
    expect(clock.fired).toBe(2);
  });

  it("never moves backwards", () => {
    const clock = new VirtualClock(500);
    expect(clock.advanceTo(100)).toBe(0);
    expect(clock.now()).toBe(500);
    clock.advanceTo(700);
    expect(clock.now()).toBe(700);
  });
});

describe("seededRandom and deriveSeed", () => {
  it("repeats for a seed, differs across seeds, stays in [0, 1) with a mean near 1/2", () => {
    const a = seededRandom(42);
    const b = seededRandom(42);
    const xs = Array.from({ length: 2000 }, () => a());
    expect(Array.from({ length: 2000 }, () => b())).toEqual(xs);
    expect(seededRandom(43)()).not.toBe(xs[0]);
    for (const x of xs) expect(x >= 0 && x < 1).toBe(true);
    expect(Math.abs(xs.reduce((s, x) => s + x, 0) / xs.length - 0.5)).toBeLessThan(0.03);
  });

  it("derives distinct, stable sub-seeds", () => {
    const seeds = new Set<number>();
    for (let run = 1; run <= 20; run++) for (let label = 0; label < 50; label++) seeds.add(deriveSeed(run, label));
    expect(seeds.size).toBe(1000);
    expect(deriveSeed(7, 3)).toBe(deriveSeed(7, 3));
  });
});
