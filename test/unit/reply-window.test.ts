/**
 * ReplyWindow (reply-window.ts): the dedupe window of the mesh bus, with ids and replies kept as bytes. Same
 * contract as DedupeWindow: the last `capacity` ids, the oldest forgotten first, each request's reply kept.
 */
import { describe, expect, it } from "vitest";
import { ReplyWindow } from "../../src/bus/reply-window.js";
import { newId } from "../../src/protocol/ids.js";
import { seededRandom } from "../../src/protocol/random.js";

const bytes = (...b: number[]) => Uint8Array.from(b);

describe("ReplyWindow", () => {
  it("reports a new id once, then as seen, with its reply once set (copied in and out)", () => {
    const w = new ReplyWindow(10);
    expect(w.check("m1")).toBeUndefined();
    expect(w.check("m1")).toEqual({ reply: undefined });
    const reply = bytes(1, 2, 3);
    w.setReply("m1", reply);
    reply[0] = 9; // the window kept a copy
    const seen = w.check("m1");
    expect([...(seen?.reply ?? [])]).toEqual([1, 2, 3]);
    if (seen?.reply !== undefined) seen.reply[1] = 9; // and hands out a copy
    expect([...(w.check("m1")?.reply ?? [])]).toEqual([1, 2, 3]);
    w.setReply("ghost", bytes(1));
    expect(w.size).toBe(1);
  });

  it("keeps long ids, non-ASCII ids and long replies too", () => {
    const w = new ReplyWindow(4);
    const longId = "x".repeat(300);
    const big = Uint8Array.from({ length: 5000 }, (_, i) => i & 0xff);
    for (const id of [longId, "é-id", "🙂"]) {
      expect(w.check(id)).toBeUndefined();
      w.setReply(id, big);
      expect([...(w.check(id)?.reply ?? [])]).toEqual([...big]);
    }
    // A short reply replaces a long one (and the other way round).
    w.setReply(longId, bytes(7));
    expect([...(w.check(longId)?.reply ?? [])]).toEqual([7]);
  });

  it("keeps replies up to its reply size in place and longer ones apart, either way intact", () => {
    const w = new ReplyWindow(3, 8);
    const eight = bytes(1, 2, 3, 4, 5, 6, 7, 8);
    const nine = bytes(9, 8, 7, 6, 5, 4, 3, 2, 1);
    for (const [id, reply] of [["a", eight], ["b", nine], ["c", eight]] as const) {
      w.check(id);
      w.setReply(id, reply);
    }
    expect([...(w.check("a")?.reply ?? [])]).toEqual([...eight]);
    expect([...(w.check("b")?.reply ?? [])]).toEqual([...nine]);
    expect([...(w.check("c")?.reply ?? [])]).toEqual([...eight]);
  });

  it("remembers nothing with capacity 0", () => {
    const w = new ReplyWindow(0);
    expect(w.check("a")).toBeUndefined();
    expect(w.check("a")).toBeUndefined();
    expect(w.size).toBe(0);
  });

  it("matches a FIFO model of the last `capacity` ids and their replies over many laps", () => {
    const random = seededRandom(33);
    const pool = Array.from({ length: 2500 }, (_, i) => (i % 3 === 0 ? newId() : i % 3 === 1 ? `req-${i}` : `${"long-".repeat(10)}${i}`));
    const w = new ReplyWindow(700);
    const queue: string[] = [];
    const replies = new Map<string, number[]>();
    for (let step = 0; step < 40_000; step++) {
      const id = pool[Math.floor(random() * pool.length)];
      const seen = w.check(id);
      if (queue.includes(id)) {
        expect(seen).toBeDefined();
        expect(seen?.reply === undefined ? undefined : [...seen.reply]).toEqual(replies.get(id));
      } else {
        expect(seen).toBeUndefined();
        queue.push(id);
        if (queue.length > 700) replies.delete(queue.shift() as string);
        if (random() < 0.6) {
          const reply = Array.from({ length: random() < 0.05 ? 300 : Math.floor(random() * 40) }, () => Math.floor(random() * 256));
          w.setReply(id, Uint8Array.from(reply));
          replies.set(id, reply);
        }
      }
    }
    expect(w.size).toBe(700);
  });
});
