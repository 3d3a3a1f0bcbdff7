/**
 * A bounded window of recently seen message ids. A request's entry keeps its reply, so a retried request
 * gets the same answer without running its handler again. When full, the oldest id is forgotten.
 *
 * The ids live in a ring of the window's capacity (age: the slot to reuse is the oldest), indexed by an
 * open-addressing hash table of ring slots in an Int32Array (slot-index.ts).
 * Every message checks the window once, and a Map of ten thousand string keys that also loses its oldest on
 * each check cost more (its table and entries spread over memory, and a hash computed for each new string)
 * than this table of small integers, which touches an id string only to confirm a matching hash.
 */
import { hashOf } from "./id-table.js";
import { SlotIndex } from "./slot-index.js";

/** What is remembered of one message. */
export interface SeenEntry<R> {
  /** The reply, once the handler finished (requests only). */
  reply?: R;
}

/** Remembers the last `capacity` message ids. */
export class DedupeWindow<R> {
  /** The ids, in arrival order, the oldest at `next` once the ring is full. */
  private readonly ids: (string | undefined)[];
  /** The reply of each slot's id, when known. */
  private readonly replies: (R | undefined)[];
  /** The ring slots by the hash of their ids. */
  private readonly index: SlotIndex;
  private next = 0;
  private count = 0;

  /** Creates a window holding `capacity` ids. */
  constructor(private readonly capacity: number) {
    const n = Math.max(0, capacity);
    this.ids = new Array<string | undefined>(n).fill(undefined);
    this.replies = new Array<R | undefined>(n).fill(undefined);
    this.index = new SlotIndex(n);
  }

  /** The entry of `id` if it was seen, else records it and returns undefined. */
  check(id: string): SeenEntry<R> | undefined {
    if (this.capacity <= 0) return undefined;
    const h = hashOf(id);
    const slot = this.find(id, h);
    if (slot >= 0) {
      const reply = this.replies[slot];
      return reply === undefined ? {} : { reply };
    }
    const s = this.next;
    if (this.ids[s] !== undefined) this.index.remove(s);
    else this.count++;
    this.ids[s] = id;
    this.replies[s] = undefined;
    this.index.add(s, h);
    this.next = s + 1 === this.capacity ? 0 : s + 1;
    return undefined;
  }

  /** Records the reply to request `id` (if still remembered). */
  setReply(id: string, reply: R): void {
    if (this.capacity <= 0) return;
    const slot = this.find(id, hashOf(id));
    if (slot >= 0) this.replies[slot] = reply;
  }

  /** Ids remembered now. */
  get size(): number {
    return this.count;
  }

  /** The ring slot of `id` (hash `h`), or -1. */
  private find(id: string, h: number): number {
    const { index, ids } = this;
    for (let b = index.start(h); ; b = index.after(b)) {
      const slot = index.slotAt(b);
      if (slot < 0) return -1;
      if (index.hashes[slot] === h && ids[slot] === id) return slot;
    }
  }
}
