/**
 * A protobuf binary reader for the hand-written codecs (envelope-codec.ts). It reads what the codecs expect
 * and gives up (throws NotFastPath) on anything else — an unknown field, an unexpected wire type, a repeated
 * nested message, a truncated value — so that the caller can decode those rare inputs with protobuf-es, which
 * keeps unknown fields and merges repeated messages. Strings are checked to be UTF-8, as protobuf-es checks them.
 */
import { copyBytes, latin1Slice, utf8Slice } from "./slab.js";

/** Thrown when the input needs the general decoder. */
export class NotFastPath extends Error {
  /** Creates the signal (no stack: it is caught at once). */
  constructor(reason: string) {
    super(reason);
  }
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });



/**
 * Short strings repeat on a link (agent ids, message types, content types): decoded once, they are found
 * again in this direct-mapped cache by a hash of their bytes (and compared), instead of being made anew.
 */
const STRING_CACHE_BITS = 9;
const MAX_CACHED_STRING = 32;
const stringCache: string[] = new Array<string>(1 << STRING_CACHE_BITS).fill("");

/** Reads protobuf binary data from a Buffer between `pos` and `end`. */
export class ProtoReader {
  /** Read position. */
  pos: number;
  /** End of the current message. */
  end: number;
  /** The last value uint64 made a bigint of (below 2^49), and that bigint. */
  private lastValue = -1;
  private lastBig = 0n;

  /** Reads `buf` from `start` to `end`. */
  constructor(
    readonly buf: Buffer,
    start: number,
    end: number,
  ) {
    this.pos = start;
    this.end = end;
  }

  /** A varint as a uint32 (longer varints keep their low 32 bits, as protobuf-es reads them). */
  uint32(): number {
    const buf = this.buf;
    let b = buf[this.pos++];
    if (b < 0x80) return this.checked(b);
    let result = b & 0x7f;
    b = buf[this.pos++];
    result |= (b & 0x7f) << 7;
    if (b < 0x80) return this.checked(result);
    b = buf[this.pos++];
    result |= (b & 0x7f) << 14;
    if (b < 0x80) return this.checked(result);
    b = buf[this.pos++];
    result |= (b & 0x7f) << 21;
    if (b < 0x80) return this.checked(result);
    b = buf[this.pos++];
    result |= (b & 0x0f) << 28;
    for (let read = 5; (b & 0x80) !== 0 && read < 10; read++) b = buf[this.pos++];
    if ((b & 0x80) !== 0) throw new NotFastPath("invalid varint");
    return this.checked(result >>> 0);
  }

  /** A varint as an int64 (bigint, two's complement above 2^63). */
  int64(): bigint {
    const u = this.uint64();
    return u >= 0x8000000000000000n ? u - 0x10000000000000000n : u;
  }

  /** A varint as a uint64 (bigint). */
  uint64(): bigint {
    const buf = this.buf;
    let value = 0;
    let scale = 1;
    // Up to 7 bytes (49 bits) stay exact in a double; longer varints take the bigint path.
    for (let i = 0; i < 7; i++) {
      const b = buf[this.pos++];
      value += (b & 0x7f) * scale;
      if (b < 0x80) {
        this.checked(0);
        if (value === this.lastValue) return this.lastBig;
        // Timestamps and deadlines repeat from message to message: the last bigint made is reused.
        this.lastValue = value;
        return (this.lastBig = BigInt(value));
      }
      scale *= 128;
    }
    let big = BigInt(value);
    let shift = 49n;
    for (let i = 7; i < 10; i++) {
      const b = buf[this.pos++];
      big |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) {
        this.checked(0);
        return BigInt.asUintN(64, big);
      }
      shift += 7n;
    }
    throw new NotFastPath("invalid varint");
  }

  /** A `bool` (any non-zero varint is true). */
  bool(): boolean {
    const b = this.buf[this.pos];
    if (b === 0 || b === 1) {
      this.pos++;
      this.checked(0);
      return b === 1;
    }
    return this.uint64() !== 0n;
  }

  /** The length of a length-delimited value; returns its end, checked against the message's end. */
  length(): number {
    const n = this.uint32();
    const end = this.pos + n;
    if (end > this.end) throw new NotFastPath("length past the end of the message");
    return end;
  }

  /** A `string`: UTF-8, validated. Short ASCII strings come from a small cache when they repeat. */
  string(): string {
    const end = this.length();
    const start = this.pos;
    this.pos = end;
    const buf = this.buf;
    const n = end - start;
    if (n > MAX_CACHED_STRING) {
      // Decoded leniently, then checked: an invalid sequence becomes U+FFFD, which a valid string rarely holds
      // (the strict decoder then decides). Quicker than checking the bytes in JavaScript first.
      const text = utf8Slice.call(buf, start, end);
      return text.indexOf("\ufffd") < 0 ? text : strictUtf8.decode(buf.subarray(start, end));
    }
    if (n === 0) return "";
    // The slot from the length and four of the bytes; a hit is confirmed byte by byte (cached strings are ASCII,
    // so equal bytes are valid UTF-8): one pass over the bytes for a string seen before.
    const sample = buf[start] | (buf[start + 1 < end ? start + 1 : start] << 8) | (buf[start + (n >> 1)] << 16) | (buf[end - 1] << 24);
    const slot = Math.imul(sample ^ Math.imul(n, 0x01000193), 0x9e3779b1) >>> (32 - STRING_CACHE_BITS);
    const cached = stringCache[slot];
    if (cached.length === n) {
      let i = 0;
      while (i < n && cached.charCodeAt(i) === buf[start + i]) i++;
      if (i === n) return cached;
    }
    for (let i = start; i < end; i++) if (buf[i] >= 0x80) return strictUtf8.decode(buf.subarray(start, end));
    const fresh = latin1Slice.call(buf, start, end);
    stringCache[slot] = fresh;
    return fresh;
  }

  /** A `bytes` value, copied (so that it does not keep the received chunk alive). */
  bytes(): Uint8Array {
    const end = this.length();
    const start = this.pos;
    this.pos = end;
    return copyBytes(this.buf, start, end);
  }

  /** Returns `value` after checking that reading did not run past the end. */
  private checked(value: number): number {
    if (this.pos > this.end) throw new NotFastPath("truncated");
    return value;
  }
}
