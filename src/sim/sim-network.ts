/**
 * A simulated network on virtual time: a message between simulated nodes arrives after a random latency, or is
 * lost at a configurable rate. Faults: a node can crash (nothing reaches it or leaves it, for good), be isolated
 * for a while (its traffic both ways is dropped while its process keeps running: a frozen or cut-off node), and
 * the nodes can be partitioned into groups that cannot reach each other. Crashes, isolation and partitions also
 * drop messages already in flight when they arrive. Traffic is counted by kind (membership or state) so the
 * simulator can report messages per node per second. Deterministic for a given PRNG.
 */
import type { Body } from "../protocol/envelope.js";
import type { VirtualClock } from "./virtual-clock.js";

/** Network behaviour. */
export interface SimNetworkOptions {
  /** Shortest one-way latency, ms. Default 0.2 (a LAN). */
  minLatencyMs?: number;
  /** Longest one-way latency, ms (uniform between the two). Default 2. */
  maxLatencyMs?: number;
  /** Fraction of messages lost at random, 0..1. Default 0. */
  lossRate?: number;
}

/** Receives a body sent by `from`. */
export type SimReceiver = (from: string, body: Body) => void;

/** What a message is part of: the membership protocol (SWIM) or the replicated state (gossip). */
export type TrafficKind = "membership" | "state";

/** The kind of `body`. */
export function trafficKind(body: Body): TrafficKind {
  return body.case === "gossipDigest" || body.case === "gossipUpdates" ? "state" : "membership";
}

/** Counters of a SimNetwork. */
export interface SimNetworkStats {
  /** Messages sent, lost ones included. */
  sent: number;
  /** Messages sent, by kind. */
  sentByKind: Record<TrafficKind, number>;
  /** Messages delivered. */
  delivered: number;
  /** Messages lost at random. */
  lost: number;
  /** Messages dropped by a crash, an isolation, a partition or an unknown destination. */
  cut: number;
  /** Membership updates piggybacked on probes, probe requests and acks (dissemination load). */
  piggybacked: number;
}

/** Simulated nodes and the links between them. */
export class SimNetwork {
  /** Counters. */
  readonly stats: SimNetworkStats = { sent: 0, sentByKind: { membership: 0, state: 0 }, delivered: 0, lost: 0, cut: 0, piggybacked: 0 };
  /** Fraction of messages lost at random; may be changed while the network runs. */
  lossRate: number;
  private readonly receivers = new Map<string, SimReceiver>();
  private readonly idByAddress = new Map<string, string>();
  private readonly crashed = new Set<string>();
  private readonly isolated = new Set<string>();
  private groupOf: Map<string, number> | undefined;
  private readonly minLatency: number;
  private readonly maxLatency: number;

  /** Creates a network on `clock` using `random` for latency and loss. */
  constructor(
    private readonly clock: VirtualClock,
    private readonly random: () => number,
    options: SimNetworkOptions = {},
  ) {
    this.minLatency = options.minLatencyMs ?? 0.2;
    this.maxLatency = options.maxLatencyMs ?? 2;
    this.lossRate = options.lossRate ?? 0;
  }

  /** Attaches node `id` at `address`. */
  attach(id: string, address: string, receiver: SimReceiver): void {
    this.receivers.set(id, receiver);
    this.idByAddress.set(address, id);
    this.crashed.delete(id);
  }

  /** Crashes `id`: from now on nothing reaches it and nothing it sends leaves. */
  crash(id: string): void {
    this.crashed.add(id);
  }

  /** True once `id` crashed. */
  isCrashed(id: string): boolean {
    return this.crashed.has(id);
  }

  /** Cuts `id` off until restore(): its traffic both ways is dropped (a frozen process, a pulled cable). */
  isolate(id: string): void {
    this.isolated.add(id);
  }

  /** Ends the isolation of `id`. */
  restore(id: string): void {
    this.isolated.delete(id);
  }

  /** Splits the network: nodes in different groups cannot reach each other; unlisted nodes reach no one. */
  partition(...groups: readonly (readonly string[])[]): void {
    const groupOf = new Map<string, number>();
    groups.forEach((g, i) => g.forEach((id) => groupOf.set(id, i)));
    this.groupOf = groupOf;
  }

  /** Ends any partition. */
  heal(): void {
    this.groupOf = undefined;
  }

  /** True when a message from `a` can reach `b` now (random loss aside). */
  reachable(a: string, b: string): boolean {
    if (this.crashed.has(a) || this.crashed.has(b)) return false;
    if (this.isolated.size > 0 && (this.isolated.has(a) || this.isolated.has(b))) return false;
    if (this.groupOf === undefined) return true;
    const g = this.groupOf.get(a);
    return g !== undefined && g === this.groupOf.get(b);
  }

  /** Sends `body` from `from` to a node by id or, when the id is empty, by address. */
  send(from: string, to: { id?: string; address: string }, body: Body): void {
    const s = this.stats;
    s.sent++;
    s.sentByKind[trafficKind(body)]++;
    if (body.case === "probe" || body.case === "probeAck" || body.case === "probeRequest") s.piggybacked += body.value.updates.length;
    const id = to.id !== undefined && to.id !== "" ? to.id : this.idByAddress.get(to.address);
    if (id === undefined || !this.reachable(from, id)) {
      s.cut++;
      return;
    }
    if (this.lossRate > 0 && this.random() < this.lossRate) {
      s.lost++;
      return;
    }
    const latency = this.minLatency + (this.maxLatency - this.minLatency) * this.random();
    this.clock.setTimeout(() => this.deliver(from, id, body), latency);
  }

  private deliver(from: string, id: string, body: Body): void {
    const receiver = this.receivers.get(id);
    if (receiver === undefined || !this.reachable(from, id)) {
      this.stats.cut++;
      return;
    }
    this.stats.delivered++;
    receiver(from, body);
  }
}
