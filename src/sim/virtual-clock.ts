/**
 * Virtual time for simulations: a Clock whose time moves only when the simulation advances it, running due
 * timers in time order (ties in the order they were set). Thousands of nodes' timers share one heap, so a
 * 1,000-node mesh runs minutes of simulated time in seconds.
 */
import type { Clock, TimerHandle } from "../protocol/clock.js";

interface Timer {
  atMs: number;
  order: number;
  fn: () => void;
  cancelled: boolean;
}

/** A manually advanced clock. */
export class VirtualClock implements Clock {
  private nowMs: number;
  private heap: Timer[] = [];
  private order = 0;
  /** Timers run so far. */
  fired = 0;

  /** Starts at `startMs` (default 0). */
  constructor(startMs = 0) {
    this.nowMs = startMs;
  }

  now(): number {
    return this.nowMs;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const t: Timer = { atMs: this.nowMs + Math.max(0, ms), order: this.order++, fn, cancelled: false };
    this.push(t);
    return {
      cancel: () => {
        t.cancelled = true;
      },
    };
  }

  /** Runs every timer due up to `untilMs` (including ones they set), then sets the time to `untilMs`. */
  runUntil(untilMs: number): void {
    while (this.heap.length > 0 && this.heap[0].atMs <= untilMs) {
      const t = this.pop();
      if (t.cancelled) continue;
      this.nowMs = t.atMs;
      this.fired++;
      t.fn();
    }
    this.nowMs = Math.max(this.nowMs, untilMs);
  }

  /** Advances by `ms`. */
  advance(ms: number): void {
    this.runUntil(this.nowMs + ms);
  }

  /** Timers waiting (cancelled ones included until their time). */
  get pending(): number {
    return this.heap.length;
  }

  private less(a: Timer, b: Timer): boolean {
    return a.atMs < b.atMs || (a.atMs === b.atMs && a.order < b.order);
  }

  private push(t: Timer): void {
    const h = this.heap;
    h.push(t);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i], h[p])) break;
      [h[i], h[p]] = [h[p], h[i]];
      i = p;
    }
  }

  private pop(): Timer {
    const h = this.heap;
    const top = h[0];
    const last = h.pop() as Timer;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.less(h[l], h[m])) m = l;
        if (r < h.length && this.less(h[r], h[m])) m = r;
        if (m === i) break;
        [h[m], h[i]] = [h[i], h[m]];
        i = m;
      }
    }
    return top;
  }
}

/** A small seeded PRNG (mulberry32): reproducible random numbers in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
