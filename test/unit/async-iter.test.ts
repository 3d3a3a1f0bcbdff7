/** Channel (async-iter.ts): iteration, and `consume`, which hands items over synchronously as they are pushed. */
import { describe, expect, it } from "vitest";
import { Channel, forEachItem } from "../../src/transport/async-iter.js";

describe("Channel.consume", () => {
  it("hands over what was queued at once, then each item as it is pushed, in order, and resolves at the end", async () => {
    const ch = new Channel<number>();
    ch.push(1);
    ch.push(2);
    const seen: number[] = [];
    const done = ch.consume((x) => seen.push(x));
    expect(seen).toEqual([1, 2]);
    ch.push(3);
    expect(seen).toEqual([1, 2, 3]); // synchronously: no microtask in between
    ch.end();
    ch.push(4); // ignored once ended
    await done;
    expect(seen).toEqual([1, 2, 3]);
  });

  it("keeps the order when the callback pushes while the queued items are handed over", async () => {
    const ch = new Channel<number>();
    ch.push(1);
    ch.push(2);
    const seen: number[] = [];
    const done = ch.consume((x) => {
      seen.push(x);
      if (x === 1) ch.push(10);
    });
    ch.push(3);
    ch.end();
    await done;
    expect(seen).toEqual([1, 2, 10, 3]);
  });

  it("rejects with the channel's error, and with what the callback threw (the channel then fails)", async () => {
    const failed = new Channel<number>();
    const a = failed.consume(() => {});
    failed.fail(new Error("boom"));
    await expect(a).rejects.toThrow("boom");

    const ch = new Channel<number>();
    const seen: number[] = [];
    const b = ch.consume((x) => {
      if (x === 2) throw new Error("bad item");
      seen.push(x);
    });
    ch.push(1);
    ch.push(2);
    ch.push(3); // after the failure: dropped
    await expect(b).rejects.toThrow("bad item");
    expect(seen).toEqual([1]);
  });

  it("resolves at once for a channel that ended before it was consumed, after its items", async () => {
    const ch = new Channel<string>();
    ch.push("x");
    ch.end();
    const seen: string[] = [];
    await ch.consume((x) => seen.push(x));
    expect(seen).toEqual(["x"]);
  });
});

describe("forEachItem", () => {
  it("consumes a Channel synchronously and iterates any other async iterable", async () => {
    const ch = new Channel<number>();
    const seen: number[] = [];
    const done = forEachItem(ch, (x) => seen.push(x));
    ch.push(7);
    expect(seen).toEqual([7]);
    ch.end();
    await done;

    async function* gen() {
      yield 1;
      yield 2;
    }
    const fromGen: number[] = [];
    await forEachItem(gen(), (x) => fromGen.push(x));
    expect(fromGen).toEqual([1, 2]);
  });
});
