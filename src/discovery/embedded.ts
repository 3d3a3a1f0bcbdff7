/**
 * The embedded discovery: no external server. A node joins through its seeds and the SWIM membership
 * protocol (src/membership) spreads who is in the mesh, detects failures within seconds and announces
 * graceful leaves, all over the node's peer links.
 */
import { create } from "@bufbuild/protobuf";
import type { Envelope } from "../../gen/agentmesh/v1/envelope_pb.js";
import type { AgentInfo } from "../../gen/agentmesh/v1/membership_pb.js";
import { swimConfig, type SwimConfig } from "../membership/config.js";
import { Swim, type SwimDestination } from "../membership/swim.js";
import { EnvelopeSchema } from "../../gen/agentmesh/v1/envelope_pb.js";
import type { Body } from "../protocol/envelope.js";
import { newId } from "../protocol/ids.js";
import type { Link } from "../transport/transport.js";
import type { Discovery, DiscoveryContext, DiscoveryEvent } from "./discovery.js";

/** Options of the embedded discovery. */
export interface EmbeddedDiscoveryConfig {
  /** host:port of agents to join through. Default none (the first agent of a mesh). */
  seeds: string[];
  /** SWIM timers and multipliers (see src/membership/config.ts for each default). */
  membership: Partial<SwimConfig>;
}

/** Seeds and SWIM membership. */
export class EmbeddedDiscovery implements Discovery {
  private swim: Swim | undefined;
  private ctx: DiscoveryContext | undefined;
  private readonly listeners = new Set<(event: DiscoveryEvent) => void>();

  /** Creates the discovery; start() joins. */
  constructor(private readonly config: Partial<EmbeddedDiscoveryConfig> = {}) {}

  /** The effective SWIM configuration. */
  get membershipConfig(): SwimConfig {
    return swimConfig(this.config.membership);
  }

  async start(context: DiscoveryContext): Promise<void> {
    this.ctx = context;
    const swim = new Swim({
      localInfo: context.localInfo,
      messenger: { send: (to, body) => this.send(to, body) },
      clock: context.clock,
      config: this.config.membership,
      seeds: this.config.seeds ?? [],
      logger: context.logger,
      // A forgotten member's links (dialed to reach it while it was held dead) would redial it forever.
      onForget: (info) => context.transport.forget(info.id),
    });
    swim.onEvent((event) => {
      if (event.t === "leave") context.transport.forget(event.agent.id);
      for (const l of [...this.listeners]) l(event);
    });
    this.swim = swim;
    swim.start();
  }

  receive(envelope: Envelope, _link: Link): boolean {
    if (envelope.body.case === undefined) return false;
    return this.swim?.receive(envelope.from, envelope.body) ?? false;
  }

  peerHello(peer: AgentInfo, link?: Link): void {
    this.swim?.hello(peer);
    if (link?.direction === "outbound") this.swim?.seedAnswered(link.remoteAddress, peer.id);
  }

  announce(): void {
    this.swim?.announce();
  }

  members(): AgentInfo[] {
    return this.swim?.liveMembers() ?? [];
  }

  health(): number {
    return this.swim?.health ?? 0;
  }

  /** Every member known, dead and left ones included (until forgotten). */
  allMembers(): AgentInfo[] {
    return this.swim?.members() ?? [];
  }

  /** The SWIM instance (for diagnostics). */
  get protocol(): Swim | undefined {
    return this.swim;
  }

  onEvent(listener: (event: DiscoveryEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async stop(): Promise<void> {
    this.swim?.leave();
  }

  /**
   * Sends a membership body over the peer link to `to`; best effort (SWIM tolerates loss). A link in backoff
   * (its peer unreachable) drops the body instead of queueing it: it would arrive stale, and a member tried
   * every round while a split lasts would pile full member lists onto the link. The link keeps redialing;
   * once it is up, its Hello introduces the peer.
   */
  private send(to: SwimDestination, body: Body): void {
    const ctx = this.ctx;
    if (ctx === undefined) return;
    const envelope = create(EnvelopeSchema, { messageId: newId(), from: ctx.localInfo().id, timestampMs: BigInt(ctx.clock.now()), body });
    try {
      const link = to.address !== "" ? ctx.transport.linkTo(to.id, to.address) : to.id !== undefined ? ctx.transport.peerLink(to.id) : undefined;
      if (link?.state.t === "backoff") return;
      link?.send(envelope);
    } catch {
      // A full or closed link loses the message, as a lossy network would; SWIM copes.
    }
  }
}
