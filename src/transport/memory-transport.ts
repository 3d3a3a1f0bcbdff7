/**
 * An in-memory network of transports for simulations and unit tests. Each test makes its own
 * MemoryNetwork (never a process-wide global). Frames are encoded and decoded as on the wire, so what works
 * here works over gRPC; the network can cut links and partition agents to inject faults.
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import type { Envelope } from "../../gen/agentmesh/v1/envelope_pb.js";
import { LinkRequestSchema } from "../../gen/agentmesh/v1/mesh_service_pb.js";
import { systemClock, type Clock } from "../protocol/clock.js";
import { Code, MeshError } from "../protocol/errors.js";
import { silentLogger, type Logger } from "../protocol/logger.js";
import { Channel } from "./async-iter.js";
import { transportConfig, type TransportConfig } from "./config.js";
import type { Dialer } from "./dialer.js";
import { PeerTransport } from "./peer-transport.js";
import type { TransportHost } from "./transport.js";

/** One open stream between two addresses. */
interface Connection {
  readonly a: string;
  readonly b: string;
  cut(reason: string): void;
}

/** A private network of in-memory transports. */
export class MemoryNetwork {
  private readonly listeners = new Map<string, MemoryTransport>();
  private readonly connections = new Set<Connection>();
  private readonly blocked = new Set<string>();
  private nextAddress = 1;
  /** Frames delivered so far (for measurements). */
  framesDelivered = 0;

  /** A fresh address on this network. */
  allocateAddress(): string {
    return `mem:${this.nextAddress++}`;
  }

  /** Creates a transport attached to this network. */
  transport(options: MemoryTransportOptions = {}): MemoryTransport {
    return new MemoryTransport(this, options);
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
    this.listeners.set(address, transport);
  }

  /** @internal Stops listening and cuts the address's streams, like a process exiting. */
  unlisten(address: string): void {
    this.listeners.delete(address);
    for (const c of [...this.connections]) if (c.a === address || c.b === address) c.cut("peer gone");
  }

  /** @internal Opens a stream from `from` to `to`. */
  connect(from: string, to: string, outgoing: AsyncIterable<Envelope[]>, signal: AbortSignal): AsyncIterable<Envelope[]> {
    const target = this.listeners.get(to);
    if (target === undefined || this.blocked.has(pairKey(from, to))) {
      return failing(new MeshError(Code.Unavailable, `connection refused: ${to}`));
    }
    const toServer = new Channel<Envelope[]>();
    const toClient = new Channel<Envelope[]>();
    const serverAbort = new AbortController();
    const connection: Connection = {
      a: from,
      b: to,
      cut: (reason) => {
        this.connections.delete(connection);
        const err = new MeshError(Code.Unavailable, `link ${from} -> ${to} ${reason}`);
        toServer.fail(err);
        toClient.fail(err);
        serverAbort.abort(err);
      },
    };
    this.connections.add(connection);
    signal.addEventListener("abort", () => connection.cut("aborted"), { once: true });

    void (async () => {
      try {
        for await (const frame of outgoing) toServer.push(this.wire(frame));
        toServer.end();
      } catch (err) {
        toServer.fail(err);
      }
    })();
    void (async () => {
      try {
        for await (const frame of target.accept(toServer, serverAbort.signal)) toClient.push(this.wire(frame));
        toClient.end();
      } catch (err) {
        toClient.fail(err);
      }
      this.connections.delete(connection);
    })();
    return toClient;
  }

  /** Encodes and decodes a frame, as the wire would. */
  private wire(frame: Envelope[]): Envelope[] {
    this.framesDelivered++;
    const bytes = toBinary(LinkRequestSchema, create(LinkRequestSchema, { envelopes: frame }));
    return fromBinary(LinkRequestSchema, bytes).envelopes;
  }
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
    return (outgoing, signal) => this.network.connect(this.address, address, outgoing, signal);
  }

  /** @internal Serves a stream another transport opened. */
  accept(incoming: AsyncIterable<Envelope[]>, signal: AbortSignal): AsyncIterable<Envelope[]> {
    return this.acceptInbound().serve(incoming, signal);
  }

  async stop(): Promise<void> {
    await this.closeLinks();
    this.network.unlisten(this.address);
  }
}

function pairKey(a: string, b: string): string {
  return a < b ? `${a}|${b}` : `${b}|${a}`;
}

async function* failing(err: unknown): AsyncGenerator<Envelope[]> {
  throw err;
}
