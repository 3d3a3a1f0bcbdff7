/**
 * Order statistics for the simulator's report, as pure functions. Quantiles are nearest-rank (the smallest sample
 * with at least q of the samples at or below it), so p99 of fewer than 100 samples is the maximum: a report never
 * claims a tail it did not observe. A missing sample (null: the event did not happen within the run's limit)
 * counts as +Infinity, so it shows in the tail instead of vanishing.
 */

/** The nearest-rank q-quantile (0 < q ≤ 1) of `samples`; NaN when there are none. */
export function quantile(samples: readonly (number | null)[], q: number): number {
  if (samples.length === 0) return NaN;
  const sorted = samples.map((x) => x ?? Infinity).sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1];
}

/** The median (nearest-rank: the lower middle of an even count). */
export function median(samples: readonly (number | null)[]): number {
  return quantile(samples, 0.5);
}

/** The largest sample (Infinity when one is missing); NaN when there are none. */
export function maximum(samples: readonly (number | null)[]): number {
  return quantile(samples, 1);
}

/** A summary of samples. */
export interface Summary {
  /** Samples. */
  count: number;
  /** Missing samples (nulls). */
  missing: number;
  /** Median. */
  median: number;
  /** 99th percentile (nearest rank). */
  p99: number;
  /** Maximum. */
  max: number;
}

/** Summarises `samples`. */
export function summarize(samples: readonly (number | null)[]): Summary {
  return {
    count: samples.length,
    missing: samples.filter((x) => x === null).length,
    median: median(samples),
    p99: quantile(samples, 0.99),
    max: maximum(samples),
  };
}
