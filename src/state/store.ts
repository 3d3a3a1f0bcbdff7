/**
 * The versioned entry map of one node. An entry replaces another only when its version is newer, so applying
 * the same entries in any order, any number of times, ends in the same map (what makes lossy, duplicating,
 * reordering gossip safe). A delete is a tombstone: an entry with a newer version and no value, kept so it beats
 * older writes still travelling, and collected `ttlMs` after the delete. The delete time travels inside the
 * tombstone (its value is the JSON `{"deletedAtMs": n}`), so every node collects it at about the same moment and
 * refuses an already expired tombstone instead of keeping it alive by passing it back and forth.
 */
import { stateHash } from "./convergence.js";
import type { WriteTrace } from "./seams.js";
import { isNewer, type Version } from "./versions.js";

/** One entry as a node keeps it. */
export interface StoredEntry {
  /** The key. */
  readonly key: string;
  /** UTF-8 JSON of the value; for a tombstone, the delete marker. */
  readonly value: Uint8Array;
  /** The version of the write (or delete). */
  readonly version: Version;
  /** True for a deletion marker. */
  readonly tombstone: boolean;
  /** The trace context of the span the write was made in, when it was traced (not part of the state: never compared or hashed). */
  readonly trace?: WriteTrace;
}

/** What applying an entry did. */
export interface ApplyResult {
  /** True when the map changed (the entry was newer than what the node had). */
  readonly changed: boolean;
  /** The entry held before, if any. */
  readonly previous: StoredEntry | undefined;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The value bytes of a tombstone for a delete made at `deletedAtMs`. */
export function tombstoneValue(deletedAtMs: number): Uint8Array {
  return encoder.encode(JSON.stringify({ deletedAtMs }));
}

/** When the delete behind tombstone value `value` happened, ms; `fallbackMs` when the value does not say. */
export function tombstoneDeletedAt(value: Uint8Array, fallbackMs: number): number {
  try {
    const parsed: unknown = JSON.parse(decoder.decode(value));
    if (typeof parsed === "object" && parsed !== null) {
      const at = (parsed as { deletedAtMs?: unknown }).deletedAtMs;
      if (typeof at === "number" && Number.isFinite(at)) return at;
    }
  } catch {
    // not JSON: fall back
  }
  return fallbackMs;
}

/** A versioned key-value map with tombstones. */
export class VersionedStore {
  private readonly map = new Map<string, StoredEntry>();
  /** Collection deadline of each tombstone, ms. */
  private readonly tombstones = new Map<string, number>();
  private sorted: string[] | undefined;
  private hashCache: string | undefined;

  /** Creates a store keeping tombstones for `ttlMs` after their delete. */
  constructor(private readonly ttlMs: number) {}

  /** The entry of `key` (a tombstone too), if any. */
  get(key: string): StoredEntry | undefined {
    return this.map.get(key);
  }

  /** Entries held, tombstones included. */
  get size(): number {
    return this.map.size;
  }

  /** Tombstones held. */
  get tombstoneCount(): number {
    return this.tombstones.size;
  }

  /**
   * Applies `entry` if it is newer than the one held. A tombstone that expired already (its delete is more than
   * the TTL before `nowMs`) removes an older entry but is not kept. Returns whether the map changed.
   */
  apply(entry: StoredEntry, nowMs: number): ApplyResult {
    const previous = this.map.get(entry.key);
    if (!isNewer(entry.version, previous?.version)) return { changed: false, previous };
    if (entry.tombstone) {
      const deadline = tombstoneDeletedAt(entry.value, nowMs) + this.ttlMs;
      if (deadline <= nowMs) {
        if (previous === undefined) return { changed: false, previous };
        this.remove(entry.key);
        return { changed: true, previous };
      }
      this.tombstones.set(entry.key, deadline);
    } else {
      this.tombstones.delete(entry.key);
    }
    if (previous === undefined) this.sorted = undefined;
    this.map.set(entry.key, entry);
    this.hashCache = undefined;
    return { changed: true, previous };
  }

  /** Drops tombstones whose deadline passed at `nowMs`; returns their keys. */
  collect(nowMs: number): string[] {
    const dropped: string[] = [];
    for (const [key, deadline] of this.tombstones) {
      if (deadline <= nowMs) dropped.push(key);
    }
    for (const key of dropped) this.remove(key);
    return dropped;
  }

  /** All keys held, tombstones included, in ascending order (UTF-16 code units). */
  sortedKeys(): readonly string[] {
    this.sorted ??= [...this.map.keys()].sort();
    return this.sorted;
  }

  /** All entries, tombstones included, in insertion order. */
  values(): IterableIterator<StoredEntry> {
    return this.map.values();
  }

  /** The convergence hash of everything held (see convergence.ts); cached until the map changes. */
  hash(): string {
    this.hashCache ??= stateHash(this.sortedKeys().map((k) => this.map.get(k) as StoredEntry));
    return this.hashCache;
  }

  private remove(key: string): void {
    if (!this.map.delete(key)) return;
    this.tombstones.delete(key);
    this.sorted = undefined;
    this.hashCache = undefined;
  }
}
