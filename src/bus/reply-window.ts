/**
 * The mesh bus's window of recently seen message ids, with the encoded reply of each request: a DedupeWindow
 * (same contract: the last `capacity` ids, the oldest forgotten first) that keeps ids and replies as bytes in
 * preallocated arrays instead of a string and a Buffer per message. A window of ten thousand messages holds
 * each for ten thousand messages, long enough for the young-generation GC to copy and promote every id and
 * every reply it kept as an object; kept as bytes, they are nothing to the GC.
 *
 * Each ring slot holds its id's bytes (ids of up to ID_BYTES ASCII characters; others are kept as strings)
 * and its reply's bytes (replies of up to `replyBytes`; larger ones are kept as arrays of their own). The
 * index is the DedupeWindow's: open addressing over ring slots in an Int32Array, with each slot's hash.
 * The byte arrays are allocated zero-filled (pages the OS maps in as they are first written).
 */
import { hashOf } from "./id-table.js";

/** Id bytes kept in a slot (a UUID takes 36). */
const ID_BYTES = 40;

/** What is remembered of one message. */
export interface SeenReply {
  /** The reply's encoding, once the handler finished (requests only): a copy, the caller's to keep. */
  reply?: Uint8Array;
}

/** Remembers the last `capacity` message ids and the replies of those that were requests. */
export class ReplyWindow {
  private readonly hashes: Int32Array;
  /** Bytes of each slot's id; idLength -1: the slot is empty; -2: the id is in longIds. */
  private readonly idBytes: Uint8Array;
  private readonly idLength: Int16Array;
  private readonly longIds = new Map<number, string>();
  /** Bytes of each slot's reply; replyLength -1: no reply; -2: the reply is in longReplies. */
  private readonly replyData: Uint8Array;
  private readonly replyLength: Int16Array;
  private readonly longReplies = new Map<number, Uint8Array>();
  /** Open addressing over ring slots: slot + 1, 0 for an empty bucket. */
  private readonly index: Int32Array;
  private readonly mask: number;
  private next = 0;
  private count = 0;

  /** Creates a window holding `capacity` ids, with room for replies of `replyBytes` each (BusConfig.dedupeReplyBytes). */
  constructor(
    private readonly capacity: number,
    private readonly replyBytes = 384,
  ) {
    const n = Math.max(0, capacity);
    this.hashes = new Int32Array(n);
    this.idBytes = new Uint8Array(n * ID_BYTES);
    this.idLength = new Int16Array(n).fill(-1);
    this.replyData = new Uint8Array(n * Math.max(0, replyBytes));
    this.replyLength = new Int16Array(n).fill(-1);
    let size = 8;
    while (size < n * 2) size *= 2;
    this.index = new Int32Array(size);
    this.mask = size - 1;
  }

  /** The entry of `id` if it was seen (its reply copied out), else records it and returns undefined. */
  check(id: string): SeenReply | undefined {
    if (this.capacity <= 0) return undefined;
    const h = hashOf(id);
    const slot = this.find(id, h);
    if (slot >= 0) return { reply: this.replyOf(slot) };
    const s = this.next;
    const oldLength = this.idLength[s];
    if (oldLength === -1) this.count++;
    else {
      this.unindex(s);
      if (oldLength === -2) this.longIds.delete(s);
      if (this.replyLength[s] === -2) this.longReplies.delete(s);
    }
    this.hashes[s] = h;
    this.storeId(s, id);
    this.replyLength[s] = -1;
    const { index, mask } = this;
    let i = h & mask;
    while (index[i] !== 0) i = (i + 1) & mask;
    index[i] = s + 1;
    this.next = s + 1 === this.capacity ? 0 : s + 1;
    return undefined;
  }

  /** Records the reply to request `id` (if still remembered); the bytes are copied. */
  setReply(id: string, reply: Uint8Array): void {
    if (this.capacity <= 0) return;
    const slot = this.find(id, hashOf(id));
    if (slot < 0) return;
    if (reply.length <= this.replyBytes) {
      this.replyData.set(reply, slot * this.replyBytes);
      if (this.replyLength[slot] === -2) this.longReplies.delete(slot);
      this.replyLength[slot] = reply.length;
    } else {
      this.longReplies.set(slot, reply.slice());
      this.replyLength[slot] = -2;
    }
  }

  /** Ids remembered now. */
  get size(): number {
    return this.count;
  }

  private replyOf(slot: number): Uint8Array | undefined {
    const n = this.replyLength[slot];
    if (n === -1) return undefined;
    if (n === -2) return this.longReplies.get(slot);
    const at = slot * this.replyBytes;
    return this.replyData.slice(at, at + n);
  }

  private storeId(slot: number, id: string): void {
    const n = id.length;
    if (n <= ID_BYTES) {
      const bytes = this.idBytes;
      const at = slot * ID_BYTES;
      let i = 0;
      for (; i < n; i++) {
        const c = id.charCodeAt(i);
        if (c >= 0x80) break;
        bytes[at + i] = c;
      }
      if (i === n) {
        this.idLength[slot] = n;
        return;
      }
    }
    this.idLength[slot] = -2;
    this.longIds.set(slot, id);
  }

  /** True when ring slot `slot` holds `id`. */
  private holds(slot: number, id: string): boolean {
    const n = this.idLength[slot];
    if (n === -2) return this.longIds.get(slot) === id;
    if (n !== id.length) return false;
    const bytes = this.idBytes;
    const at = slot * ID_BYTES;
    for (let i = 0; i < n; i++) if (bytes[at + i] !== id.charCodeAt(i)) return false;
    return true;
  }

  /** The ring slot of `id` (hash `h`), or -1. */
  private find(id: string, h: number): number {
    const { index, mask, hashes } = this;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const e = index[i];
      if (e === 0) return -1;
      const slot = e - 1;
      if (hashes[slot] === h && this.holds(slot, id)) return slot;
    }
  }

  /** Removes ring slot `slot` from the index (backward shift: no tombstones). */
  private unindex(slot: number): void {
    const { index, mask, hashes } = this;
    let hole = hashes[slot] & mask;
    while (index[hole] !== slot + 1) hole = (hole + 1) & mask;
    for (let j = (hole + 1) & mask; index[j] !== 0; j = (j + 1) & mask) {
      const home = hashes[index[j] - 1] & mask;
      if (hole <= j ? home > hole && home <= j : home > hole || home <= j) continue;
      index[hole] = index[j];
      hole = j;
    }
    index[hole] = 0;
  }
}
