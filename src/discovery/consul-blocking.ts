/**
 * The rules of Consul blocking queries (https://developer.hashicorp.com/consul/api-docs/features/blocking,
 * "Implementation Details"), as pure code: which index to send next, and the token bucket that keeps a watch loop
 * from turning into a busy loop while results churn.
 */

/**
 * The index for the next blocking query, from the one sent (`previous`, 0 for none) and the X-Consul-Index returned
 * (undefined when the header was missing):
 * - it went backwards → 0 ("should reset index to 0 - effectively restarting their blocking loop");
 * - otherwise at least 1 ("clients should sanity check that their index is at least 1 after each blocking
 *   response is handled to be sure they actually block on the next request").
 */
export function nextBlockingIndex(previous: bigint, returned: bigint | undefined): bigint {
  const index = returned ?? 0n;
  if (index < previous) return 0n;
  return index < 1n ? 1n : index;
}

/** Parses an X-Consul-Index header value; undefined when absent or not a non-negative integer. */
export function parseConsulIndex(header: string | string[] | undefined): bigint | undefined {
  const text = Array.isArray(header) ? header[0] : header;
  if (text === undefined || !/^\d{1,20}$/.test(text.trim())) return undefined;
  return BigInt(text.trim());
}

/**
 * A token bucket: up to `burst` rounds run back to back, then one per `refillMs` ("a token bucket with burst of 2 is
 * a simple way to achieve this", the guide's advice over sleeping on every round).
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  /** A full bucket at time `now()`. */
  constructor(
    private readonly burst: number,
    private readonly refillMs: number,
    private readonly now: () => number,
  ) {
    this.tokens = burst;
    this.last = now();
  }

  /** 0 when a round may run now (and takes its token); else how long to wait before asking again, ms. */
  take(): number {
    const now = this.now();
    this.tokens = Math.min(this.burst, this.tokens + Math.max(0, now - this.last) / this.refillMs);
    this.last = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return Math.ceil((1 - this.tokens) * this.refillMs);
  }
}
