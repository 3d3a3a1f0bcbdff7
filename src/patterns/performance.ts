/**
 * Past performance per agent and capability: success rate and typical latency, kept as exponentially
 * weighted averages. Each agent records its own task runs and shares them through the replicated state
 * (key perf/<agent>/<capability>), so auctioneers anywhere can score bids by them.
 */

/** What is known of one agent's performance at one capability. */
export interface PerformanceRecord {
  /** Fraction of runs that succeeded, 0..1 (1 before any run: new agents get a fair chance). */
  successRate: number;
  /** Typical run time, ms (EWMA). */
  latencyMs: number;
  /** Runs observed. */
  runs: number;
}

/** State key prefix of performance records. */
export const PERF_KEY_PREFIX = "perf/";

/** The state key of `agent`'s record for `capability`. */
export function perfKey(agent: string, capability: string): string {
  return `${PERF_KEY_PREFIX}${agent}/${capability}`;
}

/** Folds one run into a record: EWMA with weight `alpha` (default 0.2) for both success and latency. */
export function recordRun(previous: PerformanceRecord | undefined, ok: boolean, latencyMs: number, alpha = 0.2): PerformanceRecord {
  if (previous === undefined || previous.runs === 0) return { successRate: ok ? 1 : 0, latencyMs, runs: 1 };
  return {
    successRate: previous.successRate * (1 - alpha) + (ok ? 1 : 0) * alpha,
    latencyMs: previous.latencyMs * (1 - alpha) + latencyMs * alpha,
    runs: previous.runs + 1,
  };
}

/** Reads a record from a replicated value; undefined when malformed. */
export function parseRecord(value: unknown): PerformanceRecord | undefined {
  const v = value as Partial<PerformanceRecord> | undefined;
  if (typeof v?.successRate !== "number" || typeof v.latencyMs !== "number" || typeof v.runs !== "number") return undefined;
  return { successRate: v.successRate, latencyMs: v.latencyMs, runs: v.runs };
}
