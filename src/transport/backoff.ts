/** Exponential backoff with jitter, as a pure function. */

/** Parameters of a backoff schedule. */
export interface BackoffPolicy {
  /** Delay before the first retry, ms. */
  initialMs: number;
  /** Upper bound of the delay, ms. */
  maxMs: number;
  /** Growth per attempt. */
  multiplier: number;
  /** Random spread as a fraction of the delay (0 = none). */
  jitter: number;
}

/**
 * Delay before retry number `attempt` (1-based): min(maxMs, initialMs × multiplier^(attempt-1)), spread by
 * ±jitter using `random` (a number in [0, 1)).
 */
export function backoffDelayMs(attempt: number, policy: BackoffPolicy, random: number = Math.random()): number {
  const base = Math.min(policy.maxMs, policy.initialMs * Math.pow(policy.multiplier, Math.max(0, attempt - 1)));
  const spread = base * policy.jitter * (2 * random - 1);
  return Math.max(0, Math.round(base + spread));
}
