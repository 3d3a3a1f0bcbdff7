import { describe, expect, it } from "vitest";
import { newId } from "../../src/protocol/ids.js";

describe("newId", () => {
  it("makes UUID v4 strings", () => {
    for (let i = 0; i < 2000; i++) expect(newId()).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it("never repeats, across many refills of its random pool", () => {
    const ids = new Set<string>();
    for (let i = 0; i < 100_000; i++) ids.add(newId());
    expect(ids.size).toBe(100_000);
  });

  it("uses every hex digit in every random position", () => {
    const seen = Array.from({ length: 36 }, () => new Set<string>());
    for (let i = 0; i < 5000; i++) [...newId()].forEach((c, at) => seen[at].add(c));
    const sizes = seen.map((s) => s.size);
    for (const at of [8, 13, 18, 23]) expect(sizes[at]).toBe(1); // the dashes
    expect(sizes[14]).toBe(1); // the version
    expect(sizes[19]).toBe(4); // the variant: 8, 9, a, b
    for (let at = 0; at < 36; at++) if (![8, 13, 14, 18, 19, 23].includes(at)) expect(sizes[at]).toBe(16);
  });
});
