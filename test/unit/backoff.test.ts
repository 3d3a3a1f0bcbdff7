import { describe, expect, it } from "vitest";
import { backoffDelayMs, type BackoffPolicy } from "../../src/transport/backoff.js";

const noJitter: BackoffPolicy = { initialMs: 100, maxMs: 5000, multiplier: 2, jitter: 0 };
const jittered: BackoffPolicy = { initialMs: 100, maxMs: 5000, multiplier: 2, jitter: 0.2 };

describe("backoffDelayMs", () => {
  it.each([
    { attempt: 1, policy: noJitter, random: 0.5, want: 100 },
    { attempt: 2, policy: noJitter, random: 0.5, want: 200 },
    { attempt: 3, policy: noJitter, random: 0.5, want: 400 },
    { attempt: 6, policy: noJitter, random: 0.5, want: 3200 },
    { attempt: 7, policy: noJitter, random: 0.5, want: 5000 }, // 6400 capped at maxMs
    { attempt: 50, policy: noJitter, random: 0.5, want: 5000 },
    { attempt: 0, policy: noJitter, random: 0.5, want: 100 }, // attempts below 1 count as the first
    { attempt: -3, policy: noJitter, random: 0.5, want: 100 },
    { attempt: 1, policy: jittered, random: 0.5, want: 100 }, // random 0.5 is the middle: no spread
    { attempt: 1, policy: jittered, random: 0, want: 80 }, // -20 %
    { attempt: 1, policy: jittered, random: 0.999999, want: 120 }, // just under +20 %
    { attempt: 3, policy: jittered, random: 0, want: 320 },
    { attempt: 10, policy: jittered, random: 0, want: 4000 }, // jitter applies to the capped delay
    { attempt: 2, policy: { initialMs: 50, maxMs: 1000, multiplier: 3, jitter: 0 }, random: 0.1, want: 150 },
    { attempt: 1, policy: { initialMs: 10, maxMs: 1000, multiplier: 2, jitter: 2 }, random: 0, want: 0 }, // never negative
  ])("attempt $attempt, random $random → $want ms", ({ attempt, policy, random, want }) => {
    expect(backoffDelayMs(attempt, policy, random)).toBe(want);
  });

  it("stays within ±jitter of the base delay for any random value", () => {
    for (let i = 0; i <= 100; i++) {
      const r = i / 101;
      const d = backoffDelayMs(4, jittered, r);
      expect(d).toBeGreaterThanOrEqual(640);
      expect(d).toBeLessThanOrEqual(960);
    }
  });

  it("grows monotonically without jitter until the cap", () => {
    const delays = Array.from({ length: 10 }, (_, i) => backoffDelayMs(i + 1, noJitter, 0.5));
    for (let i = 1; i < delays.length; i++) expect(delays[i]).toBeGreaterThanOrEqual(delays[i - 1]);
    expect(delays.at(-1)).toBe(noJitter.maxMs);
  });
});
