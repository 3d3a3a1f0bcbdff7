/**
 * Random choice without replacement, driven by an injected random source so simulations are reproducible.
 * Picking a few of many (a fanout of 3 among 1,000 peers) draws indices and rejects repeats instead of copying
 * and shuffling the whole list, so a round costs O(fanout), not O(peers).
 */
import type { RandomSource } from "./seams.js";

/** A uniform index in [0, n) from `random`. */
export function randomIndex(n: number, random: RandomSource): number {
  return Math.min(n - 1, Math.floor(random() * n));
}

/** Up to `count` distinct items of `items`, in random order, leaving out items equal to `exclude`. */
export function sample<T>(items: readonly T[], count: number, random: RandomSource, exclude?: T): T[] {
  const n = items.length;
  if (count <= 0 || n === 0) return [];
  if (count * 4 <= n) {
    const chosen = new Set<number>();
    const out: T[] = [];
    // Enough draws that missing a free item is vanishingly unlikely; the shuffle below is the exact fallback.
    for (let attempts = 0; out.length < count && attempts < count * 16; attempts++) {
      const i = randomIndex(n, random);
      if (chosen.has(i) || items[i] === exclude) continue;
      chosen.add(i);
      out.push(items[i]);
    }
    if (out.length === count) return out;
  }
  const pool = exclude === undefined ? items.slice() : items.filter((x) => x !== exclude);
  const take = Math.min(count, pool.length);
  for (let i = 0; i < take; i++) {
    const j = i + randomIndex(pool.length - i, random);
    const t = pool[i];
    pool[i] = pool[j];
    pool[j] = t;
  }
  return pool.slice(0, take);
}
