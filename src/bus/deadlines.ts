/**
 * Deadlines of many pending operations on one timer: a binary min-heap of expiry times, with the clock's
 * timer armed for the earliest. Adding costs O(log n), cancelling O(1) amortised; no timer per message.
 *
 * Cancelling lets go of the callback at once (it holds the pending request, envelopes included) and leaves
 * a small tombstone in the heap; when tombstones outnumber live deadlines the heap is rebuilt without them.
 * So memory follows the deadlines still pending, not every one added within the longest timeout.
 */
import type { Clock, TimerHandle } from "../protocol/clock.js";

/** A scheduled expiry; cancel() removes it lazily. */
export interface Deadline {
  /** Absolute expiry, ms. */
  readonly atMs: number;
  /** Prevents the callback from running. */
  cancel(): void;
}

/** A deadline in the heap; it is also the handle add() returns (one object per deadline). */
class Item implements Deadline {
  /** True while the item is in the heap. */
  inHeap = true;

  constructor(
    readonly atMs: number,
    /** The callback; undefined once cancelled or fired. */
    public fn: ((arg: unknown) => void) | undefined,
    /** What the callback is called with (so that callers need no closure per deadline); dropped on cancel. */
    public arg: unknown,
    private readonly owner: Deadlines,
  ) {}

  cancel(): void {
    if (this.fn === undefined) return;
    this.fn = undefined;
    this.arg = undefined;
    if (this.inHeap) this.owner.cancelled();
  }
}

/** Tombstones tolerated before a rebuild is considered (below this, rebuilding is not worth it). */
const MIN_TOMBSTONES_TO_COMPACT = 1024;

/** A set of deadlines sharing one timer. */
export class Deadlines {
  private heap: Item[] = [];
  private timer: TimerHandle | undefined;
  private armedAt = Infinity;
  /** Cancelled items still in the heap. */
  private tombstones = 0;

  /** Creates an empty set on `clock`. */
  constructor(private readonly clock: Clock) {}

  /** Runs `fn(arg)` at absolute time `atMs` unless cancelled. */
  add(atMs: number, fn: () => void): Deadline;
  add<A>(atMs: number, fn: (arg: A) => void, arg: A): Deadline;
  add(atMs: number, fn: (arg: unknown) => void, arg?: unknown): Deadline {
    const item = new Item(atMs, fn, arg, this);
    this.push(item);
    if (atMs < this.armedAt) this.arm();
    return item;
  }

  /** Counts a deadline cancelled while in the heap (called by its handle); rebuilds the heap when they pile up. */
  cancelled(): void {
    this.tombstones++;
    if (this.tombstones >= MIN_TOMBSTONES_TO_COMPACT && this.tombstones * 2 > this.heap.length) this.compact();
  }

  /** Deadlines not yet fired (cancelled ones included until they expire or the heap is rebuilt). */
  get size(): number {
    return this.heap.length;
  }

  /** Rebuilds the heap without its tombstones (Floyd's heapify, O(n)); the armed timer stays (firing early is harmless). */
  private compact(): void {
    const live: Item[] = [];
    for (const item of this.heap) {
      if (item.fn !== undefined) live.push(item);
      else item.inHeap = false;
    }
    this.heap = live;
    this.tombstones = 0;
    for (let i = (live.length >> 1) - 1; i >= 0; i--) this.siftDown(i);
  }

  private arm(): void {
    this.timer?.cancel();
    this.timer = undefined;
    this.armedAt = Infinity;
    while (this.heap.length > 0 && this.heap[0].fn === undefined) this.pop();
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
        const arg = this.heap[0].arg;
        const fn = this.pop();
        if (fn !== undefined) fn(arg);
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

  /** Removes the earliest item and returns its callback (undefined for a tombstone); it will not run again. */
  private pop(): ((arg: unknown) => void) | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop() as Item;
    if (h.length > 0) {
      h[0] = last;
      this.siftDown(0);
    }
    top.inHeap = false;
    const fn = top.fn;
    top.fn = undefined;
    top.arg = undefined;
    if (fn === undefined) this.tombstones--;
    return fn;
  }

  private siftDown(start: number): void {
    const h = this.heap;
    let i = start;
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
}
