/**
 * Deadlines of many pending operations on one timer: a binary min-heap of expiry times, with the clock's
 * timer armed for the earliest. Adding and cancelling cost O(log n); no timer per message.
 */
import type { Clock, TimerHandle } from "../protocol/clock.js";

/** A scheduled expiry; cancel() removes it lazily. */
export interface Deadline {
  /** Absolute expiry, ms. */
  readonly atMs: number;
  /** Prevents the callback from running. */
  cancel(): void;
}

interface Item {
  atMs: number;
  fn: () => void;
  cancelled: boolean;
}

/** A set of deadlines sharing one timer. */
export class Deadlines {
  private heap: Item[] = [];
  private timer: TimerHandle | undefined;
  private armedAt = Infinity;

  /** Creates an empty set on `clock`. */
  constructor(private readonly clock: Clock) {}

  /** Runs `fn` at absolute time `atMs` unless cancelled. */
  add(atMs: number, fn: () => void): Deadline {
    const item: Item = { atMs, fn, cancelled: false };
    this.push(item);
    if (atMs < this.armedAt) this.arm();
    return {
      atMs,
      cancel: () => {
        item.cancelled = true;
      },
    };
  }

  /** Deadlines not yet fired (cancelled ones included until they expire). */
  get size(): number {
    return this.heap.length;
  }

  private arm(): void {
    this.timer?.cancel();
    this.timer = undefined;
    this.armedAt = Infinity;
    while (this.heap.length > 0 && this.heap[0].cancelled) this.pop();
    if (this.heap.length === 0) return;
    const at = this.heap[0].atMs;
    this.armedAt = at;
    this.timer = this.clock.setTimeout(() => this.fire(), Math.max(0, at - this.clock.now()));
  }

  private fire(): void {
    this.timer = undefined;
    this.armedAt = Infinity;
    try {
      const now = this.clock.now();
      while (this.heap.length > 0 && this.heap[0].atMs <= now) {
        const item = this.pop();
        if (!item.cancelled) item.fn();
      }
    } finally {
      // Re-arm even when a callback threw, or every later deadline would be stranded.
      this.arm();
    }
  }

  private push(item: Item): void {
    const h = this.heap;
    h.push(item);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (h[parent].atMs <= h[i].atMs) break;
      [h[parent], h[i]] = [h[i], h[parent]];
      i = parent;
    }
  }

  private pop(): Item {
    const h = this.heap;
    const top = h[0];
    const last = h.pop() as Item;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && h[l].atMs < h[m].atMs) m = l;
        if (r < h.length && h[r].atMs < h[m].atMs) m = r;
        if (m === i) break;
        [h[m], h[i]] = [h[i], h[m]];
        i = m;
      }
    }
    return top;
  }
}
