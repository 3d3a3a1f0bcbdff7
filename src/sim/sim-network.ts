/**
 * A simulated network on virtual time: messages between simulated nodes arrive after a random latency,
 * or are lost at a configurable rate; nodes can crash (stop, and nothing reaches them) and pairs can be
 * partitioned. Deterministic for a given seed.
 */
import type { Body } from "../protocol/envelope.js";
import type { VirtualClock } from "./virtual-clock.js";

/** Network behaviour. */
export interface SimNetworkOptions {
  /** Shortest one-way latency, ms. Default 0.2. */
  minLatencyMs?: number;
  /** Longest one-way latency, ms. Default 2. */
  maxLatencyMs?: number;
  /** Fraction of messages lost, 0..1. Default 0. */
  lossRate?: number;
}

/** Receives a body sent by `from`. */
export type SimReceiver = (from: string, body: Body) => void;

/** Simulated nodes and the links between them. */
export class SimNetwork {
  private readonly receivers = new Map<string, SimReceiver>();
  private readonly idByAddress = new Map<string, string>();
  private readonly down = new Set<string>();
  private readonly blocked = new Set<string>();
  /** Messages sent (lost ones included). */
  sent = 0;
  /** Messages lost. */
  lost = 0;
  private readonly minLatency: number;
  private readonly maxLatency: number;
  /** Fraction of messages lost. */
  lossRate: number;

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
    this.down.delete(id);
  }

  /** Crashes `id`: nothing reaches it from now on. */
  crash(id: string): void {
    this.down.add(id);
  }

  /** Cuts a and b off from each other (both ways). */
  partition(a: string, b: string): void {
    this.blocked.add(a < b ? `${a}|${b}` : `${b}|${a}`);
  }

  /** Reconnects a and b. */
  heal(a: string, b: string): void {
    this.blocked.delete(a < b ? `${a}|${b}` : `${b}|${a}`);
  }

  /** Sends `body` from `from` to a node by id or address. */
  send(from: string, to: { id?: string; address: string }, body: Body): void {
    this.sent++;
    const id = to.id !== undefined && to.id !== "" ? to.id : this.idByAddress.get(to.address);
    if (id === undefined || this.down.has(from) || this.random() < this.lossRate) {
      this.lost++;
      return;
    }
    if (this.blocked.has(from < id ? `${from}|${id}` : `${id}|${from}`)) {
      this.lost++;
      return;
    }
    const latency = this.minLatency + (this.maxLatency - this.minLatency) * this.random();
    this.clock.setTimeout(() => {
      if (this.down.has(id)) return;
      this.receivers.get(id)?.(from, body);
    }, latency);
  }
}
