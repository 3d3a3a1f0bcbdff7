/**
 * The seams of the state layer: everything it needs from outside is one of these small shapes (plus the
 * `Clock` of protocol/clock.ts), so the same code runs on peer links in a real node and on a virtual network in
 * a simulator of thousands of nodes in one process.
 */
import type { Body } from "../protocol/envelope.js";

/**
 * Sends one gossip body ("gossipDigest" or "gossipUpdates") to a peer. Best effort: a body may be lost,
 * duplicated, reordered or delayed, and the protocol stays correct under all of that. Must not block; may throw
 * (for example when a link's queue is full), which counts as a loss. Called synchronously from timers and from
 * `receive`; the layer never mutates a body after passing it here, and may pass the same body to several peers.
 */
export type GossipSend = (peerId: string, body: Body) => void;

/** The ids of the peers that are live now, as membership sees them; may include this node's own id (it is skipped). */
export type LivePeers = () => readonly string[];

/** Uniform random numbers in [0, 1), as Math.random; inject a seeded generator for reproducible simulations. */
export type RandomSource = () => number;

/** Where the owner hands received bodies. */
export interface GossipReceiver {
  /**
   * Takes a body received from `fromPeerId`; returns true when it was a gossip body (consumed), false when it
   * belongs to someone else. Never throws on malformed input (bad entries are skipped). Does not mutate `body`.
   */
  receive(fromPeerId: string, body: Body): boolean;
}

/** The W3C trace context of the span a write was made in, kept with the entry and sent with it. */
export interface WriteTrace {
  /** The span's traceparent. */
  readonly traceparent: string;
  /** The span's tracestate ("" when none). */
  readonly tracestate: string;
}

/**
 * The trace context of the work making a local write now (the active span's), or undefined when it is not
 * traced. Called once per set or delete; must be cheap and must not throw.
 */
export type TraceOfWrite = () => WriteTrace | undefined;
