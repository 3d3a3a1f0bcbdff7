/** Small byte arrays on shared slabs (slab.ts): the same bytes TextEncoder and a copy give, as plain Uint8Arrays. */
import { describe, expect, it } from "vitest";
import { copyBytes, SMALL_BYTES, utf8Bytes } from "../../src/protocol/slab.js";

describe("slab byte arrays", () => {
  it("encodes text exactly as TextEncoder does, short and long, lone surrogates included", () => {
    const enc = new TextEncoder();
    const texts = ["", "a", '{"x":1}', "héllo ✓ 𝄞", "\ud800 lone", "x".repeat(SMALL_BYTES), "é".repeat(SMALL_BYTES)];
    for (let round = 0; round < 20; round++) {
      for (const t of texts) {
        const got = utf8Bytes(t);
        expect(Object.getPrototypeOf(got)).toBe(Uint8Array.prototype);
        expect([...got]).toEqual([...enc.encode(t)]);
      }
    }
  });

  it("copies bytes out of a buffer that is then overwritten; arrays do not overlap", () => {
    const src = Buffer.from(Array.from({ length: 3000 }, (_, i) => i & 0xff));
    const copies = [copyBytes(src, 0, 10), copyBytes(src, 5, 100), copyBytes(src, 10, 2010), utf8Bytes("abc"), copyBytes(src, 1, 2)];
    const expected = copies.map((c) => [...c]);
    src.fill(0);
    expect(copies.map((c) => [...c])).toEqual(expected);
    expect(expected[0]).toEqual(Array.from({ length: 10 }, (_, i) => i));
    expect(expected[2]).toHaveLength(2000);
  });
});
