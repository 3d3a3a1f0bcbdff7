/**
 * The embedded discovery: no external server. A node contacts its seeds, and every node periodically
 * exchanges its member list with a few random members (push-pull anti-entropy over the peer links), so each
 * node learns every other within a few sync rounds. A graceful stop tells every member. Newer information
 * wins by (started_at_ms, incarnation, version), so a restarted agent replaces its old self.
 *
 * Failure detection (SWIM) plugs in behind the same Discovery seam; this discovery only learns of joins,
 * updates and graceful leaves.
 */
import { clone, create } from "@bufbuild/protobuf";
import type { Envelope } from "../../gen/agentmesh/v1/envelope_pb.js";
import { AgentInfoSchema, MembershipSyncSchema, MemberStatus, type AgentInfo } from "../../gen/agentmesh/v1/membership_pb.js";
import type { TimerHandle } from "../protocol/clock.js";
import { withDefaults } from "../protocol/config.js";
import { newEnvelope } from "../protocol/envelope.js";
import { MeshError } from "../protocol/errors.js";
import type { Link } from "../transport/transport.js";
import type { Discovery, DiscoveryContext, DiscoveryEvent } from "./discovery.js";

/** Options of the embedded discovery. */
export interface EmbeddedDiscoveryConfig {
  /** host:port of agents to join through. Default none (the first agent of a mesh). */
  seeds: string[];
  /** Interval between member-list exchanges, ms. Default 1000. */
  syncIntervalMs: number;
  /** Members contacted per exchange. Default 3. */
  syncFanout: number;
  /** How long a left agent is remembered (so stale lists don't revive it), ms. Default 60000. */
  leftRetentionMs: number;
}

/** Defaults tuned for a LAN. */
export const defaultEmbeddedDiscoveryConfig: Readonly<EmbeddedDiscoveryConfig> = Object.freeze({
  seeds: [],
  syncIntervalMs: 1000,
  syncFanout: 3,
  leftRetentionMs: 60_000,
});

/** Seeds and member-list gossip. */
export class EmbeddedDiscovery implements Discovery {
  private readonly config: EmbeddedDiscoveryConfig;
  private ctx: DiscoveryContext | undefined;
  private readonly known = new Map<string, AgentInfo>();
  private readonly leftAt = new Map<string, number>();
  private readonly listeners = new Set<(event: DiscoveryEvent) => void>();
  private timer: TimerHandle | undefined;
  private stopped = false;

  /** Creates the discovery; start() begins. */
  constructor(config: Partial<EmbeddedDiscoveryConfig> = {}) {
    this.config = withDefaults(defaultEmbeddedDiscoveryConfig, config);
  }

  async start(context: DiscoveryContext): Promise<void> {
    this.ctx = context;
    this.contactSeeds();
    this.schedule();
  }

  receive(envelope: Envelope, link: Link): boolean {
    if (envelope.body.case !== "membershipSync") return false;
    const sync = envelope.body.value;
    for (const member of sync.members) this.merge(member);
    if (sync.replyWanted && !this.stopped) this.sendSync(link, false);
    return true;
  }

  peerHello(peer: AgentInfo): void {
    this.merge(peer);
  }

  announce(): void {
    for (const member of this.members()) this.sendSyncTo(member, false);
  }

  members(): AgentInfo[] {
    return [...this.known.values()].filter((m) => m.status !== MemberStatus.LEFT && m.status !== MemberStatus.DEAD);
  }

  onEvent(listener: (event: DiscoveryEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.timer?.cancel();
    const self = clone(AgentInfoSchema, this.context.localInfo());
    self.status = MemberStatus.LEFT;
    self.version += 1n;
    const sync = create(MembershipSyncSchema, { members: [self], replyWanted: false });
    for (const member of this.members()) {
      try {
        this.context.transport.linkTo(member.id, member.address).send(newEnvelope({ from: self.id, body: { case: "membershipSync", value: sync } }));
      } catch {
        // best effort: the member will learn of the leave from others
      }
    }
  }

  private get context(): DiscoveryContext {
    if (this.ctx === undefined) throw new Error("discovery not started");
    return this.ctx;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = this.context.clock.setTimeout(() => {
      this.round();
      this.schedule();
    }, this.config.syncIntervalMs);
  }

  /** One anti-entropy round: exchange lists with a few random members (or the seeds when alone). */
  private round(): void {
    const now = this.context.clock.now();
    for (const [id, at] of this.leftAt) {
      if (now - at > this.config.leftRetentionMs) {
        this.leftAt.delete(id);
        if (this.known.get(id)?.status === MemberStatus.LEFT) this.known.delete(id);
      }
    }
    const alive = this.members();
    if (alive.length === 0) {
      this.contactSeeds();
      return;
    }
    for (const member of pickRandom(alive, this.config.syncFanout)) this.sendSyncTo(member, true);
  }

  private contactSeeds(): void {
    const own = this.context.transport.address;
    for (const seed of this.config.seeds) {
      if (seed === own) continue;
      try {
        this.sendSync(this.context.transport.linkTo(undefined, seed), true);
      } catch (err) {
        this.context.logger.warn({ seed, err: MeshError.from(err).message }, "cannot contact seed");
      }
    }
  }

  private sendSyncTo(member: AgentInfo, replyWanted: boolean): void {
    try {
      this.sendSync(this.context.transport.linkTo(member.id, member.address), replyWanted);
    } catch (err) {
      this.context.logger.debug({ peer: member.id, err: MeshError.from(err).message }, "member sync not sent");
    }
  }

  private sendSync(link: Link, replyWanted: boolean): void {
    const self = this.context.localInfo();
    const members = [self, ...this.known.values()];
    const sync = create(MembershipSyncSchema, { members, replyWanted });
    link.send(newEnvelope({ from: self.id, body: { case: "membershipSync", value: sync } }));
  }

  /** Folds in what a peer says of a member; fires join, update or leave when it is news. */
  private merge(info: AgentInfo): void {
    const selfId = this.context.localInfo().id;
    if (info.id === selfId || info.id === "" || info.address === "") return;
    const current = this.known.get(info.id);
    if (current !== undefined && !isNewer(info, current)) return;
    const incoming = clone(AgentInfoSchema, info);
    if (incoming.status === MemberStatus.UNSPECIFIED) incoming.status = MemberStatus.ALIVE;
    this.known.set(info.id, incoming);
    const wasLive = current !== undefined && current.status !== MemberStatus.LEFT && current.status !== MemberStatus.DEAD;
    const isLive = incoming.status !== MemberStatus.LEFT && incoming.status !== MemberStatus.DEAD;
    if (!isLive) this.leftAt.set(info.id, this.context.clock.now());
    else this.leftAt.delete(info.id);
    if (wasLive && !isLive) {
      this.context.transport.forget(info.id);
      this.emit({ t: "leave", agent: incoming, reason: incoming.status === MemberStatus.DEAD ? "dead" : "left" });
    } else if (!wasLive && isLive) {
      this.emit({ t: "join", agent: incoming });
    } else if (isLive) {
      this.emit({ t: "update", agent: incoming });
    }
  }

  private emit(event: DiscoveryEvent): void {
    for (const l of [...this.listeners]) {
      try {
        l(event);
      } catch (err) {
        this.context.logger.error({ err }, "discovery listener threw");
      }
    }
  }
}

/** True when `a` describes a later state of the agent than `b`. */
export function isNewer(a: AgentInfo, b: AgentInfo): boolean {
  if (a.startedAtMs !== b.startedAtMs) return a.startedAtMs > b.startedAtMs;
  if (a.incarnation !== b.incarnation) return a.incarnation > b.incarnation;
  return a.version > b.version;
}

/** Up to `n` distinct random items of `items`. */
export function pickRandom<T>(items: readonly T[], n: number): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [copy[i], copy[j]] = [copy[j], copy[i]];
  }
  return copy.slice(0, n);
}
