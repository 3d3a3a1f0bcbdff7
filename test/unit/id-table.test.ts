/** IdTable (id-table.ts) behaves like a Map of string ids, through growth and deletions in any order. */
import { describe, expect, it } from "vitest";
import { IdTable } from "../../src/bus/id-table.js";
import { newId } from "../../src/protocol/ids.js";
import { seededRandom } from "../../src/protocol/random.js";

describe("IdTable", () => {
  it("gets, sets, overwrites and deletes", () => {
    const t = new IdTable<number>();
    expect(t.get("a")).toBeUndefined();
    t.set("a", 1);
    t.set("b", 2);
    t.set("a", 3);
    expect([t.get("a"), t.get("b"), t.size]).toEqual([3, 2, 2]);
    expect(t.delete("a")).toBe(true);
    expect(t.delete("a")).toBe(false);
    expect([t.get("a"), t.has("b"), t.size]).toEqual([undefined, true, 1]);
  });

  it("matches a Map over a long random mix of operations, with colliding and arbitrary keys", () => {
    const random = seededRandom(5);
    const t = new IdTable<number>(8);
    const m = new Map<string, number>();
    // Few distinct keys, many sharing their ends (collisions in small tables), plus UUIDs.
    const pool = [...Array.from({ length: 40 }, (_, i) => `k${i % 7}-${"x".repeat(i % 5)}-${i}`), ...Array.from({ length: 40 }, () => newId())];
    for (let step = 0; step < 20_000; step++) {
      const key = pool[Math.floor(random() * pool.length)];
      const op = random();
      if (op < 0.45) {
        t.set(key, step);
        m.set(key, step);
      } else if (op < 0.8) {
        expect(t.delete(key)).toBe(m.delete(key));
      } else {
        expect(t.get(key)).toBe(m.get(key));
      }
      expect(t.size).toBe(m.size);
    }
    for (const key of pool) expect(t.get(key)).toBe(m.get(key));
    expect(t.values().sort((a, b) => a - b)).toEqual([...m.values()].sort((a, b) => a - b));
  });

  it("grows past its first capacity and keeps every entry", () => {
    const t = new IdTable<number>(8);
    const ids = Array.from({ length: 1000 }, () => newId());
    ids.forEach((id, i) => t.set(id, i));
    expect(t.size).toBe(1000);
    ids.forEach((id, i) => expect(t.get(id)).toBe(i));
  });
});
