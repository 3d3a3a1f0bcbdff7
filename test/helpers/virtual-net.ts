/**
 * A deterministic virtual-time network for simulations in one process. `VirtualClock` is a Clock whose time
 * moves only when the test advances it, running due timers in order of due time, then of setting.
 * `VirtualNet` delivers messages between attached nodes through that clock's timer queue, with configurable
 * latency, loss, duplication, reordering and partitions, every choice drawn from a seeded PRNG — the same seed
 * gives the same run. Each test builds its own clock and network; nothing is global.
 */
import type { Clock, TimerHandle } from "../../src/protocol/clock.js";

/** A small, fast, seeded PRNG (mulberry32): uniform numbers in [0, 1), the same sequence for the same seed. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A scheduled timer. */
interface Timer {
  due: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

/** A binary min-heap of timers by (due, seq). */
class TimerHeap {
  private readonly items: Timer[] = [];

  get size(): number {
    return this.items.length;
  }

  peek(): Timer | undefined {
    return this.items[0];
  }

  push(t: Timer): void {
    const a = this.items;
    a.push(t);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(a[i], a[p])) break;
      [a[i], a[p]] = [a[p], a[i]];
      i = p;
    }
  }

  pop(): Timer | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last !== undefined) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && before(a[l], a[m])) m = l;
        if (r < a.length && before(a[r], a[m])) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m], a[i]];
        i = m;
      }
    }
    return top;
  }
}

function before(x: Timer, y: Timer): boolean {
  return x.due < y.due || (x.due === y.due && x.seq < y.seq);
}

/** A Clock on virtual time: nothing happens until `advance` or `advanceTo`. */
export class VirtualClock implements Clock {
  private time: number;
  private seq = 0;
  private readonly heap = new TimerHeap();
  private live = 0;

  /** Starts at `startMs` (virtual Unix ms). */
  constructor(startMs = 0) {
    this.time = startMs;
  }

  /** Virtual now, ms. */
  now(): number {
    return this.time;
  }

  /** Schedules `fn` at now + max(0, ms). */
  setTimeout(fn: () => void, ms: number): TimerHandle {
    const timer: Timer = { due: this.time + Math.max(0, ms), seq: this.seq++, fn, cancelled: false };
    this.heap.push(timer);
    this.live++;
    return {
      cancel: () => {
        if (!timer.cancelled) {
          timer.cancelled = true;
          this.live--;
        }
      },
    };
  }

  /** Timers set and not yet run or cancelled. */
  get pendingTimers(): number {
    return this.live;
  }

  /** Moves time forward by `ms`, running every timer that falls due (timers set meanwhile too); returns how many ran. */
  advance(ms: number): number {
    return this.advanceTo(this.time + ms);
  }

  /** Moves time to `t` (never backwards), running what falls due on the way; returns how many timers ran. */
  advanceTo(t: number): number {
    let ran = 0;
    for (;;) {
      const next = this.heap.peek();
      if (next === undefined || next.due > t) break;
      this.heap.pop();
      if (next.cancelled) continue;
      next.cancelled = true;
      this.live--;
      this.time = Math.max(this.time, next.due);
      next.fn();
      ran++;
    }
    this.time = Math.max(this.time, t);
    return ran;
  }
}

/** Faults and timing of a VirtualNet; every field may be changed while it runs. */
export interface NetFaults {
  /** Shortest one-way delay, ms. Default 1. */
  minLatencyMs: number;
  /** Longest one-way delay, ms (uniform between the two). Default 5. */
  maxLatencyMs: number;
  /** Chance that a message is lost, 0..1. Default 0. */
  lossRate: number;
  /** Chance that a message is delivered twice (the copy with its own delay), 0..1. Default 0. */
  duplicateRate: number;
  /** Chance that a message is held back by an extra `reorderDelayMs`, so later ones overtake it, 0..1. Default 0. */
  reorderRate: number;
  /** Extra delay of a held-back message, ms. Default 50. */
  reorderDelayMs: number;
}

/** Counters of a VirtualNet. */
export interface NetStats {
  /** Messages sent. */
  sent: number;
  /** Deliveries made (duplicates count twice). */
  delivered: number;
  /** Messages lost at random. */
  lost: number;
  /** Extra copies made. */
  duplicated: number;
  /** Messages held back to reorder. */
  reordered: number;
  /** Messages dropped by a partition or because the receiver is not attached. */
  cut: number;
}

/** Receives a message from `from`. */
export type NetHandler<M> = (from: string, message: M) => void;

/** A lossy virtual network of nodes exchanging messages of type M. */
export class VirtualNet<M> {
  /** The faults now in force. */
  readonly faults: NetFaults;
  /** Counters. */
  readonly stats: NetStats = { sent: 0, delivered: 0, lost: 0, duplicated: 0, reordered: 0, cut: 0 };
  private readonly handlers = new Map<string, NetHandler<M>>();
  private groupOf: Map<string, number> | undefined;
  private readonly taps: Array<(from: string, to: string, message: M) => void> = [];

  /** A network on `clock` whose random choices come from `random`. */
  constructor(
    private readonly clock: VirtualClock,
    private readonly random: () => number,
    faults: Partial<NetFaults> = {},
  ) {
    this.faults = { minLatencyMs: 1, maxLatencyMs: 5, lossRate: 0, duplicateRate: 0, reorderRate: 0, reorderDelayMs: 50, ...faults };
  }

  /** Attaches node `id`: messages to it go to `handler`. */
  attach(id: string, handler: NetHandler<M>): void {
    this.handlers.set(id, handler);
  }

  /** Detaches node `id` (a crash): messages to it are dropped. */
  detach(id: string): void {
    this.handlers.delete(id);
  }

  /** Calls `tap` with every message sent (before faults apply), e.g. to measure sizes. */
  tap(tap: (from: string, to: string, message: M) => void): void {
    this.taps.push(tap);
  }

  /** Splits the network: nodes in different groups cannot reach each other (also for messages in flight). Unlisted nodes reach no one. */
  partition(...groups: string[][]): void {
    this.groupOf = new Map();
    groups.forEach((g, i) => g.forEach((id) => this.groupOf?.set(id, i)));
  }

  /** Ends any partition. */
  heal(): void {
    this.groupOf = undefined;
  }

  /** True while a partition is in force. */
  get partitioned(): boolean {
    return this.groupOf !== undefined;
  }

  /** True when `a` can reach `b` now. */
  reachable(a: string, b: string): boolean {
    if (this.groupOf === undefined) return true;
    const ga = this.groupOf.get(a);
    return ga !== undefined && ga === this.groupOf.get(b);
  }

  /** Sends `message` from `from` to `to`, best effort, under the faults in force. */
  send(from: string, to: string, message: M): void {
    this.stats.sent++;
    for (const t of this.taps) t(from, to, message);
    if (this.random() < this.faults.lossRate) {
      this.stats.lost++;
      return;
    }
    const copies = this.random() < this.faults.duplicateRate ? 2 : 1;
    if (copies === 2) this.stats.duplicated++;
    for (let c = 0; c < copies; c++) {
      const f = this.faults;
      let delay = f.minLatencyMs + this.random() * (f.maxLatencyMs - f.minLatencyMs);
      if (this.random() < f.reorderRate) {
        delay += f.reorderDelayMs;
        this.stats.reordered++;
      }
      this.clock.setTimeout(() => this.deliver(from, to, message), delay);
    }
  }

  private deliver(from: string, to: string, message: M): void {
    const handler = this.handlers.get(to);
    if (handler === undefined || !this.reachable(from, to)) {
      this.stats.cut++;
      return;
    }
    this.stats.delivered++;
    handler(from, message);
  }
}
