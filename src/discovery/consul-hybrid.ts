/**
 * Hybrid discovery: Consul is the source of peers, SWIM the judge of who is alive. The agent registers with Consul
 * and watches the service exactly as ConsulDiscovery does, but the mesh view and its events are the embedded SWIM
 * membership's: each healthy instance Consul reports that SWIM does not hold alive is dialed, its link's Hello makes
 * it a SWIM member, and from then on SWIM's probes declare it dead within its own bound (about 3 s with the LAN
 * defaults), far sooner than a Consul check interval plus a watch round. Consul's view never removes a member (a
 * member Consul drops but SWIM still reaches stays); it only brings new ones, and a crashed agent Consul still lists
 * as passing is not brought back (its dial never answers).
 *
 * When to pick which: embedded (the default) needs no server, only seeds; consul suits networks where Consul already
 * is the registry and where failure detection within a check interval is enough; hybrid when Consul must list the
 * agents and find them, and a dead agent's tasks must move on within seconds.
 */
import type { Envelope } from "../../gen/agentmesh/v1/envelope_pb.js";
import type { AgentInfo } from "../../gen/agentmesh/v1/membership_pb.js";
import type { SwimConfig } from "../membership/config.js";
import type { Link } from "../transport/transport.js";
import { ConsulDiscovery, type ConsulDiscoveryOptions } from "./consul.js";
import type { Discovery, DiscoveryContext, DiscoveryEvent } from "./discovery.js";
import { EmbeddedDiscovery } from "./embedded.js";

/** Options of the hybrid discovery. */
export interface HybridDiscoveryOptions {
  /** The Consul side (see consul-config.ts for each default). */
  consul?: ConsulDiscoveryOptions;
  /** SWIM timers and multipliers (see src/membership/config.ts for each default). */
  membership?: Partial<SwimConfig>;
  /** Extra host:port seeds to join through besides Consul's instances. Default none. */
  seeds?: string[];
}

/** Consul for finding peers, SWIM for failure detection. */
export class HybridDiscovery implements Discovery {
  /** The SWIM membership that owns the view and its events. */
  readonly embedded: EmbeddedDiscovery;
  /** The Consul registration and watch that feed SWIM its join targets. */
  readonly consul: ConsulDiscovery;
  /** Links dialed to instances Consul reported, by agent id, until their Hello arrives. */
  private readonly dialed = new Map<string, Link>();
  private ctx: DiscoveryContext | undefined;
  private offConsul: (() => void) | undefined;

  /** Creates the discovery; invalid Consul options fail here with INVALID_ARGUMENT naming the option. */
  constructor(options: HybridDiscoveryOptions = {}) {
    this.consul = new ConsulDiscovery({ ...options.consul, forgetLinksOnLeave: false });
    this.embedded = new EmbeddedDiscovery({ seeds: options.seeds ?? [], membership: options.membership });
  }

  async start(context: DiscoveryContext): Promise<void> {
    this.ctx = context;
    await this.embedded.start(context);
    this.offConsul = this.consul.onEvent((event) => this.fromConsul(event));
    await this.consul.start(context);
  }

  receive(envelope: Envelope, link: Link): boolean {
    return this.embedded.receive(envelope, link);
  }

  peerHello(peer: AgentInfo, link: Link): void {
    this.dialed.delete(peer.id);
    this.embedded.peerHello(peer, link);
  }
  health(): number {
    return this.embedded.health();
  }


  /** Spreads the change over SWIM and registers it with Consul. */
  announce(): void {
    this.embedded.announce();
    this.consul.announce();
  }

  members(): AgentInfo[] {
    return this.embedded.members();
  }

  allMembers(): AgentInfo[] {
    return this.embedded.allMembers();
  }

  onEvent(listener: (event: DiscoveryEvent) => void): () => void {
    return this.embedded.onEvent(listener);
  }

  /** Announces a graceful leave over SWIM, then deregisters from Consul. */
  async stop(): Promise<void> {
    this.offConsul?.();
    for (const link of this.dialed.values()) if (link.peer === undefined) link.close("discovery stopping");
    this.dialed.clear();
    await this.embedded.stop();
    await this.consul.stop();
  }

  /** A Consul instance appeared or changed: dial it unless SWIM already has it; one Consul dropped: stop dialing it. */
  private fromConsul(event: DiscoveryEvent): void {
    const ctx = this.ctx;
    if (ctx === undefined) return;
    const id = event.agent.id;
    if (event.t === "leave") {
      const link = this.dialed.get(id);
      if (link !== undefined && link.peer === undefined) link.close(`agent ${id} left Consul's healthy instances`);
      this.dialed.delete(id);
      return;
    }
    if (id === ctx.localInfo().id || event.agent.draining) return;
    if (this.embedded.members().some((m) => m.id === id)) return;
    const pending = this.dialed.get(id);
    if (pending !== undefined && pending.usable && pending.state.t !== "closed") return;
    try {
      this.dialed.set(id, ctx.transport.linkTo(id, event.agent.address));
    } catch {
      // the transport is stopping
    }
  }
}
