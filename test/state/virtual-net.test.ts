import { describe, expect, it } from "vitest";
import { mulberry32, VirtualClock, VirtualNet } from "../helpers/virtual-net.js";

describe("mulberry32", () => {
  it("repeats for a seed, differs across seeds, stays in [0, 1)", () => {
    const a = mulberry32(42);
    const b = mulberry32(42);
    const c = mulberry32(43);
    const xs = Array.from({ length: 1000 }, () => a());
    expect(Array.from({ length: 1000 }, () => b())).toEqual(xs);
    expect(c()).not.toBe(xs[0]);
    for (const x of xs) expect(x >= 0 && x < 1).toBe(true);
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.05);
  });
});

describe("VirtualClock", () => {
  it("runs timers in order of due time, then of setting, only when advanced, including timers set by timers", () => {
    const clock = new VirtualClock(100);
    const log: string[] = [];
    clock.setTimeout(() => log.push(`b@${clock.now()}`), 20);
    clock.setTimeout(() => log.push(`a@${clock.now()}`), 10);
    clock.setTimeout(() => {
      log.push(`c@${clock.now()}`);
      clock.setTimeout(() => log.push(`d@${clock.now()}`), 5);
    }, 20);
    const cancelled = clock.setTimeout(() => log.push("never"), 15);
    cancelled.cancel();
    cancelled.cancel();
    expect(log).toEqual([]);
    expect(clock.pendingTimers).toBe(3);
    expect(clock.advance(30)).toBe(4);
    expect(log).toEqual(["a@110", "b@120", "c@120", "d@125"]);
    expect(clock.now()).toBe(130);
    expect(clock.pendingTimers).toBe(0);
  });
});

describe("VirtualNet", () => {
  function run(seed: number, faults: ConstructorParameters<typeof VirtualNet<number>>[2]) {
    const clock = new VirtualClock();
    const net = new VirtualNet<number>(clock, mulberry32(seed), faults);
    const got: Array<[string, number, number]> = [];
    net.attach("b", (from, m) => got.push([from, m, clock.now()]));
    for (let i = 0; i < 2000; i++) net.send("a", "b", i);
    clock.advance(1000);
    return { net, got };
  }

  it("delivers everything within the latency bounds when there are no faults", () => {
    const { net, got } = run(1, { minLatencyMs: 2, maxLatencyMs: 4 });
    expect(got).toHaveLength(2000);
    for (const [from, , at] of got) {
      expect(from).toBe("a");
      expect(at >= 2 && at <= 4).toBe(true);
    }
    expect(net.stats).toMatchObject({ sent: 2000, delivered: 2000, lost: 0, duplicated: 0 });
  });

  it("loses, duplicates and reorders at about the configured rates, the same way for the same seed", () => {
    const faults = { lossRate: 0.1, duplicateRate: 0.1, reorderRate: 0.1, minLatencyMs: 1, maxLatencyMs: 1 };
    const { net, got } = run(7, faults);
    expect(net.stats.lost).toBeGreaterThan(140);
    expect(net.stats.lost).toBeLessThan(260);
    expect(net.stats.duplicated).toBeGreaterThan(120);
    expect(got.length).toBe(2000 - net.stats.lost + net.stats.duplicated);
    const order = got.map(([, m]) => m);
    let highest = -1;
    let overtaken = 0; // delivered after a message sent later
    for (const m of order) {
      if (m < highest) overtaken++;
      highest = Math.max(highest, m);
    }
    expect(net.stats.reordered).toBeGreaterThan(120);
    expect(overtaken).toBeGreaterThan(100);
    expect(run(7, faults).got).toEqual(got);
  });

  it("drops messages across a partition, also those in flight, until healed; and to detached nodes", () => {
    const clock = new VirtualClock();
    const net = new VirtualNet<string>(clock, mulberry32(1));
    const got: string[] = [];
    for (const id of ["a", "b", "c"]) net.attach(id, (from, m) => got.push(`${from}>${id}:${m}`));
    net.send("a", "b", "in-flight");
    net.partition(["a", "c"], ["b"]);
    expect(net.partitioned).toBe(true);
    net.send("a", "c", "same-side");
    net.send("b", "a", "across");
    clock.advance(10);
    expect(got).toEqual(["a>c:same-side"]);
    net.heal();
    net.detach("c");
    net.send("b", "a", "healed");
    net.send("a", "c", "detached");
    clock.advance(10);
    expect(got).toEqual(["a>c:same-side", "b>a:healed"]);
    expect(net.stats.cut).toBe(3);
  });
});
