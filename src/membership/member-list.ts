/**
 * The member list and the SWIM rules for claims about members. A claim is an AgentInfo with a status and
 * an incarnation, ordered by the member's life (started_at_ms: a restarted agent is a new life) and then
 * its incarnation:
 * - alive beats suspect/dead of an older incarnation; at the same incarnation suspect beats alive and
 *   dead/left beat both; a newer info version at the same incarnation updates an alive member's info;
 * - a claim that this node is suspect or dead is refuted by raising its own incarnation;
 * - suspicion runs a Lifeguard timer (suspicion.ts), then the member is declared dead.
 * Every accepted change is queued for dissemination and reported as a join, update or leave event. The last
 * time any message came from a member is kept (the source document's HeartbeatMonitor "last seen").
 * The list is built for thousands of members: records also sit in an array so a few random ones are drawn in
 * O(drawn), and gone members wait in a queue by the time they went, so forgetting them costs O(forgotten).
 */
import { clone, create } from "@bufbuild/protobuf";
import { AgentInfoSchema, MemberStatus, MemberUpdateSchema, type AgentInfo, type MemberUpdate } from "../../gen/agentmesh/v1/membership_pb.js";
import type { Clock } from "../protocol/clock.js";
import type { Logger } from "../protocol/logger.js";
import type { BroadcastQueue } from "./broadcast-queue.js";
import type { SwimConfig } from "./config.js";
import { expectedConfirmations, Suspicion, suspicionMinTimeoutMs } from "./suspicion.js";

/**
 * Infos made by copy() below, numbered in the order made: never mutated by this module once made, and handed out
 * with a "do not mutate" contract (members(), events, broadcasts). They are shared instead of cloned again — a
 * received claim that is such an info (an in-process simulation passes bodies by reference) is kept as it is, so a
 * simulated mesh of N nodes holds a few copies of each member's info, not N; and of two such copies of the same
 * claim the first made is kept, so the mesh settles on one. Infos decoded from the wire are never in this map:
 * they are cloned as always, and a real node's behaviour does not depend on it.
 */
const unchanging = new WeakMap<AgentInfo, number>();
let copiesMade = 0;

/** A change of membership. */
export type MembershipEvent =
  | { t: "join"; agent: AgentInfo }
  | { t: "update"; agent: AgentInfo }
  | { t: "leave"; agent: AgentInfo; reason: "left" | "dead" };

/** What is known of one member. */
export interface MemberRecord {
  /** Its info; `status` and `incarnation` are the membership view. */
  info: AgentInfo;
  /** When the status last changed, ms. */
  stateChangeMs: number;
  /** When any message last came from it, ms (0: never directly). */
  lastSeenMs: number;
  /** The running suspicion, while suspect. */
  suspicion?: Suspicion;
}

/** Orders two claims about one member by life, then incarnation: <0, 0, >0. */
export function compareLife(a: AgentInfo, b: AgentInfo): number {
  if (a.startedAtMs !== b.startedAtMs) return a.startedAtMs < b.startedAtMs ? -1 : 1;
  if (a.incarnation !== b.incarnation) return a.incarnation < b.incarnation ? -1 : 1;
  return 0;
}

/** True for statuses that count as gone. */
export function isGone(status: MemberStatus): boolean {
  return status === MemberStatus.DEAD || status === MemberStatus.LEFT;
}

/** Options of a MemberList. */
export interface MemberListOptions {
  /** This node's info (mutable: refutation raises its incarnation). */
  self: () => AgentInfo;
  /** Timers and multipliers. */
  config: SwimConfig;
  /** Time source. */
  clock: Clock;
  /** Dissemination queue. */
  broadcasts: BroadcastQueue;
  /** Where to log. */
  logger: Logger;
  /** Receives every membership event. */
  onEvent: (event: MembershipEvent) => void;
  /** Called when this node refuted a claim about itself (local health hint). */
  onRefute?: () => void;
  /** Called when a gone member is forgotten, deadRetentionMs after it went (to release what it still holds). */
  onForget?: (info: AgentInfo) => void;
}

/** Members and the rules that change them. */
export class MemberList {
  private readonly records = new Map<string, MemberRecord>();
  /** The records again, in no order, for random draws; `slot` maps an id to its index. */
  private readonly order: MemberRecord[] = [];
  private readonly slot = new Map<string, number>();
  /** Members as they went (dead or left), oldest first; an entry is stale when the record changed since. */
  private readonly gone: { record: MemberRecord; atMs: number }[] = [];
  private goneHead = 0;
  /** Members with status DEAD (not left), for the reconnect round. */
  private readonly deadById = new Map<string, MemberRecord>();
  /** The info every record holds now, for a check of "this very claim is held" that needs no record. */
  private readonly held = new Set<AgentInfo>();
  /** Every record's info, as infos() returns it; undefined after a change until asked again. */
  private infoList: AgentInfo[] | undefined;
  private liveCount = 0;
  /** True once this node is leaving: claims about it are no longer refuted. */
  leaving = false;

  /** Creates an empty list. */
  constructor(private readonly o: MemberListOptions) {}

  /** The record of `id`. */
  get(id: string): MemberRecord | undefined {
    return this.records.get(id);
  }

  /** Every record, gone members included. */
  all(): MemberRecord[] {
    return [...this.records.values()];
  }

  /** Every record's info, gone members included (what a push-pull sends); kept until the list changes: do not mutate. */
  infos(): readonly AgentInfo[] {
    this.infoList ??= this.order.map((r) => r.info);
    return this.infoList;
  }

  /** Members declared dead (not left), not yet forgotten. */
  deadMembers(): MemberRecord[] {
    return [...this.deadById.values()];
  }

  /** Members that are alive or suspect (not this node). */
  live(): MemberRecord[] {
    return this.all().filter((r) => !isGone(r.info.status));
  }

  /**
   * Up to `count` distinct records for which `accept` holds, chosen uniformly at random, in random order. Draws
   * random indices and rejects repeats and refused records, so picking a few of thousands costs O(count); when
   * draws keep failing (few records qualify) it falls back to filtering and shuffling the whole list.
   */
  sample(count: number, accept: (r: MemberRecord) => boolean, random: () => number): MemberRecord[] {
    const n = this.order.length;
    if (count <= 0 || n === 0) return [];
    if (count * 4 <= n) {
      const chosen = new Set<number>();
      const out: MemberRecord[] = [];
      for (let attempts = 0; out.length < count && attempts < count * 16; attempts++) {
        const i = Math.min(n - 1, Math.floor(random() * n));
        if (chosen.has(i)) continue;
        chosen.add(i);
        if (accept(this.order[i])) out.push(this.order[i]);
      }
      if (out.length === count) return out;
    }
    const pool = this.order.filter(accept);
    const take = Math.min(count, pool.length);
    for (let i = 0; i < take; i++) {
      const j = i + Math.min(pool.length - i - 1, Math.floor(random() * (pool.length - i)));
      [pool[i], pool[j]] = [pool[j], pool[i]];
    }
    return pool.slice(0, take);
  }

  /** Members counted for the formulas: live ones plus this node. */
  get n(): number {
    return this.liveCount + 1;
  }

  /** Records that a message came from `id` now. */
  seen(id: string): void {
    const r = this.records.get(id);
    if (r !== undefined) r.lastSeenMs = this.o.clock.now();
  }

  /** Applies a claim received from `from` (piggybacked, gossiped or in a push-pull). */
  apply(update: MemberUpdate, from: string, viaPushPull = false): void {
    const info = update.agent;
    if (info === undefined) return;
    this.applyInfo(info, update.reporter !== "" ? update.reporter : from, viaPushPull);
  }

  /** Applies the claim `info` made by `reporter` (as apply(), without wrapping it in a MemberUpdate first). */
  applyInfo(info: AgentInfo, reporter: string, viaPushPull = false): void {
    if (info.id === "") return;
    switch (info.status) {
      case MemberStatus.ALIVE:
      case MemberStatus.UNSPECIFIED:
        this.alive(info);
        break;
      case MemberStatus.SUSPECT:
        this.suspect(info, reporter);
        break;
      case MemberStatus.DEAD:
        // A death learned from a full list is only a suspicion here (memberlist's rule): it must be confirmed.
        if (viaPushPull) this.suspect(info, reporter);
        else this.dead(info, reporter, false);
        break;
      case MemberStatus.LEFT:
        this.dead(info, reporter, true);
        break;
    }
  }

  /** An alive claim. */
  alive(info: AgentInfo): void {
    const self = this.o.self();
    if (info.id === self.id) return; // only this node speaks for itself
    if (info.address === "") return;
    if (this.held.has(info)) return; // the very claim held (an in-process simulation shares infos): nothing new
    const current = this.records.get(info.id);
    if (current === undefined) {
      const record: MemberRecord = { info: this.copy(info, MemberStatus.ALIVE), stateChangeMs: this.o.clock.now(), lastSeenMs: 0 };
      this.insert(record);
      this.liveCount++;
      this.queue(record.info, self.id);
      this.o.onEvent({ t: "join", agent: record.info });
      return;
    }
    const c = compareLife(info, current.info);
    if (c < 0) return;
    if (c === 0) {
      if (current.info.status !== MemberStatus.ALIVE) return;
      if (info.version < current.info.version) return;
      if (info.version === current.info.version) {
        // The same claim. Another copy made by this module (in-process only): hold the first made, so that
        // nodes sharing a process converge on one copy and later pushes of it take the `held` check above.
        const order = unchanging.get(info);
        if (order !== undefined && info.status === MemberStatus.ALIVE && order < (unchanging.get(current.info) ?? -1)) this.setInfo(current, info);
        return;
      }
      this.setInfo(current, this.copy(info, MemberStatus.ALIVE));
      this.queue(current.info, self.id);
      this.o.onEvent({ t: "update", agent: current.info });
      return;
    }
    const wasGone = isGone(current.info.status);
    if (wasGone) this.liveCount++;
    current.suspicion?.cancel();
    current.suspicion = undefined;
    this.setInfo(current, this.copy(info, MemberStatus.ALIVE));
    current.stateChangeMs = this.o.clock.now();
    this.queue(current.info, self.id);
    this.o.onEvent(wasGone ? { t: "join", agent: current.info } : { t: "update", agent: current.info });
  }

  /** A suspicion from `reporter`. */
  suspect(info: AgentInfo, reporter: string): void {
    const self = this.o.self();
    if (info.id === self.id) {
      this.refute(info);
      return;
    }
    const current = this.records.get(info.id);
    if (current === undefined) return;
    const c = compareLife(info, current.info);
    if (c < 0) return;
    // Only an alive claim brings a gone member back (a suspicion of a later incarnation would revive it
    // uncounted and without a join).
    if (isGone(current.info.status)) return;
    if (c === 0 && current.info.status === MemberStatus.SUSPECT) {
      if (current.suspicion?.confirm(reporter) === true) this.queue(current.info, reporter);
      return;
    }
    const n = this.n;
    const { suspicionMult, suspicionMaxTimeoutMult, probeIntervalMs, suspicionFloorMs } = this.o.config;
    const min = suspicionMinTimeoutMs(suspicionMult, n, probeIntervalMs, suspicionFloorMs);
    current.suspicion?.cancel();
    this.setInfo(current, this.copy({ ...current.info, incarnation: info.incarnation, startedAtMs: info.startedAtMs } as AgentInfo, MemberStatus.SUSPECT));
    current.stateChangeMs = this.o.clock.now();
    const suspected = current.info;
    current.suspicion = new Suspicion(reporter, expectedConfirmations(suspicionMult, n), min, min * suspicionMaxTimeoutMult, this.o.clock, () => {
      const now = this.records.get(suspected.id);
      if (now?.info !== suspected) return;
      this.o.logger.info({ peer: suspected.id, incarnation: Number(suspected.incarnation) }, "suspicion timed out: member dead");
      this.dead(suspected, self.id, false);
    });
    this.queue(current.info, reporter);
    this.o.onEvent({ t: "update", agent: current.info });
  }

  /** A death (or graceful leave, `left`) reported by `reporter`. */
  dead(info: AgentInfo, reporter: string, left: boolean): void {
    const self = this.o.self();
    if (info.id === self.id) {
      if (!this.leaving) this.refute(info);
      return;
    }
    const current = this.records.get(info.id);
    if (current === undefined) {
      if (!left || info.address === "") return;
      // Remember the leave so stale alive claims of the same life don't revive it.
      const record: MemberRecord = { info: this.copy(info, MemberStatus.LEFT), stateChangeMs: this.o.clock.now(), lastSeenMs: 0 };
      this.insert(record);
      this.went(record);
      return;
    }
    const c = compareLife(info, current.info);
    if (c < 0) return;
    if (isGone(current.info.status) && (c === 0 || !left)) return;
    if (!isGone(current.info.status)) this.liveCount--;
    current.suspicion?.cancel();
    current.suspicion = undefined;
    this.setInfo(current, this.copy({ ...current.info, incarnation: info.incarnation, startedAtMs: info.startedAtMs } as AgentInfo, left ? MemberStatus.LEFT : MemberStatus.DEAD));
    current.stateChangeMs = this.o.clock.now();
    this.went(current);
    this.queue(current.info, reporter);
    this.o.onEvent({ t: "leave", agent: current.info, reason: left ? "left" : "dead" });
  }

  /** Forgets members gone for longer than deadRetentionMs. */
  reap(): void {
    const cutoff = this.o.clock.now() - this.o.config.deadRetentionMs;
    // The queue is in order of going, so only its head can be due; an entry whose record has changed since
    // (revived, or gone again later with its own entry) is skipped.
    while (this.goneHead < this.gone.length && this.gone[this.goneHead].atMs < cutoff) {
      const { record, atMs } = this.gone[this.goneHead++];
      if (isGone(record.info.status) && record.stateChangeMs === atMs && this.records.get(record.info.id) === record) {
        this.remove(record);
        this.o.onForget?.(record.info);
      }
    }
    if (this.goneHead > 64 && this.goneHead * 2 > this.gone.length) {
      this.gone.splice(0, this.goneHead);
      this.goneHead = 0;
    }
    // (gone members are not in liveCount)
  }

  /** Cancels every suspicion timer (the node stops). */
  clear(): void {
    for (const r of this.records.values()) r.suspicion?.cancel();
  }

  /** Raises this node's incarnation above a claim about it and spreads the news. */
  private refute(claim: AgentInfo): void {
    const self = this.o.self();
    if (claim.startedAtMs !== self.startedAtMs || claim.incarnation < self.incarnation) return;
    self.incarnation = claim.incarnation + 1n;
    this.o.logger.info({ incarnation: Number(self.incarnation) }, "refuting a suspicion about this agent");
    this.queue(self, self.id);
    this.o.onRefute?.();
  }

  private insert(record: MemberRecord): void {
    this.records.set(record.info.id, record);
    this.held.add(record.info);
    this.infoList = undefined;
    this.slot.set(record.info.id, this.order.length);
    this.order.push(record);
  }

  private remove(record: MemberRecord): void {
    const id = record.info.id;
    this.records.delete(id);
    this.deadById.delete(id);
    this.held.delete(record.info);
    this.infoList = undefined;
    const i = this.slot.get(id) as number;
    this.slot.delete(id);
    const last = this.order.pop() as MemberRecord;
    if (last !== record) {
      this.order[i] = last;
      this.slot.set(last.info.id, i);
    }
  }

  /** Replaces the info of `record`, keeping the index of dead members. */
  private setInfo(record: MemberRecord, info: AgentInfo): void {
    if (record.info.status === MemberStatus.DEAD) this.deadById.delete(info.id);
    this.held.delete(record.info);
    record.info = info;
    this.held.add(info);
    this.infoList = undefined;
    if (info.status === MemberStatus.DEAD) this.deadById.set(info.id, record);
  }

  /** Notes that `record` just went (dead or left), for reap(). */
  private went(record: MemberRecord): void {
    this.gone.push({ record, atMs: record.stateChangeMs });
  }

  /** `info` with `status`, as an info this module owns and never mutates (shared as it is when it already is one). */
  private copy(info: AgentInfo, status: MemberStatus): AgentInfo {
    if (info.status === status && unchanging.has(info)) return info;
    const c = clone(AgentInfoSchema, info);
    c.status = status;
    unchanging.set(c, copiesMade++);
    return c;
  }

  private queue(info: AgentInfo, reporter: string): void {
    let agent = info;
    if (!unchanging.has(info)) {
      agent = clone(AgentInfoSchema, info);
      if (agent.status === MemberStatus.UNSPECIFIED) agent.status = MemberStatus.ALIVE;
    }
    this.o.broadcasts.push(create(MemberUpdateSchema, { agent, reporter }));
  }
}
