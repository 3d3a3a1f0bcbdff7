/**
 * The queue of membership updates waiting to be piggybacked (SWIM dissemination, as memberlist's transmit-
 * limited queue): each update goes out at most retransmitLimit(n) times, least-sent first (newest first
 * among equals), and a newer update about the same member replaces the older one. Updates sit in buckets
 * by transmit count, so taking a few costs O(taken), whatever the queue's length.
 */
import type { MemberUpdate } from "../../gen/agentmesh/v1/membership_pb.js";

/** Retransmissions of one update in a mesh of n members: mult × ceil(log10(n + 1)). */
export function retransmitLimit(mult: number, n: number): number {
  return mult * Math.ceil(Math.log10(n + 1));
}

interface Queued {
  update: MemberUpdate;
  transmits: number;
}

/** Pending updates, one per member. */
export class BroadcastQueue {
  /** buckets[t]: updates sent t times, in insertion order (newest last). */
  private readonly buckets: Map<string, Queued>[] = [];
  private readonly byMember = new Map<string, Queued>();

  /** Queues `update` (replacing any pending update about the same member). */
  push(update: MemberUpdate): void {
    const id = update.agent?.id ?? "";
    const old = this.byMember.get(id);
    if (old !== undefined) this.buckets[old.transmits]?.delete(id);
    const q: Queued = { update, transmits: 0 };
    this.byMember.set(id, q);
    this.bucket(0).set(id, q);
  }

  /** Up to `max` updates to send now, least transmitted (then newest) first; each counts one transmit, up to `limit`. */
  take(max: number, limit: number): MemberUpdate[] {
    const out: Queued[] = [];
    for (let t = 0; t < this.buckets.length && out.length < max; t++) {
      const b = this.buckets[t];
      if (b === undefined || b.size === 0) continue;
      const ids = [...b.keys()];
      for (let i = ids.length - 1; i >= 0 && out.length < max; i--) out.push(b.get(ids[i]) as Queued);
    }
    for (const q of out) {
      const id = q.update.agent?.id ?? "";
      this.buckets[q.transmits].delete(id);
      q.transmits++;
      if (q.transmits >= limit) this.byMember.delete(id);
      else this.bucket(q.transmits).set(id, q);
    }
    return out.map((q) => q.update);
  }

  /** Updates pending. */
  get size(): number {
    return this.byMember.size;
  }

  private bucket(t: number): Map<string, Queued> {
    let b = this.buckets[t];
    if (b === undefined) this.buckets[t] = b = new Map();
    return b;
  }
}
