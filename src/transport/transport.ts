/**
 * The transport seam. A Transport owns this node's peer links: one long-lived bidirectional stream per
 * peer pair, carrying batched envelopes both ways. Two implementations share this interface: gRPC over
 * HTTP/2 (grpc-transport.ts) and an in-memory network for simulations and unit tests (memory-transport.ts).
 *
 * Delivery guarantee: envelopes sent on one link arrive in order, at most once. When a link breaks, what
 * was in flight may be lost; the bus above retries requests with the same message id and the receiver
 * delivers a duplicate id once.
 */
import type { AgentInfo } from "../../gen/agentmesh/v1/membership_pb.js";
import type { Envelope } from "../../gen/agentmesh/v1/envelope_pb.js";
import type { MeshError } from "../protocol/errors.js";

/** The lifecycle of a link. */
export type LinkState =
  | { t: "connecting"; attempt: number }
  | { t: "ready" }
  | { t: "backoff"; attempt: number; retryInMs: number; error: MeshError }
  | { t: "closed"; reason: string };

/** One peer link. */
export interface Link {
  /** Unique per transport, for logs. */
  readonly id: number;
  /** Who opened the stream. */
  readonly direction: "outbound" | "inbound";
  /** The peer's address (dialed, or announced in its Hello). */
  readonly remoteAddress: string;
  /** The peer, once its Hello arrived. */
  readonly peer: AgentInfo | undefined;
  /** Current state. */
  readonly state: LinkState;
  /** True while the link takes envelopes (not closing or closed). */
  readonly usable: boolean;
  /** Envelopes waiting to be written. */
  readonly queued: number;
  /**
   * Queues an envelope for the next frame. Throws RESOURCE_EXHAUSTED when the queue is full and UNAVAILABLE
   * when the link is closed. While reconnecting, envelopes wait in the (bounded) queue. `encoded` is the
   * envelope's encoding (encodeEnvelope) when the caller has it already: a transport that sends bytes uses it
   * instead of encoding the envelope again.
   */
  send(envelope: Envelope, encoded?: Uint8Array): void;
  /** Calls `listener` on every state change; returns the unsubscribe function. */
  onState(listener: (state: LinkState, link: Link) => void): () => void;
  /** Closes the link after writing what is queued; pending sends after this fail. */
  close(reason?: string): void;
}

/** Receives every envelope that arrives on any link (Hello excepted). Must not throw. */
export type EnvelopeHandler = (envelope: Envelope, link: Link) => void;

/** What the transport needs from the node above it. */
export interface TransportHost {
  /** This node's current info, sent in Hello. */
  localInfo(): AgentInfo;
  /** Called for every envelope received. */
  onEnvelope: EnvelopeHandler;
  /** Called when a link's Hello exchange completes. */
  onPeerHello?(peer: AgentInfo, link: Link): void;
}

/** A node's peer links. */
export interface Transport {
  /** host:port where peers reach this node; known after start. */
  readonly address: string;
  /** Starts accepting links. */
  start(host: TransportHost): Promise<void>;
  /**
   * The link to send to `agentId`: an open one in either direction if there is one, else a new outbound
   * link dialed to `address`. With no agent id (a seed whose id is unknown), dials or reuses by address.
   */
  linkTo(agentId: string | undefined, address: string): Link;
  /** The open link to `agentId` in either direction, if any (no dialing). */
  peerLink(agentId: string): Link | undefined;
  /** Every link, any state. */
  links(): Link[];
  /** Closes the links to `agentId` (it left or died). */
  forget(agentId: string): void;
  /** Closes every link and stops accepting. */
  stop(): Promise<void>;
}
