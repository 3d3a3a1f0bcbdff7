/**
 * A simulated cluster of GossipState nodes on a VirtualNet and VirtualClock, for the state tests. Each node's
 * live peers are the nodes it can reach now, as a membership layer would report during a partition.
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { EnvelopeSchema } from "../../gen/agentmesh/v1/envelope_pb.js";
import type { Body } from "../../src/protocol/envelope.js";
import { fastStateConfig, type StateConfig } from "../../src/state/config.js";
import { agreement, allAgree, roundsUntilAgreement } from "../../src/state/convergence.js";
import { GossipState } from "../../src/state/gossip-state.js";
import { mulberry32, VirtualClock, VirtualNet, type NetFaults } from "../helpers/virtual-net.js";

/** How a cluster is built. */
export interface ClusterOptions {
  /** Nodes. */
  n: number;
  /** PRNG seed of the run. */
  seed: number;
  /** State config overrides on top of the fast preset. */
  config?: Partial<StateConfig>;
  /** Network faults. */
  faults?: Partial<NetFaults>;
  /** When true, every body travels encoded in an Envelope and decoded, as on the wire. */
  wire?: boolean;
  /** When false, nodes are built but their rounds not started. Default true. */
  start?: boolean;
}

/** A running simulated cluster. */
export interface Cluster {
  /** The virtual clock all nodes share. */
  clock: VirtualClock;
  /** The network between them. */
  net: VirtualNet<Body>;
  /** Node ids, "node-0000" upwards. */
  ids: string[];
  /** The nodes, in the order of `ids`. */
  nodes: GossipState[];
  /** The node with id `id`. */
  node(id: string): GossipState;
  /** Every node's digestHash. */
  hashes(): string[];
  /** True when all nodes' hashes agree. */
  converged(): boolean;
  /** Advances virtual time by one gossip interval. */
  round(): void;
  /** Rounds (gossip intervals) until all agree, or undefined after `maxRounds`. */
  roundsToConverge(maxRounds: number): number | undefined;
  /** Distinct hashes now. */
  distinct(): number;
}

/** Builds (and by default starts) a cluster. */
export function makeCluster(o: ClusterOptions): Cluster {
  const clock = new VirtualClock(1_700_000_000_000);
  const net = new VirtualNet<Body>(clock, mulberry32(o.seed * 7919 + 1), o.faults);
  const random = mulberry32(o.seed);
  const ids = Array.from({ length: o.n }, (_, i) => `node-${String(i).padStart(4, "0")}`);
  const config = { ...fastStateConfig, ...o.config };
  // A node's live peers: everyone it can reach now (all ids when there is no partition).
  const peersOf = (id: string) => (): readonly string[] => (net.partitioned ? ids.filter((p) => net.reachable(id, p)) : ids);
  const codec = (b: Body): Body => {
    const bytes = toBinary(EnvelopeSchema, create(EnvelopeSchema, { body: b }));
    return fromBinary(EnvelopeSchema, bytes).body as Body;
  };
  const byId = new Map<string, GossipState>();
  const nodes = ids.map((id) => {
    const node = new GossipState({
      selfId: id,
      clock,
      random,
      config,
      send: (to, body) => net.send(id, to, o.wire ? codec(body) : body),
      peers: peersOf(id),
    });
    byId.set(id, node);
    net.attach(id, (from, body) => {
      node.receive(from, body);
    });
    return node;
  });
  if (o.start !== false) nodes.forEach((n) => n.start());
  const hashes = (): string[] => nodes.map((n) => n.digestHash());
  const round = (): void => {
    clock.advance(config.gossipIntervalMs);
  };
  return {
    clock,
    net,
    ids,
    nodes,
    node: (id) => byId.get(id) as GossipState,
    hashes,
    converged: () => allAgree(hashes()),
    round,
    roundsToConverge: (maxRounds) => roundsUntilAgreement(round, hashes, maxRounds),
    distinct: () => agreement(hashes()).distinct,
  };
}

/** The median of `xs` (the lower middle for an even count). */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)];
}
