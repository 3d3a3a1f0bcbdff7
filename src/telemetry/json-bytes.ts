/**
 * A JSON text written straight into a growing Buffer: ASCII pieces byte by byte, numbers digit by digit,
 * strings quoted in the same loop (JSON.stringify only for a string that needs escaping or is not ASCII). An
 * export batch is a few hundred kilobytes: built from JavaScript strings it would leave kilobytes of garbage
 * per span (every concatenation a new string, each flattened once more to be written), and in a busy node
 * every young-generation collection copies all that is still in flight — the garbage costs more than the
 * writing. This writes nearly nothing but the buffer.
 */

/** Bytes a writer starts with when no size is given. */
export const DEFAULT_JSON_BYTES = 64 * 1024;

/** Writes JSON text into a Buffer; see the file comment. */
export class JsonBytes {
  private buf: Buffer;
  private pos = 0;

  /** A writer with room for `size` bytes (it grows as needed). */
  constructor(size = DEFAULT_JSON_BYTES) {
    this.buf = Buffer.allocUnsafe(Math.max(16, size));
  }

  /** The bytes written so far. */
  bytes(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }

  /** Writes `text`, which must be ASCII and need no escaping (punctuation, names, hex ids, digits). */
  raw(text: string): void {
    const n = text.length;
    if (this.pos + n > this.buf.length) this.grow(n);
    const buf = this.buf;
    let p = this.pos;
    for (let i = 0; i < n; i++) buf[p++] = text.charCodeAt(i);
    this.pos = p;
  }

  /** Writes `value` in decimal (JSON's null when it is not finite). */
  number(value: number): void {
    if (Number.isSafeInteger(value) && value >= 0) this.digits(value, 1);
    else this.raw(Number.isFinite(value) ? String(value) : "null");
  }

  /** Writes the non-negative safe integer `value` in decimal, zero-padded to `width` digits, without making a string. */
  digits(value: number, width: number): void {
    let n = 1;
    for (let v = value; v >= 10; v = Math.floor(v / 10)) n++;
    if (n < width) n = width;
    if (this.pos + n > this.buf.length) this.grow(n);
    const buf = this.buf;
    let v = value;
    for (let i = this.pos + n - 1; i >= this.pos; i--) {
      const q = Math.floor(v / 10);
      buf[i] = 48 + v - q * 10;
      v = q;
    }
    this.pos += n;
  }

  /** Writes `text` as a JSON string, quotes included. */
  string(text: string): void {
    const n = text.length;
    if (this.pos + n + 2 > this.buf.length) this.grow(n + 2);
    const buf = this.buf;
    const start = this.pos;
    let p = start;
    buf[p++] = 34;
    for (let i = 0; i < n; i++) {
      const c = text.charCodeAt(i);
      if (c < 0x20 || c === 34 || c === 92 || c >= 0x7f) return this.escaped(text, start);
      buf[p++] = c;
    }
    buf[p++] = 34;
    this.pos = p;
  }

  /** Writes `text` as a JSON string through JSON.stringify and UTF-8, from `start`. */
  private escaped(text: string, start: number): void {
    const json = JSON.stringify(text);
    this.pos = start;
    const max = json.length * 3;
    if (this.pos + max > this.buf.length) this.grow(max);
    this.pos += this.buf.write(json, this.pos, "utf8");
  }

  /** Makes room for `more` bytes past the current position. */
  private grow(more: number): void {
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + more));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }
}
