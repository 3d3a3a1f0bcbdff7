/** Nearest-rank quantiles, median and summaries, by table. */
import { describe, expect, it } from "vitest";
import { maximum, median, quantile, summarize } from "../../src/sim/stats.js";

describe("quantile (nearest rank)", () => {
  const xs = Array.from({ length: 100 }, (_, i) => i + 1); // 1..100
  it.each([
    { samples: xs, q: 0.5, want: 50 },
    { samples: xs, q: 0.99, want: 99 },
    { samples: xs, q: 1, want: 100 },
    { samples: xs, q: 0.01, want: 1 },
    { samples: [3, 1, 2], q: 0.5, want: 2 },
    { samples: [4, 1, 3, 2], q: 0.5, want: 2 },
    { samples: [5, 1], q: 0.99, want: 5 },
    { samples: [7], q: 0.99, want: 7 },
    { samples: [1, null, 2], q: 0.99, want: Infinity },
    { samples: [1, null, 2], q: 0.5, want: 2 },
    { samples: [], q: 0.5, want: NaN },
  ])("q=$q of $samples.length samples → $want", ({ samples, q, want }) => {
    expect(quantile(samples, q)).toBe(want);
  });

  it("p99 of fewer than 100 samples is their maximum", () => {
    const few = Array.from({ length: 20 }, (_, i) => i);
    expect(quantile(few, 0.99)).toBe(19);
  });
});

describe("median, maximum, summarize", () => {
  it("summarises with missing samples counted and in the tail", () => {
    expect(median([9, 1, 5])).toBe(5);
    expect(maximum([9, 1, 5])).toBe(9);
    expect(summarize([100, 200, null, 300])).toEqual({ count: 4, missing: 1, median: 200, p99: Infinity, max: Infinity });
    expect(summarize([])).toEqual({ count: 0, missing: 0, median: NaN, p99: NaN, max: NaN });
  });
});
