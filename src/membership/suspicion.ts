/**
 * Suspicion with Lifeguard's refinement: a suspected member gets a timeout that starts at a maximum and
 * shrinks (logarithmically) towards a minimum as independent members confirm the suspicion; when it runs
 * out the member is declared dead. The timing formulas are pure functions, tested by tables.
 */
import type { Clock, TimerHandle } from "../protocol/clock.js";

/** Minimum suspicion timeout: mult × max(1, log10(max(1, n))) × intervalMs, and never below floorMs. */
export function suspicionMinTimeoutMs(mult: number, n: number, intervalMs: number, floorMs = 0): number {
  return Math.max(floorMs, mult * Math.max(1, Math.log10(Math.max(1, n))) * intervalMs);
}

/** Confirmations a suspicion expects: mult - 2, but no more than the other members who could confirm (n - 2). */
export function expectedConfirmations(mult: number, n: number): number {
  return Math.max(0, Math.min(mult - 2, n - 2));
}

/**
 * The timeout after `confirmations` independent confirmations: max - (max - min) × log(c + 1) / log(k + 1),
 * never below min; with k = 0 expected confirmations it is min.
 */
export function suspicionTimeoutMs(confirmations: number, expected: number, minMs: number, maxMs: number): number {
  if (expected <= 0) return minMs;
  const frac = Math.log(Math.min(confirmations, expected) + 1) / Math.log(expected + 1);
  return Math.max(minMs, Math.floor(maxMs - (maxMs - minMs) * frac));
}

/** One running suspicion of one member. */
export class Suspicion {
  private readonly confirmers = new Set<string>();
  private timer: TimerHandle | undefined;
  private readonly startedMs: number;

  /** Starts the timer; `onTimeout` runs once when it expires. `from` is the first suspector. */
  constructor(
    from: string,
    private readonly expected: number,
    private readonly minMs: number,
    private readonly maxMs: number,
    private readonly clock: Clock,
    private readonly onTimeout: () => void,
  ) {
    this.startedMs = clock.now();
    this.confirmers.add(from);
    this.arm();
  }

  /** Records an independent confirmation; returns true when it was new (and the timeout shrank). Ignored once cancelled or expired. */
  confirm(from: string): boolean {
    if (this.timer === undefined || this.confirmers.has(from) || this.confirmers.size - 1 >= this.expected) return false;
    this.confirmers.add(from);
    this.arm();
    return true;
  }

  /** Confirmations beyond the first suspector. */
  get confirmations(): number {
    return this.confirmers.size - 1;
  }

  /** Stops the timer (the member refuted or was declared dead otherwise). */
  cancel(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }

  private arm(): void {
    this.timer?.cancel();
    const total = suspicionTimeoutMs(this.confirmations, this.expected, this.minMs, this.maxMs);
    const remaining = Math.max(0, this.startedMs + total - this.clock.now());
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      this.onTimeout();
    }, remaining);
  }
}
