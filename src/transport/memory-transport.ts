/**
 * An in-memory network of transports for simulations and unit tests. Each test makes its own
 * MemoryNetwork (never a process-wide global). Frames are encoded and decoded as on the wire, so what works
 * here works over gRPC.
 *
 * Faults. Streams can be cut (cutBetween), pairs and groups partitioned and healed, and a transport crashed
 * (gone at once, no goodbye). A fault policy (faults.ts: drop, delay and jitter, duplicate, reorder; all off
 * by default) applies to every frame in flight, network-wide (setFaults) or per pair (setPairFaults), drawn
 * from a seedable random source so a run can be replayed. Drop, duplicate and reorder break the links'
 * ordered-stream guarantee on purpose: they model a lossy datagram path under the link, what the upper
 * layers must tolerate (faults.ts says how each copes). With no policy set, a frame takes the same path as
 * without fault injection: one check, then straight to the receiver.
 */
import type { Envelope } from "../../gen/agentmesh/v1/envelope_pb.js";
import { decodeEnvelope, encodeEnvelope } from "../protocol/envelope-codec.js";
import { systemClock, type Clock } from "../protocol/clock.js";
import { Code, MeshError } from "../protocol/errors.js";
import { silentLogger, type Logger } from "../protocol/logger.js";
import { Channel } from "./async-iter.js";
import { transportConfig, type TransportConfig } from "./config.js";
import type { Dialer } from "./dialer.js";
import { FaultPipe, faultPolicy, frameCounters, isFaultFree, seededRandom, type FaultPolicy, type FrameCounters, type PipeContext } from "./faults.js";
import { PeerTransport } from "./peer-transport.js";
import type { TransportHost } from "./transport.js";

export { faultPolicy, noFaults, seededRandom, type FaultPolicy, type FrameCounters } from "./faults.js";

/** One open stream between two addresses. */
interface Connection {
  readonly a: string;
  readonly b: string;
  cut(reason: string): void;
}

/** Options of a MemoryNetwork. */
export interface MemoryNetworkOptions {
  /** Seed of the random source that decides faults. Default 1 (reproducible unless told otherwise). */
  seed?: number;
  /** The random source itself, numbers in [0, 1); overrides `seed`. */
  random?: () => number;
  /** Time source of delays and the reorder window. Default: the system clock. */
  clock?: Clock;
  /** A network-wide fault policy from the start (see setFaults). Default: none. */
  faults?: Partial<FaultPolicy>;
}

/** A private network of in-memory transports. */
export class MemoryNetwork {
  /** What happened to frames so far (for measurements and fault tests). */
  readonly frames: FrameCounters = frameCounters();
  private readonly listeners = new Map<string, MemoryTransport>();
  private readonly connections = new Set<Connection>();
  private readonly blocked = new Set<string>();
  private readonly crashed = new WeakSet<MemoryTransport>();
  private readonly random: () => number;
  private readonly clock: Clock;
  private networkFaults: FaultPolicy | undefined;
  private readonly pairFaults = new Map<string, FaultPolicy | undefined>();
  /** True while any policy is set: the one check on the fast path. */
  private faulty = false;
  private nextAddress = 1;

  /** Creates an empty network. */
  constructor(options: MemoryNetworkOptions = {}) {
    this.random = options.random ?? seededRandom(options.seed ?? 1);
    this.clock = options.clock ?? systemClock;
    if (options.faults !== undefined) this.setFaults(options.faults);
  }

  /** Frames handed to receivers so far (duplicates included). */
  get framesDelivered(): number {
    return this.frames.delivered;
  }

  /** A fresh address on this network. */
  allocateAddress(): string {
    return `mem:${this.nextAddress++}`;
  }

  /** Creates a transport attached to this network. */
  transport(options: MemoryTransportOptions = {}): MemoryTransport {
    return new MemoryTransport(this, options);
  }

  /**
   * Applies `policy` (knobs left out are off) to every frame between pairs without a policy of their own,
   * from the next frame on; `{}` turns network-wide faults off. Frames already held or delayed still arrive.
   */
  setFaults(policy: Partial<FaultPolicy>): void {
    const p = faultPolicy(policy);
    this.networkFaults = isFaultFree(p) ? undefined : p;
    this.updateFaulty();
  }

  /** Applies `policy` to the frames between a and b (both ways) instead of the network-wide one; `{}` exempts the pair. */
  setPairFaults(a: string, b: string, policy: Partial<FaultPolicy>): void {
    const p = faultPolicy(policy);
    this.pairFaults.set(pairKey(a, b), isFaultFree(p) ? undefined : p);
    this.updateFaulty();
  }

  /** Lets the pair a, b follow the network-wide policy again. */
  clearPairFaults(a: string, b: string): void {
    this.pairFaults.delete(pairKey(a, b));
    this.updateFaulty();
  }

  /** Turns every fault policy off, network-wide and per pair (partitions stay). */
  clearFaults(): void {
    this.networkFaults = undefined;
    this.pairFaults.clear();
    this.updateFaulty();
  }

  /** The policy in force between a and b, or undefined when their frames travel unharmed. */
  faultsBetween(a: string, b: string): FaultPolicy | undefined {
    if (!this.faulty) return undefined;
    const key = pairKey(a, b);
    return this.pairFaults.has(key) ? this.pairFaults.get(key) : this.networkFaults;
  }

  /** Blocks traffic between a and b (both ways) and cuts their open streams, until heal(). */
  partition(a: string, b: string): void {
    this.blocked.add(pairKey(a, b));
    this.cutBetween(a, b, "partitioned");
  }

  /** Lets a and b talk again. */
  heal(a: string, b: string): void {
    this.blocked.delete(pairKey(a, b));
  }

  /** Partitions every address of `left` from every address of `right` (each side still talks within itself). */
  partitionGroups(left: readonly string[], right: readonly string[]): void {
    for (const a of left) for (const b of right) this.partition(a, b);
  }

  /** Heals every partition. */
  healAll(): void {
    this.blocked.clear();
  }

  /**
   * Crashes the transport listening at `address`, as a killed process: it stops listening, its open streams
   * break, and it can neither dial nor be dialed from now on; nothing is said to its peers. The node above
   * keeps running in the void until stopped. A new transport may then listen at the address (a restart).
   */
  crash(address: string): void {
    const transport = this.listeners.get(address);
    if (transport === undefined) throw new MeshError(Code.NotFound, `no transport listens at ${address}`);
    this.crashed.add(transport);
    this.unlisten(address, transport);
  }

  /** Cuts the open streams between a and b (they may reconnect). */
  cutBetween(a: string, b: string, reason = "cut"): void {
    for (const c of [...this.connections]) {
      if ((c.a === a && c.b === b) || (c.a === b && c.b === a)) c.cut(reason);
    }
  }

  /** Streams open now. */
  get openConnections(): number {
    return this.connections.size;
  }

  /** @internal */
  listen(address: string, transport: MemoryTransport): void {
    if (this.listeners.has(address)) throw new MeshError(Code.AlreadyExists, `address ${address} is in use`);
    if (this.crashed.has(transport)) throw new MeshError(Code.FailedPrecondition, `the transport at ${address} crashed`);
    this.listeners.set(address, transport);
  }

  /** @internal Stops `transport` listening at `address` and cuts the address's streams, like a process exiting. */
  unlisten(address: string, transport: MemoryTransport): void {
    if (this.listeners.get(address) !== transport) return; // crashed earlier; another may listen there now
    this.listeners.delete(address);
    for (const c of [...this.connections]) if (c.a === address || c.b === address) c.cut("peer gone");
  }

  /** @internal Opens a stream from transport `dialer` to `to`. */
  connect(dialer: MemoryTransport, to: string, outgoing: AsyncIterable<Envelope[]>, signal: AbortSignal): AsyncIterable<Envelope[]> {
    const from = dialer.address;
    const target = this.listeners.get(to);
    if (this.crashed.has(dialer)) return failing(new MeshError(Code.Unavailable, `cannot dial ${to}: this transport crashed`));
    if (target === undefined || this.blocked.has(pairKey(from, to))) {
      return failing(new MeshError(Code.Unavailable, `connection refused: ${to}`));
    }
    const toServer = this.pipe(from, to, new Channel<Envelope[]>());
    const toClientChannel = new Channel<Envelope[]>();
    const toClient = this.pipe(to, from, toClientChannel);
    const serverAbort = new AbortController();
    const connection: Connection = {
      a: from,
      b: to,
      cut: (reason) => {
        this.connections.delete(connection);
        const err = new MeshError(Code.Unavailable, `link ${from} -> ${to} ${reason}`);
        toServer.pipe.fail(err);
        toClient.pipe.fail(err);
        serverAbort.abort(err);
      },
    };
    this.connections.add(connection);
    signal.addEventListener("abort", () => connection.cut("aborted"), { once: true });

    void (async () => {
      try {
        for await (const frame of outgoing) toServer.pipe.send(frame);
        toServer.pipe.end();
      } catch (err) {
        toServer.pipe.fail(err);
      }
    })();
    void (async () => {
      try {
        for await (const frame of target.accept(toServer.channel, serverAbort.signal)) toClient.pipe.send(frame);
        toClient.pipe.end();
      } catch (err) {
        toClient.pipe.fail(err);
      }
      this.connections.delete(connection);
    })();
    return toClientChannel;
  }

  /** One direction of a stream, through the fault policy of the pair. */
  private pipe(from: string, to: string, channel: Channel<Envelope[]>): { pipe: FaultPipe<Envelope[]>; channel: Channel<Envelope[]> } {
    const ctx: PipeContext<Envelope[]> = {
      policy: () => this.faultsBetween(from, to),
      random: this.random,
      clock: this.clock,
      counters: this.frames,
      wire: wire,
    };
    return { pipe: new FaultPipe(channel, ctx), channel };
  }

  private updateFaulty(): void {
    this.faulty = this.networkFaults !== undefined || [...this.pairFaults.values()].some((p) => p !== undefined);
  }
}

/** Encodes and decodes a frame's envelopes, as the wire would (with the gRPC transport's codec). */
function wire(frame: Envelope[]): Envelope[] {
  return frame.map((envelope) => decodeEnvelope(encodeEnvelope(envelope)));
}

/** Options of an in-memory transport. */
export interface MemoryTransportOptions {
  /** Its address; default: a fresh one. */
  address?: string;
  /** Limits and timers. */
  config?: Partial<TransportConfig>;
  /** Where to log. */
  logger?: Logger;
  /** Time source. */
  clock?: Clock;
}

/** A transport on a MemoryNetwork. */
export class MemoryTransport extends PeerTransport {
  readonly address: string;

  /** Creates a transport on `network`; start() attaches it. */
  constructor(
    private readonly network: MemoryNetwork,
    options: MemoryTransportOptions = {},
  ) {
    super(transportConfig(options.config), options.logger ?? silentLogger, options.clock ?? systemClock);
    this.address = options.address ?? network.allocateAddress();
  }

  async start(host: TransportHost): Promise<void> {
    this.attach(host);
    this.network.listen(this.address, this);
  }

  protected dialer(address: string): Dialer {
    return (outgoing, signal) => this.network.connect(this, address, outgoing, signal);
  }

  /** Links of the in-memory network queue the envelopes themselves (each delivered frame goes through wire()). */
  protected prepare(envelope: Envelope): Envelope {
    return envelope;
  }

  /** @internal Serves a stream another transport opened. */
  accept(incoming: AsyncIterable<Envelope[]>, signal: AbortSignal): AsyncIterable<Envelope[]> {
    return this.acceptInbound().serve(incoming, signal);
  }

  async stop(): Promise<void> {
    await this.closeLinks();
    this.network.unlisten(this.address, this);
  }
}

function pairKey(a: string, b: string): string {
  return a < b ? `${a}|${b}` : `${b}|${a}`;
}

async function* failing(err: unknown): AsyncGenerator<Envelope[]> {
  throw err;
}
