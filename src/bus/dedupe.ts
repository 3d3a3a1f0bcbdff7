/**
 * A bounded window of recently seen message ids. A request's entry keeps its reply, so a retried request
 * gets the same answer without running its handler again. When full, the oldest id is forgotten.
 *
 * The ids live in a Map (lookup) and a ring of the same capacity (age): the ring says which id to forget in
 * O(1). (Taking the oldest key from the Map itself would scan the holes that deletes leave at the front of
 * its table, thousands of them in a full window.)
 */

/** What is remembered of one message. */
export interface SeenEntry<R> {
  /** The reply, once the handler finished (requests only). */
  reply?: R;
}

/** The value of an id whose reply is not known (yet, or ever: one-way messages). */
const NO_REPLY: unique symbol = Symbol("no reply");

/** Remembers the last `capacity` message ids. */
export class DedupeWindow<R> {
  /** The reply of each id remembered, or NO_REPLY (no object per id: most are never asked for again). */
  private readonly seen = new Map<string, R | typeof NO_REPLY>();
  /** Ids in arrival order, oldest at `next` once the ring is full. */
  private readonly ring: (string | undefined)[];
  private next = 0;

  /** Creates a window holding `capacity` ids. */
  constructor(private readonly capacity: number) {
    this.ring = new Array<string | undefined>(Math.max(0, capacity)).fill(undefined);
  }

  /** The entry of `id` if it was seen, else records it and returns undefined. */
  check(id: string): SeenEntry<R> | undefined {
    const known = this.seen.get(id);
    if (known !== undefined) return known === NO_REPLY ? {} : { reply: known };
    if (this.capacity <= 0) return undefined;
    const oldest = this.ring[this.next];
    if (oldest !== undefined) this.seen.delete(oldest);
    this.ring[this.next] = id;
    this.next = this.next + 1 === this.capacity ? 0 : this.next + 1;
    this.seen.set(id, NO_REPLY);
    return undefined;
  }

  /** Records the reply to request `id` (if still remembered). */
  setReply(id: string, reply: R): void {
    if (this.seen.has(id)) this.seen.set(id, reply);
  }

  /** Ids remembered now. */
  get size(): number {
    return this.seen.size;
  }
}
