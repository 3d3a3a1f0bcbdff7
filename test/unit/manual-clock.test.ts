import { describe, expect, it } from "vitest";
import { ManualClock } from "../helpers/manual-clock.js";

describe("ManualClock (test helper)", () => {
  it("moves only when advanced and runs due timers in order of due time, then of setting", () => {
    const clock = new ManualClock(0);
    const log: string[] = [];
    clock.setTimeout(() => log.push(`b@${clock.now()}`), 20);
    clock.setTimeout(() => log.push(`a@${clock.now()}`), 10);
    clock.setTimeout(() => log.push(`c@${clock.now()}`), 20);
    clock.setTimeout(() => log.push(`late@${clock.now()}`), 31);
    expect(clock.now()).toBe(0);
    clock.advance(30);
    expect(log).toEqual(["a@10", "b@20", "c@20"]);
    expect(clock.now()).toBe(30);
    expect(clock.pendingTimers).toBe(1);
  });

  it("runs timers set by timers when they fall due in the same advance, and skips cancelled ones", () => {
    const clock = new ManualClock(0);
    const log: number[] = [];
    clock.setTimeout(() => {
      log.push(clock.now());
      clock.setTimeout(() => log.push(clock.now()), 5);
    }, 10);
    clock.setTimeout(() => log.push(-1), 12).cancel();
    clock.advance(15);
    expect(log).toEqual([10, 15]);
    expect(clock.pendingTimers).toBe(0);
  });
});
