import { describe, expect, it } from "vitest";
import { expectedConfirmations, Suspicion, suspicionMinTimeoutMs, suspicionTimeoutMs } from "../../src/membership/suspicion.js";
import { ManualClock } from "../helpers/manual-clock.js";

describe("suspicionMinTimeoutMs: mult × max(1, log10(n)) × interval", () => {
  it.each([
    // mult, n, intervalMs, expected
    [4, 0, 200, 800],
    [4, 1, 200, 800],
    [4, 5, 200, 800], // log10(5) < 1: the floor of 1 applies
    [4, 10, 200, 800],
    [4, 100, 200, 1600],
    [4, 1000, 200, 2400],
    [5, 5, 1000, 5000],
    [3, 10_000, 100, 1200],
  ])("mult %d, n %d, interval %d ms → %d ms", (mult, n, interval, expected) => {
    expect(suspicionMinTimeoutMs(mult, n, interval)).toBeCloseTo(expected, 9);
  });

  it("never goes below the floor, which stops mattering once the formula exceeds it", () => {
    expect(suspicionMinTimeoutMs(3, 5, 150, 1000)).toBe(1000); // the formula alone: 450 ms
    expect(suspicionMinTimeoutMs(3, 100, 150, 1000)).toBe(1000); // 900 ms
    expect(suspicionMinTimeoutMs(3, 1000, 150, 1000)).toBeCloseTo(1350, 9);
  });

  it("grows with log10 of the member count between the table's points", () => {
    expect(suspicionMinTimeoutMs(4, 50, 100)).toBeCloseTo(4 * Math.log10(50) * 100, 9);
    let last = 0;
    for (let n = 1; n <= 5000; n *= 3) {
      const t = suspicionMinTimeoutMs(4, n, 200);
      expect(t).toBeGreaterThanOrEqual(last);
      last = t;
    }
  });
});

describe("expectedConfirmations: mult - 2, at most the n - 2 members who could confirm", () => {
  it.each([
    // mult, n, expected
    [4, 0, 0],
    [4, 1, 0],
    [4, 2, 0],
    [4, 3, 1],
    [4, 4, 2],
    [4, 5, 2],
    [4, 1000, 2],
    [2, 100, 0],
    [1, 100, 0], // never negative
    [6, 10, 4],
    [6, 4, 2],
  ])("mult %d, n %d → %d", (mult, n, expected) => {
    expect(expectedConfirmations(mult, n)).toBe(expected);
  });
});

describe("suspicionTimeoutMs (Lifeguard): max - (max - min) × log(c + 1) / log(k + 1), floored, never below min", () => {
  it.each([
    // confirmations c, expected k, minMs, maxMs, expected
    [0, 0, 1000, 2000, 1000], // nobody can confirm: the minimum at once
    [3, 0, 1000, 2000, 1000],
    [0, 3, 1000, 2000, 2000], // starts at the maximum
    [1, 3, 1000, 2000, 1500], // log 2 / log 4 = 1/2
    [2, 3, 1000, 2000, 1207], // 2000 - 1000 × log 3 / log 4 = 1207.5 → 1207
    [3, 3, 1000, 2000, 1000], // all expected confirmations: the minimum
    [9, 3, 1000, 2000, 1000], // more than expected: still the minimum
    [1, 1, 800, 1600, 800],
    [1, 2, 800, 1600, 1095], // 1600 - 800 × log 2 / log 3 = 1095.3
    [0, 2, 800, 1600, 1600],
    [1, 3, 1000, 1000, 1000], // min = max
  ])("c %d, k %d, min %d, max %d → %d ms", (c, k, min, max, expected) => {
    expect(suspicionTimeoutMs(c, k, min, max)).toBe(expected);
  });

  it("shrinks as confirmations arrive and never goes below the minimum", () => {
    for (const k of [1, 2, 3, 5, 8]) {
      let last = Number.POSITIVE_INFINITY;
      for (let c = 0; c <= k + 3; c++) {
        const t = suspicionTimeoutMs(c, k, 700, 3000);
        expect(t).toBeLessThanOrEqual(last);
        expect(t).toBeGreaterThanOrEqual(700);
        expect(t).toBeLessThanOrEqual(3000);
        last = t;
      }
      expect(last).toBe(700);
    }
  });
});

describe("Suspicion", () => {
  function start(expected: number, minMs = 800, maxMs = 1600) {
    const clock = new ManualClock();
    let firedAt: number | undefined;
    const startedAt = clock.now();
    const s = new Suspicion("a", expected, minMs, maxMs, clock, () => {
      expect(firedAt).toBeUndefined(); // once
      firedAt = clock.now() - startedAt;
    });
    return { clock, s, fired: () => firedAt };
  }

  it("times out at the maximum when nobody confirms", () => {
    const { clock, s, fired } = start(2);
    clock.advance(1599);
    expect(fired()).toBeUndefined();
    clock.advance(1);
    expect(fired()).toBe(1600);
    expect(s.confirmations).toBe(0);
    clock.advance(10_000);
    expect(fired()).toBe(1600);
  });

  it("times out at the minimum at once when no confirmation is expected", () => {
    const { clock, fired } = start(0);
    clock.advance(800);
    expect(fired()).toBe(800);
  });

  it("shortens the timeout, counted from the start, with each new independent confirmation", () => {
    const { clock, s, fired } = start(2);
    clock.advance(100);
    expect(s.confirm("b")).toBe(true); // now 1095 ms in total
    expect(s.confirm("b")).toBe(false); // the same member twice
    expect(s.confirm("a")).toBe(false); // the first suspector
    expect(s.confirmations).toBe(1);
    clock.advance(994);
    expect(fired()).toBeUndefined();
    clock.advance(1);
    expect(fired()).toBe(1095);
  });

  it("ignores confirmations beyond the expected number", () => {
    const { clock, s, fired } = start(2);
    expect(s.confirm("b")).toBe(true);
    expect(s.confirm("c")).toBe(true); // now the minimum
    expect(s.confirm("d")).toBe(false);
    expect(s.confirmations).toBe(2);
    clock.advance(800);
    expect(fired()).toBe(800);
  });

  it("fires at once when a confirmation brings the timeout below the time already waited", () => {
    const { clock, s, fired } = start(2);
    clock.advance(1000);
    s.confirm("b");
    s.confirm("c"); // total 800 ms, 1000 ms already gone
    clock.advance(0);
    expect(fired()).toBe(1000);
  });

  it("never fires once cancelled, even when a confirmation comes later", () => {
    const { clock, s, fired } = start(2);
    clock.advance(500);
    s.cancel();
    expect(s.confirm("b")).toBe(false);
    clock.advance(10_000);
    expect(fired()).toBeUndefined();
    expect(clock.pendingTimers).toBe(0);
  });

  it("ignores confirmations once expired (it fires once)", () => {
    const { clock, s, fired } = start(2);
    clock.advance(1600);
    expect(fired()).toBe(1600);
    expect(s.confirm("b")).toBe(false);
    clock.advance(10_000);
    expect(clock.pendingTimers).toBe(0);
  });
});
