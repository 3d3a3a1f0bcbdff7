/**
 * Trace and span ids for recorded spans: lowercase hex from a pool of random bytes refilled by the kernel's
 * CSPRNG (one `randomFillSync` per POOL_BYTES / 8 span ids). Each refill also converts the whole pool to one hex
 * string, and an id is a slice of it (a view the engine makes without copying), so an id costs no native call.
 * Each id's bytes are also left in `lastIdWords` as big-endian 32-bit words, for the span ring to write the id
 * without parsing its hex (recorded-span.ts: IdWords).
 */
import { randomFillSync } from "node:crypto";

/** Random bytes drawn from the kernel at a time. */
const POOL_BYTES = 8192;
const pool = Buffer.allocUnsafe(POOL_BYTES);
/** The pool as lowercase hex, two digits per byte. */
let poolHex = "";
let offset = POOL_BYTES;

/**
 * The id newTraceId() or newSpanId() returned last, as big-endian 32-bit words (a trace id fills all four, a
 * span id the first two); valid until the next id is made.
 */
export const lastIdWords = new Int32Array(4);

/** `bytes` random bytes (8 or 16) as lowercase hex, never all zeros (the W3C invalid id); their words in lastIdWords. */
function randomHex(bytes: number): string {
  for (;;) {
    if (offset + bytes > POOL_BYTES) {
      randomFillSync(pool);
      poolHex = pool.toString("hex");
      offset = 0;
    }
    const start = offset;
    offset += bytes;
    for (let i = start; i < start + bytes; i++) {
      if (pool[i] === 0) continue;
      for (let w = 0; w < bytes >> 2; w++) lastIdWords[w] = pool.readInt32BE(start + 4 * w);
      return poolHex.slice(2 * start, 2 * (start + bytes));
    }
  }
}

/** A new W3C trace id: 32 lowercase hex digits, not all zero. */
export function newTraceId(): string {
  return randomHex(16);
}

/** A new W3C span id: 16 lowercase hex digits, not all zero. */
export function newSpanId(): string {
  return randomHex(8);
}
