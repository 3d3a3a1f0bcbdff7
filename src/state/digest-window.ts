/**
 * Which keys a digest lists. A state of at most `maxEntries` keys goes whole in every digest. A larger one goes
 * in windows: runs of consecutive keys in ascending order, each one after the last key of the previous window,
 * wrapping to the start after the end, so every key is offered within ceil(keys / (maxEntries - 1)) rounds. A
 * window leaves room for the marker entry that tells the receiver it is one (see wire.ts). The cursor is the last
 * key sent rather than a position, so keys added or removed between rounds shift nothing.
 */

/** One digest's worth of keys. */
export interface DigestWindow {
  /** The keys to list, ascending. */
  readonly keys: readonly string[];
  /** True when this is a window of a larger state (the digest then carries the marker). */
  readonly partial: boolean;
  /** Where the next window starts: after this key; undefined to start from the first key. */
  readonly cursor: string | undefined;
}

/** The first index of `sorted` whose key is greater than `key`. */
export function upperBound(sorted: readonly string[], key: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] <= key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The next window over `sorted` (ascending keys) after `cursor`, for digests of at most `maxEntries` entries. */
export function nextDigestWindow(sorted: readonly string[], cursor: string | undefined, maxEntries: number): DigestWindow {
  if (sorted.length <= maxEntries) return { keys: sorted, partial: false, cursor: undefined };
  const room = Math.max(1, maxEntries - 1);
  let start = cursor === undefined ? 0 : upperBound(sorted, cursor);
  if (start >= sorted.length) start = 0;
  const end = Math.min(sorted.length, start + room);
  const keys = sorted.slice(start, end);
  return { keys, partial: true, cursor: end >= sorted.length ? undefined : keys[keys.length - 1] };
}
