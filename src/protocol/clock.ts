/** The time seam: layers read time and set timers through a Clock so simulations can run on virtual time. */

/** A timer that can be cancelled. */
export interface TimerHandle {
  /** Cancels the timer; harmless when it already ran. */
  cancel(): void;
}

/** A source of time and timers. */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
  /** Runs `fn` once after `ms` milliseconds. Timers of the system clock never keep the process alive. */
  setTimeout(fn: () => void, ms: number): TimerHandle;
}

/** The real clock. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms);
    t.unref();
    return { cancel: () => clearTimeout(t) };
  },
};
