/**
 * A deterministic virtual-time network for simulations in one process. `VirtualClock` (src/sim/virtual-clock.ts,
 * shared with the simulator) is a Clock whose time moves only when the test advances it, running due timers in
 * order of due time, then of setting. `VirtualNet` delivers messages between attached nodes through that clock's
 * timer queue, with configurable latency, loss, duplication, reordering and partitions, every choice drawn from a
 * seeded PRNG — the same seed gives the same run. Each test builds its own clock and network; nothing is global.
 */
import { seededRandom, VirtualClock } from "../../src/sim/virtual-clock.js";

export { VirtualClock };

/** A small, fast, seeded PRNG (mulberry32): uniform numbers in [0, 1), the same sequence for the same seed. */
export const mulberry32: (seed: number) => () => number = seededRandom;

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
