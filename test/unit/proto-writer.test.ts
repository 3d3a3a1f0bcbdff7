/**
 * ProtoWriter (proto-writer.ts) writes message after message into slabs and hands out views: a message that
 * outgrows what is left of a slab moves to a new one mid-write (nested lengths included), and the views
 * handed out earlier keep their bytes.
 */
import { describe, expect, it } from "vitest";
import { ProtoWriter } from "../../src/protocol/proto-writer.js";

/** Writes a message with nested values and strings of many sizes (some lengths need two varint bytes). */
function write(w: ProtoWriter, seed: number): Uint8Array {
  w.reset();
  w.rawVarint32(0x0a);
  w.string(`id-${seed}`);
  w.rawVarint32(0x12);
  const outer = w.fork();
  w.rawVarint32(0x0a);
  w.string("x".repeat(seed % 300));
  w.rawVarint32(0x12);
  const inner = w.fork();
  w.rawVarint32(0x08);
  w.uint32(seed);
  w.rawVarint32(0x12);
  w.string("é".repeat(seed % 90));
  w.join(inner);
  w.rawVarint32(0x1a);
  w.bytes(Uint8Array.from({ length: seed % 200 }, (_, i) => i));
  w.join(outer);
  return w.finish();
}

describe("ProtoWriter", () => {
  it("writes the same bytes whatever the slab size, and earlier messages stay intact", () => {
    const small = new ProtoWriter(16);
    const large = new ProtoWriter(1 << 20);
    const kept: [Uint8Array, number[]][] = [];
    for (let seed = 0; seed < 600; seed++) {
      const a = write(small, seed);
      const b = write(large, seed);
      expect([...a]).toEqual([...b]);
      kept.push([a, [...a]]);
    }
    for (const [view, bytes] of kept) expect([...view]).toEqual(bytes);
  });

  it("forgets a message abandoned with reset()", () => {
    const w = new ProtoWriter(64);
    w.reset();
    w.string("abandoned");
    w.reset();
    w.string("kept");
    expect([...w.finish()]).toEqual([4, ..."kept"].map((c) => (typeof c === "number" ? c : c.charCodeAt(0))));
  });
});
