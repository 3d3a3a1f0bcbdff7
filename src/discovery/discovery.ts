/**
 * The Discovery seam: how a node finds its peers and hears them join, change and leave. Implementations:
 * the embedded default (seeds and SWIM membership over the peer links, no external server, embedded.ts), Consul
 * (agents register in a Consul service and watch it, consul.ts) and hybrid (Consul finds the peers, SWIM detects
 * failures, consul-hybrid.ts). The registry (registry.ts) listens to whichever is configured.
 */
import type { Envelope } from "../../gen/agentmesh/v1/envelope_pb.js";
import type { AgentInfo } from "../../gen/agentmesh/v1/membership_pb.js";
import type { Clock } from "../protocol/clock.js";
import type { MembershipEvent } from "../membership/member-list.js";
import type { Logger } from "../protocol/logger.js";
import type { Link, Transport } from "../transport/transport.js";

/** Something that happened to a member (the membership layer's event, whichever discovery reports it). */
export type DiscoveryEvent = MembershipEvent;

/** What a discovery needs from its node. */
export interface DiscoveryContext {
  /** The node's peer links. */
  transport: Transport;
  /** The local agent's current info. */
  localInfo(): AgentInfo;
  /** Where to log. */
  logger: Logger;
  /** Time source. */
  clock: Clock;
}

/** Finds peers and reports membership changes. Listeners are called synchronously, in order. */
export interface Discovery {
  /** Starts discovering. */
  start(context: DiscoveryContext): Promise<void>;
  /** Offers a received envelope; returns true when it was discovery traffic and was consumed. */
  receive(envelope: Envelope, link: Link): boolean;
  /** Tells the discovery a link's Hello arrived (a peer introduced itself). */
  peerHello(peer: AgentInfo, link: Link): void;
  /** The local agent's info changed (capabilities, load, draining): spread it. */
  announce(): void;
  /** The live remote members known now. */
  members(): AgentInfo[];
  /** The failure detector's local health score (0 healthy), when the discovery runs one. */
  health?(): number;
  /** Every member known, dead and left ones included, when the discovery keeps them. */
  allMembers?(): AgentInfo[];
  /** Subscribes to membership events; returns the unsubscribe function. */
  onEvent(listener: (event: DiscoveryEvent) => void): () => void;
  /** Announces a graceful leave and stops. */
  stop(): Promise<void>;
}
