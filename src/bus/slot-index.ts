/**
 * The hash index of the bus's id windows (dedupe.ts, reply-window.ts): open addressing over the slots of a ring,
 * buckets in an Int32Array holding slot + 1 (0: an empty bucket), each slot's hash kept beside it, and removal by
 * backward shift (no tombstones). The owner keeps the keys and compares them: it walks a hash's probe sequence
 * with `start`, `slotAt` and `after`.
 */

/**
 * Backward-shift deletion's rule for linear probing: an entry at bucket `j` whose home bucket is `home` stays put
 * when the hole left at `hole` is not on its probe path — its home lies cyclically in (hole, j].
 */
export function staysPut(home: number, hole: number, j: number): boolean {
  return hole <= j ? home > hole && home <= j : home > hole || home <= j;
}

/** An open-addressing index of ring slots by hash; see the file comment. */
export class SlotIndex {
  /** The hash of each slot's key (meaningful while the slot is indexed). */
  readonly hashes: Int32Array;
  private readonly buckets: Int32Array;
  private readonly mask: number;

  /** An index for `slots` ring slots (buckets: the next power of two of at least twice as many, at least 8). */
  constructor(slots: number) {
    const n = Math.max(0, slots);
    this.hashes = new Int32Array(n);
    let size = 8;
    while (size < n * 2) size *= 2;
    this.buckets = new Int32Array(size);
    this.mask = size - 1;
  }

  /** The first bucket of hash `h`'s probe sequence. */
  start(h: number): number {
    return h & this.mask;
  }

  /** The bucket after `bucket` in a probe sequence. */
  after(bucket: number): number {
    return (bucket + 1) & this.mask;
  }

  /** The slot in `bucket`, or -1 when the bucket is empty (the end of a probe sequence). */
  slotAt(bucket: number): number {
    return this.buckets[bucket] - 1;
  }

  /** Indexes `slot` under hash `h`. */
  add(slot: number, h: number): void {
    this.hashes[slot] = h;
    const { buckets, mask } = this;
    let i = h & mask;
    while (buckets[i] !== 0) i = (i + 1) & mask;
    buckets[i] = slot + 1;
  }

  /** Removes `slot` (which must be indexed), shifting later entries of its probe run back. */
  remove(slot: number): void {
    const { buckets, mask, hashes } = this;
    let hole = hashes[slot] & mask;
    while (buckets[hole] !== slot + 1) hole = (hole + 1) & mask;
    for (let j = (hole + 1) & mask; buckets[j] !== 0; j = (j + 1) & mask) {
      if (staysPut(hashes[buckets[j] - 1] & mask, hole, j)) continue;
      buckets[hole] = buckets[j];
      hole = j;
    }
    buckets[hole] = 0;
  }
}
