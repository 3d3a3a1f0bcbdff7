/**
 * SWIM failure detection and dissemination (Das, Gupta, Motivala 2002) with Lifeguard's refinements
 * (local health awareness, suspicion timeouts that shrink with independent confirmations), in the manner
 * of hashicorp/memberlist:
 * - every probeIntervalMs the next member of a shuffled round-robin list is probed; no ack within the
 *   (awareness-scaled) probe timeout → `indirectChecks` other members probe it on our behalf; no ack by the
 *   end of the round → it is suspected;
 * - updates ride on every probe and ack (piggyback), and a gossip round pushes pending ones to a few members;
 * - a full member-list exchange (push-pull) with one random member runs periodically and on join.
 * Transport-agnostic: it sends bodies through a SwimMessenger and is fed with receive(), so the same code
 * runs on peer links and in the simulator on virtual time.
 */
import { clone, create } from "@bufbuild/protobuf";
import {
  AgentInfoSchema,
  MembershipSyncSchema,
  MemberStatus,
  MemberUpdateSchema,
  ProbeAckSchema,
  ProbeRequestSchema,
  ProbeSchema,
  type AgentInfo,
  type MemberUpdate,
} from "../../gen/agentmesh/v1/membership_pb.js";
import type { Clock, TimerHandle } from "../protocol/clock.js";
import type { Body } from "../protocol/envelope.js";
import { silentLogger, type Logger } from "../protocol/logger.js";
import { Awareness } from "./awareness.js";
import { BroadcastQueue, retransmitLimit } from "./broadcast-queue.js";
import { swimConfig, type SwimConfig } from "./config.js";
import { isGone, MemberList, type MemberRecord, type MembershipEvent } from "./member-list.js";

/**
 * `message` with its `updates` list set. Lists are assigned after create() rather than passed to it: create()
 * checks every element of a list in its init by reflection, an O(list) cost per message on the hot path, and
 * these elements are MemberUpdate messages already.
 */
function withUpdates<T extends { updates: MemberUpdate[] }>(message: T, updates: MemberUpdate[]): T {
  message.updates = updates;
  return message;
}

/** Where a message goes: a member id with its address, or only an address (a seed). */
export interface SwimDestination {
  /** The member's id, when known. */
  id?: string;
  /** host:port. */
  address: string;
}

/** Sends membership bodies; best effort (they may be lost, delayed, duplicated or reordered). */
export interface SwimMessenger {
  /** Sends `body` to `to`; must not throw. */
  send(to: SwimDestination, body: Body): void;
}

/** Options of a Swim instance. */
export interface SwimOptions {
  /** This node's info (mutable: incarnation and status change). */
  localInfo: () => AgentInfo;
  /** How bodies leave. */
  messenger: SwimMessenger;
  /** Time source. */
  clock: Clock;
  /** Timers and multipliers. */
  config?: Partial<SwimConfig>;
  /** Addresses to join through. */
  seeds?: string[];
  /** Where to log. */
  logger?: Logger;
  /** Random numbers in [0, 1); inject a seeded one for reproducible simulations. */
  random?: () => number;
  /** Called when a dead or left member is forgotten (deadRetentionMs after it went): release what it still holds, such as links. */
  onForget?: (info: AgentInfo) => void;
}

/** Counters, for the simulator and diagnostics. */
export interface SwimStats {
  /** Direct probes sent. */
  probes: number;
  /** Indirect probe requests sent. */
  indirectProbes: number;
  /** Members this node started to suspect. */
  suspicions: number;
  /** Times this node refuted a claim about itself. */
  refutations: number;
}

interface PendingProbe {
  target: string;
  acked: boolean;
  nacks: number;
  expectedNacks: number;
}

interface Relay {
  requester: string;
  seq: bigint;
  target: string;
  timer: TimerHandle;
}

/** One node's SWIM protocol instance. */
export class Swim {
  /** Effective configuration. */
  readonly config: SwimConfig;
  /** Counters. */
  readonly stats: SwimStats = { probes: 0, indirectProbes: 0, suspicions: 0, refutations: 0 };
  private readonly list: MemberList;
  private readonly broadcasts = new BroadcastQueue();
  private readonly awareness: Awareness;
  private readonly listeners = new Set<(event: MembershipEvent) => void>();
  private readonly random: () => number;
  private readonly logger: Logger;
  private readonly pending = new Map<bigint, PendingProbe>();
  private readonly relays = new Map<bigint, Relay>();
  private readonly timers = new Set<TimerHandle>();
  /** Seed address → the agent that answered there when this node dialed it (see seedAnswered). */
  private readonly seedAgents = new Map<string, string>();
  private probeOrder: string[] = [];
  private probeIndex = 0;
  private seq = 0n;
  private running = false;

  /** Creates the instance; start() begins probing. */
  constructor(private readonly o: SwimOptions) {
    this.config = swimConfig(o.config);
    this.random = o.random ?? Math.random;
    this.logger = o.logger ?? silentLogger;
    this.awareness = new Awareness(this.config.awarenessMax);
    this.list = new MemberList({
      self: o.localInfo,
      config: this.config,
      clock: o.clock,
      broadcasts: this.broadcasts,
      logger: this.logger,
      onEvent: (e) => {
        if (e.t === "join") this.probeSoon(e.agent.id);
        this.emit(e);
      },
      onRefute: () => {
        this.stats.refutations++;
        this.awareness.apply(1);
      },
      onForget: (info) => this.o.onForget?.(info),
    });
  }

  /** Starts probing, gossiping and joining through the seeds. */
  start(): void {
    if (this.running) return;
    this.running = true;
    const self = this.o.localInfo();
    if (self.status === MemberStatus.UNSPECIFIED) self.status = MemberStatus.ALIVE;
    this.join();
    this.every(this.config.probeIntervalMs, () => this.probeRound(), this.config.probeIntervalMs * this.random());
    this.every(this.config.gossipIntervalMs, () => this.gossipRound());
    this.every(this.config.pushPullIntervalMs, () => this.pushPullRound());
    this.every(this.config.reconnectIntervalMs, () => this.reconnectRound());
  }

  /** Stops every timer; no leave is announced (see leave()). */
  stop(): void {
    this.running = false;
    for (const t of this.timers) t.cancel();
    this.timers.clear();
    for (const r of this.relays.values()) r.timer.cancel();
    this.relays.clear();
    this.list.clear();
  }

  /** Announces a graceful leave to every live member, then stops. */
  leave(): void {
    const self = this.o.localInfo();
    this.list.leaving = true;
    self.status = MemberStatus.LEFT;
    const update = create(MemberUpdateSchema, { agent: clone(AgentInfoSchema, self), reporter: self.id });
    for (const r of this.list.live()) {
      this.o.messenger.send({ id: r.info.id, address: r.info.address }, this.gossipBody([update]));
    }
    this.stop();
  }

  /**
   * The local agent's info changed (capabilities, draining): spread it with a new version — sent at once to
   * every live member (such changes are rare and routing depends on them), and gossiped as usual.
   */
  announce(): void {
    const self = this.o.localInfo();
    self.version++;
    const update = create(MemberUpdateSchema, { agent: clone(AgentInfoSchema, self), reporter: self.id });
    this.broadcasts.push(update);
    for (const r of this.list.live()) this.send(r.info, this.gossipBody([update]));
  }

  /** Every member known (gone ones included, until reaped); the infos are the live records: do not mutate. */
  members(): AgentInfo[] {
    return this.list.all().map((r) => r.info);
  }

  /** The record of member `id`, with last-seen time and status. */
  member(id: string): MemberRecord | undefined {
    return this.list.get(id);
  }

  /** Live members (alive or suspect). */
  liveMembers(): AgentInfo[] {
    return this.list.live().map((r) => r.info);
  }

  /** Subscribes to membership events; returns the unsubscribe function. */
  onEvent(listener: (event: MembershipEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The current local health score (0 is healthy). */
  get health(): number {
    return this.awareness.value;
  }

  /** Handles a membership body from member `from`; returns false for bodies that are not membership traffic. */
  receive(from: string, body: Body): boolean {
    if (!this.running) return isMembershipBody(body); // a stopped node answers nothing (it must not refute its death)
    switch (body.case) {
      case "probe":
        this.onProbe(from, body.value.seq, body.value.targetId, body.value.updates);
        return true;
      case "probeRequest":
        this.onProbeRequest(from, body.value.seq, body.value.targetId, body.value.targetAddress, body.value.updates);
        return true;
      case "probeAck":
        this.onAck(from, body.value.seq, body.value.targetId, body.value.nack, body.value.updates);
        return true;
      case "membershipSync":
        this.list.seen(from);
        for (const info of body.value.members) this.list.applyInfo(info, from, true);
        if (body.value.replyWanted && this.running) {
          this.o.messenger.send({ id: from, address: this.list.get(from)?.info.address ?? "" }, this.syncBody(false));
        }
        return true;
      default:
        return false;
    }
  }

  // ---- rounds ----------------------------------------------------------------------------------

  private probeRound(): void {
    this.list.reap();
    const target = this.nextTarget();
    if (target === undefined) return;
    const seq = ++this.seq;
    const probe: PendingProbe = { target: target.info.id, acked: false, nacks: 0, expectedNacks: 0 };
    this.pending.set(seq, probe);
    this.stats.probes++;
    this.send(target.info, { case: "probe", value: withUpdates(create(ProbeSchema, { seq, targetId: target.info.id }), this.piggyback(target.info.id)) });
    this.after(this.awareness.scale(this.config.probeTimeoutMs), () => {
      if (probe.acked) return;
      const helpers = this.list.sample(
        this.config.indirectChecks,
        (r) => r.info.id !== target.info.id && r.info.status === MemberStatus.ALIVE,
        this.random,
      );
      probe.expectedNacks = helpers.length;
      for (const h of helpers) {
        this.stats.indirectProbes++;
        this.send(h.info, {
          case: "probeRequest",
          value: withUpdates(create(ProbeRequestSchema, { seq, targetId: target.info.id, targetAddress: target.info.address }), this.piggyback(h.info.id)),
        });
      }
    });
    this.after(this.awareness.scale(this.config.probeIntervalMs), () => {
      this.pending.delete(seq);
      if (probe.acked) {
        this.awareness.apply(-1);
        return;
      }
      // Lifeguard: if helpers did not even nack, this node may be the slow one.
      if (probe.expectedNacks > 0 && probe.nacks < probe.expectedNacks) this.awareness.apply(1);
      const current = this.list.get(probe.target);
      if (current === undefined || isGone(current.info.status)) return;
      this.stats.suspicions++;
      this.logger.debug({ peer: probe.target }, "probe failed: suspecting member");
      this.list.suspect(current.info, this.o.localInfo().id);
    });
  }

  private gossipRound(): void {
    if (this.broadcasts.size === 0) return;
    const now = this.o.clock.now();
    const targets = this.list.sample(
      this.config.gossipFanout,
      (r) => !isGone(r.info.status) || now - r.stateChangeMs < this.config.gossipToDeadMs,
      this.random,
    );
    for (const t of targets) {
      const updates = this.piggyback(t.info.id);
      if (updates.length === 0) break;
      this.send(t.info, this.gossipBody(updates));
    }
  }

  private pushPullRound(): void {
    const [peer] = this.list.sample(1, (r) => !isGone(r.info.status), this.random);
    if (peer === undefined) return;
    this.send(peer.info, this.syncBody(true));
  }

  /**
   * Tries one member declared dead (not left) with a push-pull: after a partition heals, this is how the two
   * sides find each other again (each refutes the other's claim that it died).
   */
  private reconnectRound(): void {
    const dead = this.list.deadMembers();
    if (dead.length === 0) {
      this.reconnectSeed();
      return;
    }
    const peer = dead[Math.min(dead.length - 1, Math.floor(this.random() * dead.length))];
    this.send(peer.info, this.syncBody(true));
  }

  /** An agent introduced itself directly (a link's hello): an alive claim in its own words. */
  hello(info: AgentInfo): void {
    if (info.status === MemberStatus.ALIVE || info.status === MemberStatus.UNSPECIFIED) this.list.alive(info);
  }

  /** Agent `id` answered when this node dialed `address` (a link's hello); for a seed, remembered by reconnectSeed. */
  seedAnswered(address: string, id: string): void {
    if (this.o.seeds?.includes(address) === true) this.seedAgents.set(address, id);
  }

  /**
   * With no dead member left to try (they are forgotten deadRetentionMs after they died), a push-pull with one
   * random seed unless the agent that answered there is a live member: how a split that outlasted
   * deadRetentionMs still merges once it heals. Costs nothing while the seeds are live members.
   */
  private reconnectSeed(): void {
    const seeds = this.o.seeds ?? [];
    if (seeds.length === 0) return;
    const seed = seeds[Math.min(seeds.length - 1, Math.floor(this.random() * seeds.length))];
    const self = this.o.localInfo();
    const id = this.seedAgents.get(seed);
    if (seed === self.address || id === self.id) return;
    const known = id === undefined ? undefined : this.list.get(id);
    if (known !== undefined && !isGone(known.info.status)) return;
    this.o.messenger.send({ address: seed }, this.syncBody(true));
  }

  private join(): void {
    if (!this.running) return;
    if (this.list.live().length > 0) return;
    const self = this.o.localInfo();
    for (const seed of this.o.seeds ?? []) {
      if (seed !== self.address) this.o.messenger.send({ address: seed }, this.syncBody(true));
    }
    if ((this.o.seeds ?? []).length > 0) this.after(this.config.joinRetryMs, () => this.join());
  }

  // ---- receiving -------------------------------------------------------------------------------

  private onProbe(from: string, seq: bigint, targetId: string, updates: MemberUpdate[]): void {
    this.absorb(from, updates);
    const self = this.o.localInfo();
    if (targetId !== self.id) return; // meant for an agent that used to have this address
    const sender = this.list.get(from);
    const extra: MemberUpdate[] = [];
    // A member we hold dead is alive after all (a frozen process resumed): tell it, so it refutes.
    if (sender !== undefined && isGone(sender.info.status)) extra.push(create(MemberUpdateSchema, { agent: clone(AgentInfoSchema, sender.info), reporter: self.id }));
    // Answer even a sender not known yet (it learned of us first): the reply goes back the way it came.
    this.o.messenger.send(
      { id: from, address: sender?.info.address ?? "" },
      { case: "probeAck", value: withUpdates(create(ProbeAckSchema, { seq, targetId: self.id }), [...extra, ...this.piggyback(from)]) },
    );
  }

  private onProbeRequest(from: string, seq: bigint, targetId: string, targetAddress: string, updates: MemberUpdate[]): void {
    this.absorb(from, updates);
    if (targetAddress === "") return;
    const requester = { id: from, address: this.list.get(from)?.info.address ?? "" } as AgentInfo;
    const mySeq = ++this.seq;
    const timer = this.o.clock.setTimeout(() => {
      if (!this.relays.delete(mySeq)) return;
      this.send(requester, { case: "probeAck", value: create(ProbeAckSchema, { seq, targetId, nack: true }) });
    }, this.config.probeTimeoutMs);
    this.relays.set(mySeq, { requester: from, seq, target: targetId, timer });
    this.send({ id: targetId, address: targetAddress } as AgentInfo, {
      case: "probe",
      value: withUpdates(create(ProbeSchema, { seq: mySeq, targetId }), this.piggyback(targetId)),
    });
  }

  private onAck(from: string, seq: bigint, targetId: string, nack: boolean, updates: MemberUpdate[]): void {
    this.absorb(from, updates);
    if (seq === 0n) return; // gossip only
    const relay = this.relays.get(seq);
    if (relay !== undefined) {
      if (nack || targetId !== relay.target) return;
      relay.timer.cancel();
      this.relays.delete(seq);
      this.o.messenger.send({ id: relay.requester, address: this.list.get(relay.requester)?.info.address ?? "" }, {
        case: "probeAck",
        value: create(ProbeAckSchema, { seq: relay.seq, targetId }),
      });
      return;
    }
    const probe = this.pending.get(seq);
    if (probe === undefined || targetId !== probe.target) return;
    if (nack) {
      probe.nacks++;
      return;
    }
    probe.acked = true;
    this.list.seen(targetId);
  }

  private absorb(from: string, updates: MemberUpdate[]): void {
    this.list.seen(from);
    for (const u of updates) this.list.apply(u, from);
  }

  // ---- helpers ---------------------------------------------------------------------------------

  private nextTarget(): MemberRecord | undefined {
    for (let tries = 0; tries < 2; tries++) {
      while (this.probeIndex < this.probeOrder.length) {
        const r = this.list.get(this.probeOrder[this.probeIndex++]);
        if (r !== undefined && !isGone(r.info.status)) return r;
      }
      this.probeOrder = this.shuffle(this.list.live().map((r) => r.info.id));
      this.probeIndex = 0;
    }
    return undefined;
  }

  /**
   * Puts a member that joined (or came back) at a random place among the members still to probe in this
   * round-robin pass, as memberlist inserts a new node at a random offset. Otherwise it waited for the next
   * pass — up to N × probeIntervalMs (20 s for 100 members, 200 s for 1,000) — to be probed by this node, and a
   * member that crashed soon after joining was detected late. O(1): appended, then swapped into place.
   */
  private probeSoon(id: string): void {
    const order = this.probeOrder;
    order.push(id);
    const last = order.length - 1;
    const j = this.probeIndex + Math.min(last - this.probeIndex, Math.floor(this.random() * (last - this.probeIndex + 1)));
    [order[j], order[last]] = [order[last], order[j]];
  }

  /**
   * The updates to piggyback on a message to `to`. A member this node suspects hears that suspicion on every
   * message this node sends it, ahead of the queue (Lifeguard's "buddy system"), so it refutes at once instead
   * of when the gossip happens to reach it: under heavy churn the queue can hold the suspicion back for longer
   * than the suspicion timeout.
   */
  private piggyback(to: string): MemberUpdate[] {
    const updates = this.broadcasts.take(this.config.maxPiggybackUpdates, retransmitLimit(this.config.retransmitMult, this.list.n));
    const target = this.list.get(to);
    if (target !== undefined && target.info.status === MemberStatus.SUSPECT) {
      updates.unshift(create(MemberUpdateSchema, { agent: clone(AgentInfoSchema, target.info), reporter: this.o.localInfo().id }));
    }
    return updates;
  }

  private gossipBody(updates: MemberUpdate[]): Body {
    return { case: "probeAck", value: withUpdates(create(ProbeAckSchema, { seq: 0n }), updates) };
  }

  private syncBody(replyWanted: boolean): Body {
    const sync = create(MembershipSyncSchema, { replyWanted });
    sync.members = [this.o.localInfo(), ...this.list.infos()];
    return { case: "membershipSync", value: sync };
  }

  private send(to: AgentInfo, body: Body): void {
    this.o.messenger.send({ id: to.id, address: to.address }, body);
  }

  private shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = Math.floor(this.random() * (i + 1));
      [items[i], items[j]] = [items[j], items[i]];
    }
    return items;
  }

  private emit(event: MembershipEvent): void {
    for (const l of [...this.listeners]) {
      try {
        l(event);
      } catch (err) {
        this.logger.error({ err }, "membership listener threw");
      }
    }
  }

  private every(intervalMs: number, fn: () => void, firstDelayMs = intervalMs): void {
    const tick = () => {
      if (!this.running) return;
      fn();
      this.after(intervalMs, tick);
    };
    this.after(firstDelayMs, tick);
  }

  private after(ms: number, fn: () => void): void {
    const handle: TimerHandle = this.o.clock.setTimeout(() => {
      this.timers.delete(handle);
      if (this.running) fn();
    }, ms);
    this.timers.add(handle);
  }
}

/** True for the bodies the membership protocol consumes. */
function isMembershipBody(body: Body): boolean {
  return body.case === "probe" || body.case === "probeRequest" || body.case === "probeAck" || body.case === "membershipSync";
}
