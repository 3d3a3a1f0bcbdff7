import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { AgentInfoSchema, MemberStatus, MemberUpdateSchema, type MemberUpdate } from "../../gen/agentmesh/v1/membership_pb.js";
import { BroadcastQueue, retransmitLimit } from "../../src/membership/broadcast-queue.js";

/** An update about member `id` (its incarnation tells versions apart). */
function update(id: string, incarnation = 0, status = MemberStatus.ALIVE): MemberUpdate {
  return create(MemberUpdateSchema, { agent: create(AgentInfoSchema, { id, incarnation: BigInt(incarnation), status }), reporter: "r" });
}

const names = (us: MemberUpdate[]) => us.map((u) => `${u.agent?.id}@${u.agent?.incarnation}`);

describe("retransmitLimit: mult × ceil(log10(n + 1))", () => {
  it.each([
    // mult, n, expected
    [4, 1, 4],
    [4, 5, 4],
    [4, 9, 4],
    [4, 10, 8],
    [4, 99, 8],
    [4, 100, 12],
    [4, 1000, 16],
    [3, 1000, 12],
    [1, 2, 1],
  ])("mult %d, n %d → %d", (mult, n, expected) => {
    expect(retransmitLimit(mult, n)).toBe(expected);
  });
});

describe("BroadcastQueue", () => {
  it("hands out the least transmitted first", () => {
    const q = new BroadcastQueue();
    q.push(update("a"));
    q.push(update("b"));
    expect(names(q.take(1, 10))).toEqual(["b@0"]);
    expect(names(q.take(1, 10))).toEqual(["a@0"]); // sent 0 times beats sent once
    q.push(update("c"));
    const next = names(q.take(3, 10));
    expect(next[0]).toBe("c@0"); // never sent: first
    expect([...next.slice(1)].sort()).toEqual(["a@0", "b@0"]);
    expect(q.size).toBe(3);
  });

  it("hands out the newest first among updates not sent yet", () => {
    const q = new BroadcastQueue();
    for (const id of ["a", "b", "c", "d"]) q.push(update(id));
    expect(names(q.take(2, 10))).toEqual(["d@0", "c@0"]);
    q.push(update("e"));
    expect(names(q.take(3, 10))).toEqual(["e@0", "b@0", "a@0"]);
  });

  it("sends each of the updates sent equally often once before any of them again", () => {
    const q = new BroadcastQueue();
    for (const id of ["a", "b", "c", "d", "e"]) q.push(update(id));
    const rounds: string[][] = [];
    for (let i = 0; i < 6; i++) rounds.push(names(q.take(5, 10)).sort());
    for (const r of rounds) expect(r).toEqual(["a@0", "b@0", "c@0", "d@0", "e@0"]);
    // Two at a time: the ten sends of two rounds cover everyone twice, and nobody a third time before all had two.
    const q2 = new BroadcastQueue();
    for (const id of ["a", "b", "c", "d", "e"]) q2.push(update(id));
    const sent = new Map<string, number>();
    for (let i = 0; i < 5; i++) {
      for (const u of q2.take(2, 10)) sent.set(u.agent?.id ?? "", (sent.get(u.agent?.id ?? "") ?? 0) + 1);
      const counts = [...sent.values()];
      expect(Math.max(...counts) - Math.min(...counts, ...(sent.size < 5 ? [0] : []))).toBeLessThanOrEqual(1);
    }
    expect([...sent.values()]).toEqual([2, 2, 2, 2, 2]);
  });

  it("replaces a pending update about the same member, which goes back to zero transmits", () => {
    const q = new BroadcastQueue();
    q.push(update("a", 1));
    q.push(update("b", 1));
    expect(names(q.take(2, 10))).toEqual(["b@1", "a@1"]);
    q.push(update("a", 2, MemberStatus.SUSPECT));
    expect(q.size).toBe(2);
    const next = q.take(10, 10);
    expect(names(next)).toEqual(["a@2", "b@1"]);
    expect(next[0].agent?.status).toBe(MemberStatus.SUSPECT);
    // The replaced update is gone for good.
    for (let i = 0; i < 20; i++) for (const u of q.take(10, 10)) expect(`${u.agent?.id}@${u.agent?.incarnation}`).not.toBe("a@1");
  });

  it("drops an update once sent `limit` times", () => {
    const q = new BroadcastQueue();
    q.push(update("a"));
    const sent: string[] = [];
    for (let i = 0; i < 10; i++) sent.push(...names(q.take(5, 3)));
    expect(sent).toEqual(["a@0", "a@0", "a@0"]);
    expect(q.size).toBe(0);
    expect(q.take(5, 3)).toEqual([]);
  });

  it("uses the limit of the moment: a smaller limit drops what was sent that often already", () => {
    const q = new BroadcastQueue();
    q.push(update("a"));
    q.take(1, 8);
    q.take(1, 8);
    expect(q.size).toBe(1);
    expect(names(q.take(1, 2))).toEqual(["a@0"]); // third send, over the new limit of 2: the last
    expect(q.size).toBe(0);
  });

  it("takes at most `max`, and nothing from an empty queue", () => {
    const q = new BroadcastQueue();
    expect(q.take(4, 4)).toEqual([]);
    for (let i = 0; i < 10; i++) q.push(update(`m${i}`));
    expect(q.take(4, 4)).toHaveLength(4);
    expect(q.take(0, 4)).toEqual([]);
    expect(q.size).toBe(10);
  });

  it("sends every one of many updates `limit` times, none more", () => {
    const q = new BroadcastQueue();
    const counts = new Map<string, number>();
    for (let i = 0; i < 100; i++) q.push(update(`m${i}`));
    for (let round = 0; q.size > 0 && round < 1000; round++) {
      if (round % 7 === 0) q.push(update(`late${round}`));
      for (const u of q.take(16, 4)) counts.set(u.agent?.id ?? "", (counts.get(u.agent?.id ?? "") ?? 0) + 1);
    }
    expect(q.size).toBe(0);
    for (const [id, n] of counts) expect([id, n]).toEqual([id, 4]);
    expect(counts.size).toBeGreaterThanOrEqual(100);
  });
});
