/**
 * Trace and span ids for recorded spans: lowercase hex from a pool of random bytes refilled by the kernel's
 * CSPRNG (one `randomFillSync` per POOL_BYTES / 8 span ids), so an id costs one native hex slice.
 */
import { randomFillSync } from "node:crypto";

/** Random bytes drawn from the kernel at a time. */
const POOL_BYTES = 8192;
const pool = Buffer.allocUnsafe(POOL_BYTES);
let offset = POOL_BYTES;

/** `bytes` random bytes as lowercase hex, never all zeros (the W3C invalid id). */
function randomHex(bytes: number): string {
  for (;;) {
    if (offset + bytes > POOL_BYTES) {
      randomFillSync(pool);
      offset = 0;
    }
    const start = offset;
    offset += bytes;
    for (let i = start; i < start + bytes; i++) if (pool[i] !== 0) return pool.toString("hex", start, start + bytes);
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
