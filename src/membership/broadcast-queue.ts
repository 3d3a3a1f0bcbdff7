/**
 * The queue of membership updates waiting to be piggybacked (SWIM dissemination, as memberlist's transmit-
 * limited queue): each update goes out at most retransmitLimit(n) times, least-sent first (newest first
 * among equals), and a newer update about the same member replaces the older one. Updates sit in buckets
 * by transmit count, so taking a few costs O(taken), whatever the queue's length: a bucket is a stack
 * (newest on top) whose replaced or moved entries are skipped lazily and compacted when they pile up.
 */
import type { MemberUpdate } from "../../gen/agentmesh/v1/membership_pb.js";

/** Retransmissions of one update in a mesh of n members: mult × ceil(log10(n + 1)). */
export function retransmitLimit(mult: number, n: number): number {
  return mult * Math.ceil(Math.log10(n + 1));
}

interface Queued {
  id: string;
  update: MemberUpdate;
  transmits: number;
  /** True once replaced by a newer update or sent `limit` times. */
  removed: boolean;
}

/** Entries sent `t` times, oldest first; some are stale (removed, or moved on to a later bucket). */
interface Bucket {
  items: Queued[];
  /** Entries of `items` that still belong here. */
  live: number;
}

/** Pending updates, one per member. */
export class BroadcastQueue {
  /** buckets[t]: updates sent t times, in insertion order (newest last). */
  private readonly buckets: Bucket[] = [];
  private readonly byMember = new Map<string, Queued>();

  /** Queues `update` (replacing any pending update about the same member). */
  push(update: MemberUpdate): void {
    const id = update.agent?.id ?? "";
    const old = this.byMember.get(id);
    if (old !== undefined) this.drop(old);
    const q: Queued = { id, update, transmits: 0, removed: false };
    this.byMember.set(id, q);
    this.add(q);
  }

  /** Up to `max` updates to send now, least transmitted (then newest) first; each counts one transmit, up to `limit`. */
  take(max: number, limit: number): MemberUpdate[] {
    const out: Queued[] = [];
    for (let t = 0; t < this.buckets.length && out.length < max; t++) {
      const b = this.buckets[t];
      if (b === undefined || b.live === 0) continue;
      // Walk down from the top; everything above `i` is taken or stale, so the stack is cut there.
      let i = b.items.length - 1;
      for (; i >= 0 && out.length < max; i--) {
        const q = b.items[i];
        if (q.removed || q.transmits !== t) continue;
        out.push(q);
        b.live--;
      }
      while (i >= 0 && !this.belongs(b.items[i], t)) i--;
      b.items.length = i + 1;
    }
    for (const q of out) {
      q.transmits++;
      if (q.transmits >= limit) {
        q.removed = true;
        this.byMember.delete(q.id);
      } else this.add(q);
    }
    return out.map((q) => q.update);
  }

  /** Updates pending. */
  get size(): number {
    return this.byMember.size;
  }

  private belongs(q: Queued, t: number): boolean {
    return !q.removed && q.transmits === t;
  }

  private add(q: Queued): void {
    let b = this.buckets[q.transmits];
    if (b === undefined) this.buckets[q.transmits] = b = { items: [], live: 0 };
    b.items.push(q);
    b.live++;
  }

  private drop(q: Queued): void {
    q.removed = true;
    const b = this.buckets[q.transmits];
    b.live--;
    // Stale entries deeper in the stack are skipped by take(); compact before they outnumber live ones.
    if (b.items.length > 32 && b.items.length > 2 * b.live) {
      const t = q.transmits;
      b.items = b.items.filter((x) => this.belongs(x, t));
    }
  }
}
