/**
 * A table from string ids to values for entries that come and go all the time (requests waiting for their
 * replies): open addressing with linear probing over plain arrays, deletion by backward shift. It grows when
 * half full and never shrinks, so steady traffic allocates nothing, and a deleted entry is cleared at once. A
 * Map does neither: one whose entries come and go reallocates its hash table over and over (with one entry
 * at a time, on every delete), and keeps what it held reachable from old copies of its table until the next
 * full GC (V8 links each rehashed table to the next), so each entry, and what it refers to, is copied and then
 * promoted by the young-generation GC.
 */

import { staysPut } from "./slot-index.js";

/** Units of an id hashed: the last ones (ids are UUIDs, random throughout; other keys still hash, just coarser). */
const HASHED_UNITS = 12;

/** A hash of `key`: FNV-1a over its length and its last HASHED_UNITS UTF-16 units, two at a time. */
export function hashOf(key: string): number {
  const n = key.length;
  let h = Math.imul(0x811c9dc5 ^ n, 0x01000193);
  let i = n > HASHED_UNITS ? n - HASHED_UNITS : 0;
  for (; i + 1 < n; i += 2) h = Math.imul(h ^ (key.charCodeAt(i) | (key.charCodeAt(i + 1) << 16)), 0x01000193);
  if (i < n) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return h ^ (h >>> 15);
}

/** Values by string id. */
export class IdTable<V> {
  private keys: (string | undefined)[];
  private vals: (V | undefined)[];
  /** The hash of each slot's key (so that moving entries needs no rehash). */
  private hashes: Int32Array;
  private mask: number;
  private count = 0;

  /** An empty table with room for `capacity` slots (rounded up to a power of two). */
  constructor(capacity = 64) {
    let size = 8;
    while (size < capacity) size *= 2;
    this.keys = new Array<string | undefined>(size).fill(undefined);
    this.vals = new Array<V | undefined>(size).fill(undefined);
    this.hashes = new Int32Array(size);
    this.mask = size - 1;
  }

  /** Entries held. */
  get size(): number {
    return this.count;
  }

  /** The value of `key`, or undefined. */
  get(key: string): V | undefined {
    const i = this.find(key, hashOf(key));
    return i < 0 ? undefined : this.vals[i];
  }

  /** True when `key` has a value. */
  has(key: string): boolean {
    return this.find(key, hashOf(key)) >= 0;
  }

  /** Sets the value of `key`. */
  set(key: string, value: V): void {
    const h = hashOf(key);
    const found = this.find(key, h);
    if (found >= 0) {
      this.vals[found] = value;
      return;
    }
    if ((this.count + 1) * 2 > this.keys.length) this.grow();
    this.insert(key, h, value);
  }

  /** Removes `key`; true when it was there. */
  delete(key: string): boolean {
    const i = this.find(key, hashOf(key));
    if (i < 0) return false;
    const { keys, vals, hashes, mask } = this;
    // Backward shift: later entries of the probe run move into the hole unless they stay put (staysPut).
    let hole = i;
    for (let j = (i + 1) & mask; keys[j] !== undefined; j = (j + 1) & mask) {
      if (staysPut(hashes[j] & mask, hole, j)) continue;
      keys[hole] = keys[j];
      vals[hole] = vals[j];
      hashes[hole] = hashes[j];
      hole = j;
    }
    keys[hole] = undefined;
    vals[hole] = undefined;
    this.count--;
    return true;
  }

  /** The values held now (a snapshot). */
  values(): V[] {
    const out: V[] = [];
    for (let i = 0; i < this.keys.length; i++) if (this.keys[i] !== undefined) out.push(this.vals[i] as V);
    return out;
  }

  /** The slot of `key` (hash `h`), or -1. */
  private find(key: string, h: number): number {
    const { keys, hashes, mask } = this;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const k = keys[i];
      if (k === undefined) return -1;
      if (hashes[i] === h && k === key) return i;
    }
  }

  private insert(key: string, h: number, value: V): void {
    const { keys, mask } = this;
    let i = h & mask;
    while (keys[i] !== undefined) i = (i + 1) & mask;
    keys[i] = key;
    this.vals[i] = value;
    this.hashes[i] = h;
    this.count++;
  }

  private grow(): void {
    const { keys, vals, hashes } = this;
    const size = keys.length * 2;
    this.keys = new Array<string | undefined>(size).fill(undefined);
    this.vals = new Array<V | undefined>(size).fill(undefined);
    this.hashes = new Int32Array(size);
    this.mask = size - 1;
    this.count = 0;
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i];
      if (k !== undefined) this.insert(k, hashes[i], vals[i] as V);
    }
  }
}
