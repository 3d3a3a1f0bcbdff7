import { describe, expect, it } from "vitest";
import { DedupeWindow } from "../../src/bus/dedupe.js";
import { newId } from "../../src/protocol/ids.js";
import { seededRandom } from "../../src/protocol/random.js";

describe("DedupeWindow", () => {
  it("reports a new id as unseen once, then as seen", () => {
    const w = new DedupeWindow<string>(10);
    expect(w.check("m1")).toBeUndefined();
    expect(w.check("m1")).toEqual({});
    expect(w.check("m2")).toBeUndefined();
    expect(w.size).toBe(2);
  });

  it("keeps the reply of a request for its duplicates", () => {
    const w = new DedupeWindow<string>(10);
    w.check("req");
    expect(w.check("req")?.reply).toBeUndefined(); // still running
    w.setReply("req", "the answer");
    expect(w.check("req")?.reply).toBe("the answer");
    expect(w.check("req")?.reply).toBe("the answer");
  });

  it("ignores a reply for an id it never saw (or forgot)", () => {
    const w = new DedupeWindow<string>(10);
    w.setReply("ghost", "x");
    expect(w.size).toBe(0);
    expect(w.check("ghost")).toBeUndefined();
  });

  it("holds at most `capacity` ids, forgetting the oldest first", () => {
    const w = new DedupeWindow<string>(3);
    for (const id of ["a", "b", "c", "d"]) w.check(id);
    expect(w.size).toBe(3);
    // "a" was forgotten: it counts as new again (and that evicts "b")
    expect(w.check("a")).toBeUndefined();
    expect(w.check("c")).toBeDefined();
    expect(w.check("d")).toBeDefined();
    expect(w.check("b")).toBeUndefined();
  });

  it("keeps replies of the ids it still holds while evicting others", () => {
    const w = new DedupeWindow<number>(2);
    w.check("x");
    w.setReply("x", 1);
    w.check("y");
    w.setReply("y", 2);
    w.check("z"); // evicts x
    expect(w.check("y")?.reply).toBe(2);
    expect(w.size).toBe(2);
  });

  it("remembers nothing with capacity 0", () => {
    const w = new DedupeWindow<number>(0);
    expect(w.check("a")).toBeUndefined();
    expect(w.check("a")).toBeUndefined();
    expect(w.size).toBe(0);
  });

  it("behaves like a FIFO of the last `capacity` new ids over many laps of its ring", () => {
    const random = seededRandom(9);
    const w = new DedupeWindow<number>(7);
    const model: string[] = [];
    for (let i = 0; i < 5000; i++) {
      const id = `m${Math.floor(random() * 12)}`;
      const known = model.includes(id);
      expect(w.check(id) !== undefined).toBe(known);
      if (!known) {
        model.push(id);
        if (model.length > 7) model.shift();
      }
      expect(w.size).toBe(model.length);
    }
  });

  it("stays bounded under many ids", () => {
    const w = new DedupeWindow<number>(100);
    for (let i = 0; i < 10_000; i++) w.check(`m${i}`);
    expect(w.size).toBe(100);
    expect(w.check("m9999")).toBeDefined();
    expect(w.check("m9899")).toBeUndefined();
  });

  it("matches a FIFO model with a large window, many ids and replies", () => {
    const random = seededRandom(21);
    const pool = Array.from({ length: 3000 }, (_, i) => (i % 2 === 0 ? newId() : `req-${i}`));
    const w = new DedupeWindow<number>(1000);
    const queue: string[] = [];
    const replies = new Map<string, number>();
    for (let step = 0; step < 50_000; step++) {
      const id = pool[Math.floor(random() * pool.length)];
      const seen = w.check(id);
      if (queue.includes(id)) {
        expect(seen).toBeDefined();
        expect(seen?.reply).toBe(replies.get(id));
      } else {
        expect(seen).toBeUndefined();
        queue.push(id);
        if (queue.length > 1000) replies.delete(queue.shift() as string);
        if (random() < 0.5) {
          w.setReply(id, step);
          replies.set(id, step);
        }
      }
    }
    expect(w.size).toBe(1000);
  });
});

