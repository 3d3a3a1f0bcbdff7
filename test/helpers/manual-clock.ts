/**
 * A Clock for tests whose time moves only when the test says so. Timers due within an advance run in order
 * of their due time (ties: the order they were set), each seeing now() equal to its due time; timers they
 * set that fall due within the same advance run too.
 */
import type { Clock, TimerHandle } from "../../src/protocol/clock.js";

interface Timer {
  readonly atMs: number;
  readonly seq: number;
  readonly fn: () => void;
  cancelled: boolean;
}

/** Virtual time for deterministic tests. */
export class ManualClock implements Clock {
  private nowMs: number;
  private seq = 0;
  private timers: Timer[] = [];

  /** Starts at `startMs` (Unix ms). Default 1_000_000. */
  constructor(startMs = 1_000_000) {
    this.nowMs = startMs;
  }

  now(): number {
    return this.nowMs;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const timer: Timer = { atMs: this.nowMs + Math.max(0, ms), seq: this.seq++, fn, cancelled: false };
    this.timers.push(timer);
    return {
      cancel: () => {
        timer.cancelled = true;
      },
    };
  }

  /** Timers set and not yet run or cancelled. */
  get pendingTimers(): number {
    return this.timers.filter((t) => !t.cancelled).length;
  }

  /** Moves time forward by `ms`, running every timer that falls due, in order. */
  advance(ms: number): void {
    if (ms < 0) throw new Error(`cannot move time backwards (${ms} ms)`);
    const target = this.nowMs + ms;
    for (;;) {
      const next = this.nextDue(target);
      if (next === undefined) break;
      this.timers.splice(this.timers.indexOf(next), 1);
      this.nowMs = next.atMs;
      next.fn();
    }
    this.nowMs = target;
  }

  /** Moves time to absolute `atMs` (see advance). */
  advanceTo(atMs: number): void {
    this.advance(atMs - this.nowMs);
  }

  private nextDue(limitMs: number): Timer | undefined {
    this.timers = this.timers.filter((t) => !t.cancelled);
    let best: Timer | undefined;
    for (const t of this.timers) {
      if (t.atMs > limitMs) continue;
      if (best === undefined || t.atMs < best.atMs || (t.atMs === best.atMs && t.seq < best.seq)) best = t;
    }
    return best;
  }
}
