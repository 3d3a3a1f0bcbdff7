import { describe, expect, it } from "vitest";
import { nextDigestWindow, upperBound } from "../../src/state/digest-window.js";
import { sample } from "../../src/state/sample.js";
import { mulberry32 } from "../helpers/virtual-net.js";

describe("upperBound", () => {
  it.each([
    [[], "a", 0],
    [["a", "c"], "", 0],
    [["a", "c"], "a", 1],
    [["a", "c"], "b", 1],
    [["a", "c"], "c", 2],
    [["a", "c"], "d", 2],
  ] as Array<[string[], string, number]>)("%j after %j is %i", (sorted, key, expected) => {
    expect(upperBound(sorted, key)).toBe(expected);
  });
});

describe("nextDigestWindow", () => {
  const keys = ["a", "b", "c", "d", "e", "f", "g"];

  it("sends a small state whole", () => {
    expect(nextDigestWindow(keys, undefined, 7)).toEqual({ keys, partial: false, cursor: undefined });
    expect(nextDigestWindow([], "x", 4)).toEqual({ keys: [], partial: false, cursor: undefined });
  });

  it("rotates windows of max-1 keys (room for the marker) over a larger state and wraps around", () => {
    const seen: string[][] = [];
    let cursor: string | undefined;
    for (let i = 0; i < 4; i++) {
      const w = nextDigestWindow(keys, cursor, 4);
      expect(w.partial).toBe(true);
      expect(w.keys.length).toBeLessThanOrEqual(3);
      seen.push([...w.keys]);
      cursor = w.cursor;
    }
    expect(seen).toEqual([["a", "b", "c"], ["d", "e", "f"], ["g"], ["a", "b", "c"]]);
  });

  it("continues after the cursor key even when keys were added or removed meanwhile", () => {
    expect(nextDigestWindow(["a", "b", "bb", "d", "e"], "b", 3).keys).toEqual(["bb", "d"]);
    expect(nextDigestWindow(["a", "d", "e", "f"], "c", 3).keys).toEqual(["d", "e"]);
    expect(nextDigestWindow(["a", "b", "c", "d"], "z", 3).keys).toEqual(["a", "b"]);
  });
});

describe("sample", () => {
  it("picks distinct items, never the excluded one, and all of them when asked for more than there are", () => {
    const random = mulberry32(3);
    const items = Array.from({ length: 1000 }, (_, i) => `p${i}`);
    for (let i = 0; i < 200; i++) {
      const s = sample(items, 3, random, "p7");
      expect(new Set(s).size).toBe(3);
      expect(s).not.toContain("p7");
    }
    expect(sample(["a", "b", "self"], 5, random, "self").sort()).toEqual(["a", "b"]);
    expect(sample(["self"], 3, random, "self")).toEqual([]);
    expect(sample([], 3, random)).toEqual([]);
    expect(sample(items, 0, random)).toEqual([]);
  });

  it("is reproducible from the seed and roughly uniform", () => {
    const items = Array.from({ length: 10 }, (_, i) => i);
    expect(sample(items, 3, mulberry32(9))).toEqual(sample(items, 3, mulberry32(9)));
    const counts = new Array(10).fill(0);
    const random = mulberry32(1);
    for (let i = 0; i < 10_000; i++) for (const x of sample(items, 2, random)) counts[x]++;
    for (const c of counts) expect(c).toBeGreaterThan(1700); // expected 2000 each
  });
});
