/**
 * Versions of replicated entries. A write is stamped with a Lamport clock and the id of the agent that made it;
 * the later version wins (last writer wins), ties on the clock broken by the origin id, so every node picks the
 * same winner from the same pair without coordination. Everything here is a pure function over plain values;
 * the generated `StateVersion` message fits the `Version` shape as it is.
 */

/** A version: Lamport clock value, then the writing agent's id as the tie-breaker. */
export interface Version {
  /** Lamport clock value at the write. */
  readonly clock: bigint;
  /** The agent that made the write. */
  readonly origin: string;
}

/** Orders two versions: negative when `a` is older, positive when newer, 0 when equal (clock, then origin by code unit). */
export function compareVersions(a: Version, b: Version): -1 | 0 | 1 {
  if (a.clock !== b.clock) return a.clock < b.clock ? -1 : 1;
  if (a.origin === b.origin) return 0;
  return a.origin < b.origin ? -1 : 1;
}

/** True when `candidate` should replace `current` (it is newer, or there is nothing yet). */
export function isNewer(candidate: Version, current: Version | undefined): boolean {
  return current === undefined || compareVersions(candidate, current) > 0;
}

/** The Lamport clock after a local event (a write): one more than before. */
export function tick(local: bigint): bigint {
  return local + 1n;
}

/** The Lamport clock after receiving an event stamped `remote`: one more than the larger of the two. */
export function observe(local: bigint, remote: bigint): bigint {
  return (local > remote ? local : remote) + 1n;
}

/** A short text form, e.g. "12@agent-a", for logs and errors. */
export function formatVersion(v: Version): string {
  return `${v.clock}@${v.origin}`;
}
