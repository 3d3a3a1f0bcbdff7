/**
 * The convergence measure. Each node summarises its whole state (every key's version, deletion markers
 * included) as one short, stable hash: nodes holding the same versions give the same hash, whatever order they
 * learned them in. Agreement of all hashes means the replicas converged; `roundsUntilAgreement` lets a simulator
 * count gossip rounds until that happens. The hash is 64-bit FNV-1a over a canonical text, in plain JS so the
 * same code runs anywhere.
 */
import type { Version } from "./versions.js";

/** What the hash covers of one entry. */
export interface HashedEntry {
  /** The key. */
  readonly key: string;
  /** Its version. */
  readonly version: Version;
  /** True for a deletion marker. */
  readonly tombstone: boolean;
}

const encoder = new TextEncoder();

/** The FNV-1a 64-bit hash of `bytes` as 16 hex digits. */
export function fnv1a64(bytes: Uint8Array): string {
  const s = newFnv64();
  updateFnv64(s, bytes);
  return digestFnv64(s);
}

/** Running state of an FNV-1a 64-bit hash, as four 16-bit limbs (low first). */
export interface Fnv64State {
  /** The limbs. */
  h: [number, number, number, number];
}

/** A fresh FNV-1a 64-bit state (the offset basis 0xcbf29ce484222325). */
export function newFnv64(): Fnv64State {
  return { h: [0x2325, 0x8422, 0x9ce4, 0xcbf2] };
}

/** Feeds `bytes` into `s`. Multiplies by the prime 2^40 + 0x1b3 limb by limb, so every step stays exact in doubles. */
export function updateFnv64(s: Fnv64State, bytes: Uint8Array): void {
  let [h0, h1, h2, h3] = s.h;
  for (let i = 0; i < bytes.length; i++) {
    h0 ^= bytes[i];
    const t0 = h0 * 0x1b3;
    let t1 = h1 * 0x1b3;
    let t2 = h2 * 0x1b3 + (h0 << 8);
    const t3 = h3 * 0x1b3 + (h1 << 8);
    t1 += t0 >>> 16;
    h0 = t0 & 0xffff;
    t2 += t1 >>> 16;
    h1 = t1 & 0xffff;
    h3 = (t3 + (t2 >>> 16)) & 0xffff;
    h2 = t2 & 0xffff;
  }
  s.h = [h0, h1, h2, h3];
}

/** The hash of what was fed into `s`, as 16 hex digits. */
export function digestFnv64(s: Fnv64State): string {
  return s.h
    .slice()
    .reverse()
    .map((limb) => limb.toString(16).padStart(4, "0"))
    .join("");
}

/**
 * The state hash of `entries`, which must come in ascending key order (UTF-16 code units, as `Array.sort`):
 * FNV-1a 64 over the UTF-8 of one JSON line `[key, "clock", origin, tombstone]` per entry.
 */
export function stateHash(entries: Iterable<HashedEntry>): string {
  const s = newFnv64();
  for (const e of entries) {
    updateFnv64(s, encoder.encode(JSON.stringify([e.key, e.version.clock.toString(), e.version.origin, e.tombstone]) + "\n"));
  }
  return digestFnv64(s);
}

/** How far a set of per-node hashes agrees. */
export interface Agreement {
  /** True when every hash is the same (also for zero or one node). */
  readonly agreed: boolean;
  /** Nodes counted. */
  readonly nodes: number;
  /** Distinct hashes seen. */
  readonly distinct: number;
  /** Nodes holding the most common hash. */
  readonly largestGroup: number;
}

/** Compares the hashes of all nodes. */
export function agreement(hashes: Iterable<string>): Agreement {
  const counts = new Map<string, number>();
  let nodes = 0;
  for (const h of hashes) {
    nodes++;
    counts.set(h, (counts.get(h) ?? 0) + 1);
  }
  let largestGroup = 0;
  for (const c of counts.values()) largestGroup = Math.max(largestGroup, c);
  return { agreed: counts.size <= 1, nodes, distinct: counts.size, largestGroup };
}

/** True when all hashes are the same. */
export function allAgree(hashes: Iterable<string>): boolean {
  let first: string | undefined;
  for (const h of hashes) {
    if (first === undefined) first = h;
    else if (h !== first) return false;
  }
  return true;
}

/**
 * Counts rounds until all nodes agree: checks `hashes()` first (0 when they already agree), then calls
 * `runRound()` (which should advance the simulation by one gossip interval) and checks again, up to `maxRounds`.
 * Returns the number of rounds run, or undefined when they still disagree after `maxRounds`.
 */
export function roundsUntilAgreement(runRound: () => void, hashes: () => Iterable<string>, maxRounds: number): number | undefined {
  for (let round = 0; ; round++) {
    if (allAgree(hashes())) return round;
    if (round >= maxRounds) return undefined;
    runRound();
  }
}
