/**
 * Virtual time for simulations: a Clock whose time moves only when the simulation advances it, running due
 * timers in time order (ties in the order they were set). Thousands of nodes' timers share one binary heap, so
 * a 1,000-node mesh runs minutes of simulated time in seconds. A cancelled timer stays in the heap until its
 * time and is then skipped; `pendingTimers` counts only live ones. Also the seeded PRNG every simulation uses.
 */
import { seededRandom } from "../protocol/random.js";
import type { Clock, TimerHandle } from "../protocol/clock.js";

interface Timer {
  atMs: number;
  order: number;
  fn: () => void;
  /** True once run or cancelled. */
  done: boolean;
}

/** A manually advanced clock. */
export class VirtualClock implements Clock {
  private nowMs: number;
  private readonly heap: Timer[] = [];
  private order = 0;
  private live = 0;
  /** Timers run so far. */
  fired = 0;

  /** Starts at `startMs` (default 0). */
  constructor(startMs = 0) {
    this.nowMs = startMs;
  }

  /** Virtual now, ms. */
  now(): number {
    return this.nowMs;
  }

  /** Schedules `fn` at now + max(0, ms); it runs when the clock is advanced past that time. */
  setTimeout(fn: () => void, ms: number): TimerHandle {
    const t: Timer = { atMs: this.nowMs + Math.max(0, ms), order: this.order++, fn, done: false };
    this.push(t);
    this.live++;
    return {
      cancel: () => {
        if (t.done) return;
        t.done = true;
        this.live--;
      },
    };
  }

  /** Moves time to `untilMs` (never backwards), running every timer due on the way (timers they set too); returns how many ran. */
  advanceTo(untilMs: number): number {
    let ran = 0;
    const h = this.heap;
    while (h.length > 0 && h[0].atMs <= untilMs) {
      const t = this.pop();
      if (t.done) continue;
      t.done = true;
      this.live--;
      if (t.atMs > this.nowMs) this.nowMs = t.atMs;
      this.fired++;
      ran++;
      t.fn();
    }
    if (untilMs > this.nowMs) this.nowMs = untilMs;
    return ran;
  }

  /** Moves time forward by `ms`; returns how many timers ran. */
  advance(ms: number): number {
    return this.advanceTo(this.nowMs + ms);
  }

  /** Timers set and not yet run or cancelled. */
  get pendingTimers(): number {
    return this.live;
  }

  private push(t: Timer): void {
    const h = this.heap;
    let i = h.length;
    h.push(t);
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = h[p];
      if (parent.atMs < t.atMs || (parent.atMs === t.atMs && parent.order < t.order)) break;
      h[i] = parent;
      i = p;
    }
    h[i] = t;
  }

  private pop(): Timer {
    const h = this.heap;
    const top = h[0];
    const last = h.pop() as Timer;
    const n = h.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        let m = l;
        if (r < n && (h[r].atMs < h[l].atMs || (h[r].atMs === h[l].atMs && h[r].order < h[l].order))) m = r;
        const c = h[m];
        if (last.atMs < c.atMs || (last.atMs === c.atMs && last.order < c.order)) break;
        h[i] = c;
        i = m;
      }
      h[i] = last;
    }
    return top;
  }
}

/** A seed for a sub-stream (a node, the network) derived from a run's seed and a label number, well mixed. */
export function deriveSeed(seed: number, label: number): number {
  let h = (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(label + 1, 0x85ebca77)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d) >>> 0;
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/** The seeded PRNG (mulberry32, from protocol/random.ts) that every simulation draws from. */
export { seededRandom };
