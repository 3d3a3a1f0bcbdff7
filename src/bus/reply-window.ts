/**
 * The mesh bus's window of recently seen message ids, with the encoded reply of each request: a DedupeWindow
 * (same contract: the last `capacity` ids, the oldest forgotten first) that keeps ids and replies as bytes in
 * preallocated arrays instead of a string and a Buffer per message. A window of ten thousand messages holds
 * each for ten thousand messages, long enough for the young-generation GC to copy and promote every id and
 * every reply it kept as an object; kept as bytes, they are nothing to the GC.
 *
 * Each ring slot holds its id's bytes (ids of up to ID_BYTES ASCII characters; others are kept as strings)
 * and its reply's bytes (replies of up to `replyBytes`; larger ones are kept as arrays of their own). The
 * index is the DedupeWindow's: open addressing over ring slots (slot-index.ts).
 * The byte arrays are allocated zero-filled (pages the OS maps in as they are first written).
 */
import { hashOf } from "./id-table.js";
import { SlotIndex } from "./slot-index.js";

/** Id bytes kept in a slot (a UUID takes 36). */
const ID_BYTES = 40;

/** What is remembered of one message. */
export interface SeenReply {
  /** The reply's encoding, once the handler finished (requests only): a copy, the caller's to keep. */
  reply?: Uint8Array;
}

/** Remembers the last `capacity` message ids and the replies of those that were requests. */
export class ReplyWindow {
  /** Bytes of each slot's id; idLength -1: the slot is empty; -2: the id is in longIds. */
  private readonly idBytes: Uint8Array;
  private readonly idLength: Int16Array;
  private readonly longIds = new Map<number, string>();
  /** Bytes of each slot's reply; replyLength -1: no reply; -2: the reply is in longReplies. */
  private readonly replyData: Uint8Array;
  private readonly replyLength: Int16Array;
  private readonly longReplies = new Map<number, Uint8Array>();
  /** The ring slots by the hash of their ids. */
  private readonly index: SlotIndex;
  private next = 0;
  private count = 0;

  /** Creates a window holding `capacity` ids, with room for replies of `replyBytes` each (BusConfig.dedupeReplyBytes). */
  constructor(
    private readonly capacity: number,
    private readonly replyBytes = 384,
  ) {
    const n = Math.max(0, capacity);
    this.idBytes = new Uint8Array(n * ID_BYTES);
    this.idLength = new Int16Array(n).fill(-1);
    this.replyData = new Uint8Array(n * Math.max(0, replyBytes));
    this.replyLength = new Int16Array(n).fill(-1);
    this.index = new SlotIndex(n);
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
      this.index.remove(s);
      if (oldLength === -2) this.longIds.delete(s);
      if (this.replyLength[s] === -2) this.longReplies.delete(s);
    }
    this.storeId(s, id);
    this.replyLength[s] = -1;
    this.index.add(s, h);
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
    const index = this.index;
    for (let b = index.start(h); ; b = index.after(b)) {
      const slot = index.slotAt(b);
      if (slot < 0) return -1;
      if (index.hashes[slot] === h && this.holds(slot, id)) return slot;
    }
  }
}
