import { clone, create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { AgentInfoSchema, MemberStatus, MemberUpdateSchema, type AgentInfo, type MemberUpdate } from "../../gen/agentmesh/v1/membership_pb.js";
import { BroadcastQueue } from "../../src/membership/broadcast-queue.js";
import { swimConfig, type SwimConfig } from "../../src/membership/config.js";
import { compareLife, isGone, MemberList } from "../../src/membership/member-list.js";
import { silentLogger } from "../../src/protocol/logger.js";
import { ManualClock } from "../helpers/manual-clock.js";

const { ALIVE, SUSPECT, DEAD, LEFT } = MemberStatus;

interface AgentSpec {
  started?: number;
  inc?: number;
  version?: number;
  address?: string;
  capabilities?: string[];
}

/** Member `id`'s info; by default its life started at 2000 ms, incarnation 0, version 0. */
function agent(id: string, { started = 2000, inc = 0, version = 0, address = `mem:${id}`, capabilities = [] }: AgentSpec = {}): AgentInfo {
  return create(AgentInfoSchema, { id, address, startedAtMs: BigInt(started), incarnation: BigInt(inc), version: BigInt(version), capabilities, status: ALIVE });
}

/** A claim that `info` has `status`, from `reporter`. */
function claim(info: AgentInfo, status: MemberStatus, reporter = ""): MemberUpdate {
  const a = clone(AgentInfoSchema, info);
  a.status = status;
  return create(MemberUpdateSchema, { agent: a, reporter });
}

/** A MemberList for agent "self" on a manual clock, recording events and what it queued for dissemination. */
function setup(overrides: Partial<SwimConfig> = {}) {
  const clock = new ManualClock();
  const self = agent("self", { started: 1000 });
  const broadcasts = new BroadcastQueue();
  const events: string[] = [];
  let refutations = 0;
  const forgotten: string[] = [];
  const list = new MemberList({
    self: () => self,
    config: swimConfig(overrides),
    clock,
    broadcasts,
    logger: silentLogger,
    onEvent: (e) => events.push(e.t === "leave" ? `leave:${e.agent.id}:${e.reason}` : `${e.t}:${e.agent.id}`),
    onRefute: () => refutations++,
    onForget: (info) => forgotten.push(`${info.id}:${MemberStatus[info.status]}`),
  });
  return {
    clock,
    self,
    list,
    events,
    refutations: () => refutations,
    forgotten,
    status: (id: string) => list.get(id)?.info.status,
    incarnation: (id: string) => list.get(id)?.info.incarnation,
    /** What was queued for dissemination since the last call: "id:STATUS@incarnation". */
    queued: () => broadcasts.take(1000, 1).map((u) => `${u.agent?.id}:${MemberStatus[u.agent?.status ?? 0]}@${u.agent?.incarnation}`),
    /** Applies claims as if gossiped by `from`. */
    gossip: (from: string, ...updates: MemberUpdate[]) => {
      for (const u of updates) list.apply(u, from);
    },
  };
}

describe("compareLife: by started_at_ms, then incarnation", () => {
  it.each([
    // [started, inc] of a, of b, sign
    [[2000, 0], [2000, 0], 0],
    [[2000, 1], [2000, 0], 1],
    [[2000, 0], [2000, 3], -1],
    [[3000, 0], [2000, 9], 1], // a restart beats any incarnation of the old life
    [[2000, 9], [3000, 0], -1],
  ] as const)("%j vs %j → %d", ([sa, ia], [sb, ib], sign) => {
    expect(Math.sign(compareLife(agent("x", { started: sa, inc: ia }), agent("x", { started: sb, inc: ib })))).toBe(sign);
  });

  it("counts dead and left as gone, alive and suspect as not", () => {
    expect([ALIVE, SUSPECT, DEAD, LEFT].map(isGone)).toEqual([false, false, true, true]);
  });
});

describe("MemberList", () => {
  it("adds a member from an alive claim: a join, counted in n, queued for dissemination", () => {
    const t = setup();
    expect(t.list.n).toBe(1);
    t.gossip("b", claim(agent("a"), ALIVE));
    expect(t.status("a")).toBe(ALIVE);
    expect(t.events).toEqual(["join:a"]);
    expect(t.list.n).toBe(2);
    expect(t.list.live().map((r) => r.info.id)).toEqual(["a"]);
    expect(t.queued()).toEqual(["a:ALIVE@0"]);
    // The same claim again changes nothing.
    t.gossip("c", claim(agent("a"), ALIVE));
    expect(t.events).toEqual(["join:a"]);
    expect(t.queued()).toEqual([]);
  });

  it("treats an unspecified status as alive, and ignores claims without an id or an address, and alive claims about itself", () => {
    const t = setup();
    t.gossip("b", claim(agent("a"), MemberStatus.UNSPECIFIED));
    expect(t.status("a")).toBe(ALIVE);
    t.gossip("b", claim(agent("", {}), ALIVE), claim(agent("noaddr", { address: "" }), ALIVE), claim(agent("self", { started: 1000, inc: 7 }), ALIVE));
    t.list.apply(create(MemberUpdateSchema, {}), "b");
    expect(t.list.all().map((r) => r.info.id)).toEqual(["a"]);
    expect(t.self.incarnation).toBe(0n);
    expect(t.events).toEqual(["join:a"]);
  });

  it("ignores suspect and dead claims about members it never heard of (only a leave is remembered)", () => {
    const t = setup();
    t.gossip("b", claim(agent("x"), SUSPECT), claim(agent("y"), DEAD));
    expect(t.list.all()).toEqual([]);
    expect(t.events).toEqual([]);
  });

  it("ignores claims of an older incarnation", () => {
    const t = setup();
    t.gossip("b", claim(agent("a", { inc: 2 }), ALIVE));
    t.queued();
    t.gossip("b", claim(agent("a", { inc: 1 }), SUSPECT), claim(agent("a", { inc: 1 }), DEAD), claim(agent("a", { inc: 1, version: 9 }), ALIVE));
    expect(t.status("a")).toBe(ALIVE);
    expect(t.incarnation("a")).toBe(2n);
    expect(t.events).toEqual(["join:a"]);
    expect(t.queued()).toEqual([]);
  });

  it("lets suspect beat alive at the same incarnation, and alive of a higher incarnation beat suspect", () => {
    const t = setup();
    t.gossip("b", claim(agent("a", { inc: 3 }), ALIVE));
    t.queued();
    t.gossip("b", claim(agent("a", { inc: 3 }), SUSPECT));
    expect(t.status("a")).toBe(SUSPECT);
    expect(t.list.n).toBe(2); // a suspect member is still counted
    expect(t.queued()).toEqual(["a:SUSPECT@3"]);
    // An alive claim of the same incarnation (even a newer version) does not clear the suspicion.
    t.gossip("c", claim(agent("a", { inc: 3, version: 5 }), ALIVE));
    expect(t.status("a")).toBe(SUSPECT);
    // Its refutation does.
    t.gossip("a", claim(agent("a", { inc: 4 }), ALIVE));
    expect(t.status("a")).toBe(ALIVE);
    expect(t.incarnation("a")).toBe(4n);
    expect(t.events).toEqual(["join:a", "update:a", "update:a"]);
    expect(t.queued()).toEqual(["a:ALIVE@4"]);
  });

  it("lets dead and left beat alive and suspect at the same incarnation", () => {
    const t = setup();
    t.gossip("x", claim(agent("a"), ALIVE), claim(agent("b"), ALIVE));
    t.gossip("x", claim(agent("a"), DEAD));
    t.gossip("x", claim(agent("b"), SUSPECT), claim(agent("b"), LEFT));
    expect([t.status("a"), t.status("b")]).toEqual([DEAD, LEFT]);
    expect(t.list.n).toBe(1);
    expect(t.list.live()).toEqual([]);
    expect(t.events).toEqual(["join:a", "join:b", "leave:a:dead", "update:b", "leave:b:left"]);
    // Gone stays gone at that incarnation: neither alive nor suspect of it revives the member.
    t.gossip("x", claim(agent("a"), ALIVE), claim(agent("a"), SUSPECT), claim(agent("b", { version: 3 }), ALIVE));
    expect([t.status("a"), t.status("b")]).toEqual([DEAD, LEFT]);
  });

  it("brings a dead member back on an alive claim of a higher incarnation (a join)", () => {
    const t = setup();
    t.gossip("x", claim(agent("a", { inc: 1 }), ALIVE), claim(agent("a", { inc: 1 }), DEAD));
    t.gossip("a", claim(agent("a", { inc: 2 }), ALIVE));
    expect(t.status("a")).toBe(ALIVE);
    expect(t.list.n).toBe(2);
    expect(t.events).toEqual(["join:a", "leave:a:dead", "join:a"]);
  });

  it("updates an alive member's info from a newer version of the same incarnation, and only then", () => {
    const t = setup();
    t.gossip("x", claim(agent("a", { version: 2, capabilities: ["x"] }), ALIVE));
    t.queued();
    t.gossip("x", claim(agent("a", { version: 2, capabilities: ["stale"] }), ALIVE), claim(agent("a", { version: 1, capabilities: ["older"] }), ALIVE));
    expect(t.list.get("a")?.info.capabilities).toEqual(["x"]);
    t.gossip("a", claim(agent("a", { version: 3, capabilities: ["x", "y"] }), ALIVE));
    expect(t.list.get("a")?.info.capabilities).toEqual(["x", "y"]);
    expect(t.list.get("a")?.info.version).toBe(3n);
    expect(t.events).toEqual(["join:a", "update:a"]);
    expect(t.queued()).toEqual(["a:ALIVE@0"]);
  });

  it("refutes a suspicion about itself by raising its incarnation above the claim, and spreads the news", () => {
    const t = setup();
    t.gossip("b", claim(t.self, SUSPECT));
    expect(t.self.incarnation).toBe(1n);
    expect(t.refutations()).toBe(1);
    expect(t.queued()).toEqual(["self:ALIVE@1"]);
    // A claim of a higher incarnation (someone heard of a later refutation) is outbid too.
    t.gossip("b", claim(agent("self", { started: 1000, inc: 5 }), DEAD));
    expect(t.self.incarnation).toBe(6n);
    expect(t.queued()).toEqual(["self:ALIVE@6"]);
    // A stale claim, or one about a former life of this agent, needs no answer.
    t.gossip("b", claim(agent("self", { started: 1000, inc: 2 }), SUSPECT), claim(agent("self", { started: 500, inc: 9 }), DEAD));
    expect(t.self.incarnation).toBe(6n);
    expect(t.refutations()).toBe(2);
    expect(t.list.get("self")).toBeUndefined(); // it never lists itself
    expect(t.events).toEqual([]);
  });

  it("does not refute claims that it left once it is leaving", () => {
    const t = setup();
    t.list.leaving = true;
    t.gossip("b", claim(t.self, LEFT), claim(t.self, DEAD));
    expect(t.self.incarnation).toBe(0n);
    expect(t.refutations()).toBe(0);
  });

  it("takes a death learned from a push-pull as a suspicion only; a gossiped one as a death", () => {
    const t = setup();
    t.gossip("x", claim(agent("a"), ALIVE), claim(agent("b"), ALIVE));
    t.list.apply(claim(agent("a"), DEAD), "x", true);
    t.list.apply(claim(agent("b"), DEAD), "x", false);
    expect(t.status("a")).toBe(SUSPECT);
    expect(t.status("b")).toBe(DEAD);
    // A push-pull saying this agent is dead makes it refute.
    t.list.apply(claim(t.self, DEAD), "x", true);
    expect(t.self.incarnation).toBe(1n);
  });

  it("remembers a leave, so stale alive claims of the same life do not revive the member", () => {
    const t = setup();
    // Known member.
    t.gossip("x", claim(agent("a", { inc: 2 }), ALIVE));
    t.gossip("a", claim(agent("a", { inc: 2 }), LEFT));
    t.gossip("y", claim(agent("a", { inc: 2 }), ALIVE), claim(agent("a", { inc: 1 }), ALIVE), claim(agent("a", { inc: 2, version: 9 }), ALIVE));
    expect(t.status("a")).toBe(LEFT);
    // Unknown member: the leave arrives before anything else about it.
    t.gossip("y", claim(agent("b", { inc: 1 }), LEFT));
    expect(t.status("b")).toBe(LEFT);
    t.gossip("z", claim(agent("b", { inc: 1 }), ALIVE));
    expect(t.status("b")).toBe(LEFT);
    expect(t.list.n).toBe(1);
    expect(t.events).toEqual(["join:a", "leave:a:left"]);
  });

  it("lets a restarted agent (newer started_at_ms) replace its dead or left former self", () => {
    const t = setup();
    t.gossip("x", claim(agent("a", { started: 2000, inc: 7 }), ALIVE), claim(agent("a", { started: 2000, inc: 7 }), DEAD));
    t.gossip("x", claim(agent("b", { started: 2000, inc: 3 }), LEFT));
    t.gossip("a", claim(agent("a", { started: 5000, inc: 0, address: "mem:a2" }), ALIVE));
    t.gossip("b", claim(agent("b", { started: 5000, inc: 0 }), ALIVE));
    expect([t.status("a"), t.status("b")]).toEqual([ALIVE, ALIVE]);
    expect(t.list.get("a")?.info.address).toBe("mem:a2");
    expect(t.list.get("a")?.info.startedAtMs).toBe(5000n);
    expect(t.list.n).toBe(3);
    expect(t.events).toEqual(["join:a", "leave:a:dead", "join:a", "join:b"]);
    // Claims about the old life no longer matter.
    t.gossip("x", claim(agent("a", { started: 2000, inc: 99 }), DEAD));
    expect(t.status("a")).toBe(ALIVE);
  });

  it("forgets gone members deadRetentionMs after they went, never live ones", () => {
    const t = setup({ deadRetentionMs: 10_000 });
    t.gossip("x", claim(agent("a"), ALIVE), claim(agent("b"), ALIVE), claim(agent("c"), ALIVE));
    t.gossip("x", claim(agent("a"), DEAD));
    t.clock.advance(5000);
    t.gossip("x", claim(agent("b"), LEFT));
    t.clock.advance(5000);
    t.list.reap();
    expect(t.list.all().map((r) => r.info.id).sort()).toEqual(["a", "b", "c"]);
    t.clock.advance(1);
    t.list.reap();
    expect(t.list.all().map((r) => r.info.id).sort()).toEqual(["b", "c"]);
    t.clock.advance(5000);
    t.list.reap();
    expect(t.list.all().map((r) => r.info.id)).toEqual(["c"]);
    t.clock.advance(1_000_000);
    t.list.reap();
    expect(t.list.all().map((r) => r.info.id)).toEqual(["c"]);
    expect(t.list.n).toBe(2);
    expect(t.forgotten).toEqual(["a:DEAD", "b:LEFT"]); // each reported once, as it went
  });

  it("does not forget a member that came back before its retention ran out", () => {
    const t = setup({ deadRetentionMs: 10_000 });
    t.gossip("x", claim(agent("a"), ALIVE), claim(agent("a"), DEAD));
    t.clock.advance(5000);
    t.gossip("a", claim(agent("a", { inc: 1 }), ALIVE));
    t.clock.advance(20_000);
    t.list.reap();
    expect(t.status("a")).toBe(ALIVE);
    expect(t.forgotten).toEqual([]);
  });

  it("records when a member was last heard from", () => {
    const t = setup();
    t.gossip("x", claim(agent("a"), ALIVE));
    expect(t.list.get("a")?.lastSeenMs).toBe(0);
    t.clock.advance(250);
    t.list.seen("a");
    t.list.seen("nobody");
    expect(t.list.get("a")?.lastSeenMs).toBe(t.clock.now());
  });

  describe("suspicion timeout", () => {
    // n = 5 (self and four): min = 4 × max(1, log10 5) × 200 = 800 ms, max = 2 × 800, k = min(4 - 2, 5 - 2) = 2.
    const config: Partial<SwimConfig> = { probeIntervalMs: 200, suspicionMult: 4, suspicionMaxTimeoutMult: 2, suspicionFloorMs: 0 };
    function fiveMembers() {
      const t = setup(config);
      for (const id of ["a", "b", "c", "d"]) t.gossip("x", claim(agent(id), ALIVE));
      t.events.length = 0;
      t.queued();
      return t;
    }

    it("declares a suspect dead after the maximum when nobody confirms", () => {
      const t = fiveMembers();
      t.gossip("b", claim(agent("a"), SUSPECT));
      t.clock.advance(1599);
      expect(t.status("a")).toBe(SUSPECT);
      t.clock.advance(1);
      expect(t.status("a")).toBe(DEAD);
      expect(t.list.n).toBe(4);
      expect(t.events).toEqual(["update:a", "leave:a:dead"]);
      expect(t.queued()).toEqual(["a:DEAD@0"]);
    });

    it("shortens the timeout with each independent confirmation, down to the minimum", () => {
      const t = fiveMembers();
      t.gossip("b", claim(agent("a"), SUSPECT));
      t.clock.advance(100);
      t.gossip("b", claim(agent("a"), SUSPECT)); // the same suspector again: no confirmation
      t.gossip("c", claim(agent("a"), SUSPECT)); // 1600 - 800 × log 2 / log 3 = 1095 ms
      t.clock.advance(994);
      expect(t.status("a")).toBe(SUSPECT);
      t.clock.advance(1);
      expect(t.status("a")).toBe(DEAD);

      const u = fiveMembers();
      u.gossip("b", claim(agent("a"), SUSPECT));
      u.gossip("c", claim(agent("a"), SUSPECT));
      u.gossip("d", claim(agent("a"), SUSPECT)); // two confirmations: the minimum
      expect(u.list.get("a")?.suspicion?.confirmations).toBe(2);
      u.clock.advance(799);
      expect(u.status("a")).toBe(SUSPECT);
      u.clock.advance(1);
      expect(u.status("a")).toBe(DEAD);
    });

    it("re-disseminates a new confirmation, not a repeated one", () => {
      const t = fiveMembers();
      t.gossip("b", claim(agent("a"), SUSPECT));
      expect(t.queued()).toEqual(["a:SUSPECT@0"]);
      t.gossip("b", claim(agent("a"), SUSPECT));
      expect(t.queued()).toEqual([]);
      t.gossip("c", claim(agent("a"), SUSPECT));
      expect(t.queued()).toEqual(["a:SUSPECT@0"]);
    });

    it("counts the reporter named in the update, not the member that relayed it", () => {
      const t = fiveMembers();
      t.gossip("b", claim(agent("a"), SUSPECT, "c"));
      t.gossip("d", claim(agent("a"), SUSPECT, "c")); // c's suspicion relayed by d: not independent
      expect(t.list.get("a")?.suspicion?.confirmations).toBe(0);
      t.gossip("d", claim(agent("a"), SUSPECT, "d"));
      expect(t.list.get("a")?.suspicion?.confirmations).toBe(1);
    });

    it("is cancelled by a refutation: the member stays alive", () => {
      const t = fiveMembers();
      t.gossip("b", claim(agent("a"), SUSPECT));
      t.clock.advance(1000);
      t.gossip("a", claim(agent("a", { inc: 1 }), ALIVE));
      t.clock.advance(10_000);
      expect(t.status("a")).toBe(ALIVE);
      expect(t.events).toEqual(["update:a", "update:a"]);
    });

    it("restarts for a suspicion of a newer incarnation", () => {
      const t = fiveMembers();
      t.gossip("b", claim(agent("a"), SUSPECT));
      t.clock.advance(1000);
      t.gossip("c", claim(agent("a", { inc: 1 }), SUSPECT));
      expect(t.incarnation("a")).toBe(1n);
      t.clock.advance(1599);
      expect(t.status("a")).toBe(SUSPECT);
      t.clock.advance(1);
      expect(t.status("a")).toBe(DEAD);
      expect(t.incarnation("a")).toBe(1n);
    });

    it("has no timer left once the member is dead or the list is cleared", () => {
      const t = fiveMembers();
      t.gossip("b", claim(agent("a"), SUSPECT), claim(agent("c"), SUSPECT));
      t.gossip("x", claim(agent("a"), DEAD));
      t.list.clear();
      t.gossip("d", claim(agent("c"), SUSPECT)); // arrives after the stop
      t.clock.advance(10_000);
      expect(t.status("c")).toBe(SUSPECT);
      expect(t.clock.pendingTimers).toBe(0);
    });
  });

  it("does not bring a dead member back on a suspicion of a higher incarnation (only alive claims revive)", () => {
    const t = setup();
    t.gossip("x", claim(agent("a"), ALIVE), claim(agent("b"), ALIVE));
    t.gossip("x", claim(agent("a"), DEAD));
    expect(t.list.n).toBe(2);
    t.gossip("y", claim(agent("a", { inc: 1 }), SUSPECT));
    t.list.apply(claim(agent("a", { inc: 2 }), DEAD), "y", true); // a push-pull's death: a suspicion
    expect(t.status("a")).toBe(DEAD);
    expect(t.list.n).toBe(2);
    expect(t.list.live().map((r) => r.info.id)).toEqual(["b"]);
    expect(t.events).toEqual(["join:a", "join:b", "leave:a:dead"]);
    // Its alive claim does bring it back, and the count stays right when it dies again.
    t.gossip("a", claim(agent("a", { inc: 3 }), ALIVE));
    expect(t.list.n).toBe(3);
    t.gossip("x", claim(agent("a", { inc: 3 }), DEAD));
    expect(t.list.n).toBe(2);
  });
});
