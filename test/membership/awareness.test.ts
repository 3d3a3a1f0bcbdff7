import { describe, expect, it } from "vitest";
import { Awareness } from "../../src/membership/awareness.js";

describe("Awareness (Lifeguard local health)", () => {
  it("starts healthy and scales nothing", () => {
    const a = new Awareness(8);
    expect(a.value).toBe(0);
    expect(a.scale(100)).toBe(100);
  });

  it("scales timeouts by score + 1", () => {
    const a = new Awareness(8);
    a.apply(1);
    expect(a.scale(100)).toBe(200);
    a.apply(2);
    expect(a.value).toBe(3);
    expect(a.scale(100)).toBe(400);
    a.apply(-1);
    expect(a.scale(250)).toBe(750);
  });

  it("stays within [0, max - 1], so a timeout grows at most max times", () => {
    const a = new Awareness(8);
    for (let i = 0; i < 20; i++) a.apply(1);
    expect(a.value).toBe(7);
    expect(a.scale(100)).toBe(800);
    a.apply(-100);
    expect(a.value).toBe(0);
    a.apply(-1);
    expect(a.value).toBe(0);
    expect(a.scale(100)).toBe(100);
  });

  it.each([
    // max, deltas, expected score
    [1, [1, 1, 1], 0], // max 1: never scaled
    [2, [1, 1], 1],
    [4, [1, 1, -1, 1, 1, 1], 3],
    [8, [5, -2, 9], 7],
  ])("max %d after %j → %d", (max, deltas, expected) => {
    const a = new Awareness(max);
    for (const d of deltas) a.apply(d);
    expect(a.value).toBe(expected);
    expect(a.scale(10)).toBe(10 * (expected + 1));
  });
});
