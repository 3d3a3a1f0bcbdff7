/**
 * Small byte arrays carved out of shared slabs, as Node's Buffer pool does, but as plain Uint8Arrays (what the
 * generated message types hold): decoded byte fields and JSON payloads are made per message, and an
 * ArrayBuffer each (what TextEncoder.encode and `new Uint8Array(n)` give) costs an allocation outside the heap
 * and more work for the GC. A slab lives as long as any array carved from it.
 */

/** Bytes of one slab. */
const SLAB_BYTES = 8192;
/** Arrays larger than this get an ArrayBuffer of their own. */
export const SMALL_BYTES = 1024;

let slab = new ArrayBuffer(SLAB_BYTES);
/** The current slab as a Buffer, for writing strings into it. */
let slabBuffer = Buffer.from(slab);
let slabUsed = 0;

/** Makes sure the current slab has `n` free bytes (n ≤ SLAB_BYTES). */
function room(n: number): void {
  if (slabUsed + n <= SLAB_BYTES) return;
  slab = new ArrayBuffer(SLAB_BYTES);
  slabBuffer = Buffer.from(slab);
  slabUsed = 0;
}

/** Takes `n` bytes of the current slab (aligned to 8 for the next). */
function take(n: number): Uint8Array {
  const out = new Uint8Array(slab, slabUsed, n);
  slabUsed += (n + 7) & ~7;
  return out;
}

/** A copy of buf[start, end) as a plain Uint8Array (small copies share a slab). */
export function copyBytes(buf: Uint8Array, start: number, end: number): Uint8Array {
  const n = end - start;
  if (n > SMALL_BYTES) {
    const out = new Uint8Array(n);
    out.set(buf.subarray(start, end));
    return out;
  }
  room(n);
  const out = take(n);
  if (n <= 64) for (let i = 0; i < n; i++) out[i] = buf[start + i];
  else out.set(buf.subarray(start, end));
  return out;
}

const encoder = new TextEncoder();

type Slice = (this: Uint8Array, start: number, end: number) => string;
const natives = Buffer.prototype as unknown as { utf8Slice?: Slice; latin1Slice?: Slice; utf8Write?: (this: Uint8Array, text: string, offset: number) => number };

/** Buffer's native decoders and encoder without toString's and write's argument handling (they take any Uint8Array). */
export const utf8Slice: Slice =
  natives.utf8Slice ??
  function (this: Uint8Array, start: number, end: number) {
    return Buffer.from(this.buffer, this.byteOffset, this.byteLength).toString("utf8", start, end);
  };
export const latin1Slice: Slice =
  natives.latin1Slice ??
  function (this: Uint8Array, start: number, end: number) {
    return Buffer.from(this.buffer, this.byteOffset, this.byteLength).toString("latin1", start, end);
  };
export const utf8Write: (this: Buffer, text: string, offset: number) => number =
  natives.utf8Write ??
  function (this: Buffer, text: string, offset: number) {
    return this.write(text, offset, "utf8");
  };

/** The UTF-8 encoding of `text` as a plain Uint8Array (what TextEncoder.encode returns; short ones share a slab). */
export function utf8Bytes(text: string): Uint8Array {
  // At most 3 bytes per UTF-16 unit.
  if (text.length * 3 > SMALL_BYTES) return encoder.encode(text);
  room(text.length * 3);
  const n = utf8Write.call(slabBuffer, text, slabUsed);
  return take(n);
}
