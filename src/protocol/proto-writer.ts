/**
 * A protobuf binary writer for the hand-written codecs (envelope-codec.ts). Messages are written one after the
 * other into a slab of memory and handed out as views of it (no copy, no allocation but the view); a message
 * that does not fit in what is left of the slab moves to a new one, and the old slab lives on as long as views
 * of it do (those who keep a message for long copy it: the dedupe window does). A nested message reserves one
 * byte for its length and moves its bytes right when the length needs more (rare for the mesh's small
 * messages), so every message is written in one pass. The bytes equal what protobuf-es writes for the same
 * values.
 */
import { Code, MeshError } from "./errors.js";
import { utf8Write } from "./slab.js";

/** Wire types of the protobuf binary format. */
export const WireType = { Varint: 0, Bit64: 1, LengthDelimited: 2, StartGroup: 3, EndGroup: 4, Bit32: 5 } as const;

/** The tag of field `fieldNo` with wire type `wireType`, as the varint value written before the field. */
export function tagOf(fieldNo: number, wireType: number): number {
  return ((fieldNo << 3) | wireType) >>> 0;
}

/** Bytes of the varint encoding of `value` (a uint32). */
export function varintSize(value: number): number {
  return value < 0x80 ? 1 : value < 0x4000 ? 2 : value < 0x200000 ? 3 : value < 0x10000000 ? 4 : 5;
}

/**
 * Strings up to this many UTF-16 units are encoded in JavaScript; longer ones natively (Buffer's utf8Write): a
 * native call costs about as much as a JavaScript loop over 30 ASCII units, and it reads strings made by
 * concatenation (a traceparent, most ids built from parts) without walking their pieces for every unit.
 */
const SHORT_STRING = 16;
/** Strings up to this many units are written natively into room for their longest encoding (3 bytes a unit). */
const MEDIUM_STRING = 1024;

const TWO_POW_32 = 2 ** 32;

/** Bytes of a slab (a larger message gets a slab of its own size). */
const SLAB_BYTES = 64 * 1024;

/** Writes protobuf binary data into slabs; see the file comment. */
export class ProtoWriter {
  /** The current slab. */
  buf: Buffer;
  /** Write position in `buf`. */
  pos = 0;
  /** Where the message being written starts in `buf`. */
  private start = 0;
  /** The message field being written, for error messages ("envelope.hops"). */
  field = "";

  /** Creates a writer whose slabs hold `slabBytes` (larger messages get a slab of their own). */
  constructor(private readonly slabBytes = SLAB_BYTES) {
    this.buf = Buffer.allocUnsafeSlow(slabBytes);
  }

  /** Starts a new message (or forgets the one being written). */
  reset(): void {
    this.pos = this.start;
  }

  /** The message written since reset(), as a view of the slab; the next message is written after it. */
  finish(): Uint8Array {
    const start = this.start;
    const end = this.pos;
    this.start = this.pos = Math.min((end + 7) & ~7, this.buf.length);
    return new Uint8Array(this.buf.buffer, this.buf.byteOffset + start, end - start);
  }

  /** Makes room for `n` more bytes: moves the message being written to a new slab when this one is full. */
  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const written = this.pos - this.start;
    let size = this.slabBytes;
    while (size < written + n) size *= 2;
    const next = Buffer.allocUnsafeSlow(size);
    this.buf.copy(next, 0, this.start, this.pos);
    this.buf = next;
    this.start = 0;
    this.pos = written;
  }

  /** Writes a varint of a uint32 known to be valid (tags, lengths). */
  rawVarint32(value: number): void {
    this.ensure(5);
    const buf = this.buf;
    let pos = this.pos;
    while (value > 0x7f) {
      buf[pos++] = (value & 0x7f) | 0x80;
      value >>>= 7;
    }
    buf[pos++] = value;
    this.pos = pos;
  }

  /** Writes a `uint32` field value; refuses anything but an integer from 0 to 2^32 − 1. */
  uint32(value: number): void {
    if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > 0xffffffff) {
      throw this.invalid(`invalid uint32: ${String(value)}`);
    }
    this.rawVarint32(value);
  }

  /** Writes a `bool` field value. */
  bool(value: boolean): void {
    this.ensure(1);
    this.buf[this.pos++] = value ? 1 : 0;
  }

  /** Writes an `int64` field value (a bigint; numbers and decimal strings are accepted too). */
  int64(value: bigint | number | string): void {
    let v: bigint;
    if (typeof value === "bigint") v = value;
    else if (typeof value === "number" && Number.isSafeInteger(value)) {
      if (value >= 0) return this.varint53(value);
      v = BigInt(value);
    } else {
      try {
        v = BigInt(value);
      } catch {
        throw this.invalid(`invalid int64: ${String(value)}`);
      }
    }
    if (v >= 0n && v <= 0x1fffffffffffffn) return this.varint53(Number(v));
    if (v < -(2n ** 63n) || v >= 2n ** 63n) throw this.invalid(`invalid int64: ${v}`);
    const u = BigInt.asUintN(64, v);
    this.varint64(Number(u & 0xffffffffn), Number(u >> 32n));
  }

  /** Writes a non-negative safe integer as a varint. */
  private varint53(value: number): void {
    if (value < TWO_POW_32) {
      this.rawVarint32(value);
      return;
    }
    this.varint64(value % TWO_POW_32, Math.floor(value / TWO_POW_32));
  }

  /** Writes a 64-bit varint given as two uint32 halves. */
  private varint64(lo: number, hi: number): void {
    this.ensure(10);
    const buf = this.buf;
    let pos = this.pos;
    // 28 bits of lo, then 3 + 4 from lo and hi, then the rest of hi (the protobuf reference algorithm).
    for (let i = 0; i < 28; i += 7) {
      const shift = lo >>> i;
      const more = !(shift >>> 7 === 0 && hi === 0);
      buf[pos++] = (more ? shift | 0x80 : shift) & 0xff;
      if (!more) {
        this.pos = pos;
        return;
      }
    }
    const split = ((lo >>> 28) & 0x0f) | ((hi & 0x07) << 4);
    const hasMoreBits = !(hi >> 3 === 0);
    buf[pos++] = (hasMoreBits ? split | 0x80 : split) & 0xff;
    if (!hasMoreBits) {
      this.pos = pos;
      return;
    }
    for (let i = 3; i < 31; i += 7) {
      const shift = hi >>> i;
      const more = !(shift >>> 7 === 0);
      buf[pos++] = (more ? shift | 0x80 : shift) & 0xff;
      if (!more) {
        this.pos = pos;
        return;
      }
    }
    buf[pos++] = (hi >>> 31) & 0x01;
    this.pos = pos;
  }

  /** Writes a `string` field value as UTF-8 with its length (lone surrogates become U+FFFD, as TextEncoder does). */
  string(value: string): void {
    if (typeof value !== "string") throw this.invalid(`invalid string: ${typeof value}`);
    const n = value.length;
    if (n > SHORT_STRING && n <= MEDIUM_STRING) {
      // One byte reserved for the length (moved right by endLength when the encoding is 128 bytes or more).
      this.ensure(n * 3 + 1);
      const start = this.pos + 1;
      const written = utf8Write.call(this.buf, value, start);
      this.endLength(start - this.start, written);
      return;
    }
    if (n > SHORT_STRING) {
      const bytes = Buffer.byteLength(value, "utf8");
      this.rawVarint32(bytes);
      this.ensure(bytes);
      this.pos += this.buf.write(value, this.pos, bytes, "utf8");
      return;
    }
    // At most 3 bytes per UTF-16 unit; a length below 128 takes one byte, which is all short strings need
    // unless they are mostly non-ASCII (then the bytes move right by one).
    this.ensure(n * 3 + 1);
    const buf = this.buf;
    const start = this.pos + 1;
    let pos = start;
    for (let i = 0; i < n; i++) {
      let c = value.charCodeAt(i);
      if (c < 0x80) {
        buf[pos++] = c;
      } else if (c < 0x800) {
        buf[pos++] = (c >> 6) | 0xc0;
        buf[pos++] = (c & 0x3f) | 0x80;
      } else {
        if (c >= 0xd800 && c <= 0xdfff) {
          const next = i + 1 < n ? value.charCodeAt(i + 1) : 0;
          if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
            c = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
            i++;
            buf[pos++] = (c >> 18) | 0xf0;
            buf[pos++] = ((c >> 12) & 0x3f) | 0x80;
            buf[pos++] = ((c >> 6) & 0x3f) | 0x80;
            buf[pos++] = (c & 0x3f) | 0x80;
            continue;
          }
          c = 0xfffd; // a lone surrogate
        }
        buf[pos++] = (c >> 12) | 0xe0;
        buf[pos++] = ((c >> 6) & 0x3f) | 0x80;
        buf[pos++] = (c & 0x3f) | 0x80;
      }
    }
    this.pos = start - 1;
    this.endLength(start - this.start, pos - start);
  }

  /** Writes a `bytes` field value with its length. */
  bytes(value: Uint8Array): void {
    if (!(value instanceof Uint8Array)) throw this.invalid("invalid bytes: not a Uint8Array");
    this.rawVarint32(value.length);
    this.ensure(value.length);
    this.buf.set(value, this.pos);
    this.pos += value.length;
  }

  /** Writes bytes as they are (already encoded). */
  raw(value: Uint8Array): void {
    this.ensure(value.length);
    this.buf.set(value, this.pos);
    this.pos += value.length;
  }

  /**
   * Starts a length-delimited value (a nested message): reserves one byte for its length; pass the result (its
   * offset in the message: the message may move to another slab meanwhile) to join().
   */
  fork(): number {
    this.ensure(1);
    return ++this.pos - this.start;
  }

  /** Ends the value started by fork() at message offset `at`, writing its length before it. */
  join(at: number): void {
    const length = this.pos - (this.start + at);
    this.pos = this.start + at - 1;
    this.endLength(at, length);
  }

  /**
   * Writes `length` in the byte reserved at `pos` for the `length` bytes at message offset `at` (= pos + 1),
   * moving them when the varint is longer.
   */
  private endLength(at: number, length: number): void {
    if (length < 0x80) {
      this.buf[this.pos] = length;
      this.pos = this.start + at + length;
      return;
    }
    const extra = varintSize(length) - 1;
    this.pos = this.start + at + length;
    this.ensure(extra); // may move the message: its offsets stay
    const start = this.start + at;
    this.buf.copyWithin(start + extra, start, start + length);
    this.pos = start - 1;
    this.rawVarint32(length);
    this.pos = start + extra + length;
  }

  /** INVALID_ARGUMENT naming the field being written. */
  invalid(what: string): MeshError {
    return new MeshError(Code.InvalidArgument, `${this.field || "message"}: cannot encode: ${what}`);
  }
}
