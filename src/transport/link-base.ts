/**
 * What both ends of a peer link share: the bounded outbound queue, batching of envelopes written in the
 * same tick into one frame, the state machine and the Hello handshake.
 *
 * The queue holds what the transport prepares for each envelope at send time: the envelope itself (in-memory
 * transport) or its encoding (gRPC), so encoding errors and oversized envelopes fail the send that caused them.
 *
 * Batching: `send` only queues. The writer (the stream's FrameSource, see frameSource) takes everything queued
 * at once; when it is idle and waiting, the first `send` wakes it with process.nextTick. The raw HTTP/2 streams
 * write from that wake-up callback directly (no promise or async iterator per frame, link-stream.ts). Sends made while promise
 * callbacks run (replies, a request loop) reach the queue before that tick, which runs once the microtask
 * queue is empty; so every envelope of a burst travels in the same frame, one event-loop turn sooner than a
 * setImmediate wake. Later bursts of the same event-loop turn (sends from other I/O callbacks, e.g. client
 * requests routed over the link) wait for the turn's end (setImmediate) and share a frame. When the peer is
 * slow, envelopes accumulate up to `maxQueuedEnvelopes` and then `send` fails fast with RESOURCE_EXHAUSTED.
 */
import { create } from "@bufbuild/protobuf";
import type { Envelope } from "../../gen/agentmesh/v1/envelope_pb.js";
import { HelloSchema, type AgentInfo } from "../../gen/agentmesh/v1/membership_pb.js";
import { newEnvelope } from "../protocol/envelope.js";
import { Code, MeshError } from "../protocol/errors.js";
import type { Logger } from "../protocol/logger.js";
import type { TransportConfig } from "./config.js";
import type { Link, LinkState, TransportHost } from "./transport.js";

/** The protocol version spoken in Hello. */
export const PROTOCOL_VERSION = 1;

let nextLinkId = 1;

/** Callbacks from a link to the transport that owns it; `Q` is what its links queue per envelope. */
export interface LinkOwner<Q> {
  /** The node above the transport. */
  host: TransportHost;
  /** Limits. */
  config: TransportConfig;
  /** Where to log. */
  logger: Logger;
  /** Called when the peer's Hello arrives (before the host hears of it). */
  helloReceived(link: LinkBase<Q>, peer: AgentInfo): void;
  /** Called once the link is closed for good. */
  linkClosed(link: LinkBase<Q>): void;
  /** What to queue for `envelope` (the envelope, or its encoding, `encoded` when given); throws a MeshError to refuse it. */
  prepare(envelope: Envelope, encoded?: Uint8Array): Q;
}

/**
 * The frames a link's stream writes, pulled by the stream's writer: synchronously (poll, then notify to be
 * woken when there is more), or as an async iterable for writers that iterate.
 */
export interface FrameSource<Q> extends AsyncIterable<Q[]> {
  /**
   * The next batch when one is ready; undefined when none is (ask notify to be woken); null when the stream
   * should end. Throws when the stream should fail with that error.
   */
  poll(): Q[] | null | undefined;
  /** Calls `wake` once, when poll may return something new (a batch or the end). One waiter at a time. */
  notify(wake: () => void): void;
  /** Tells the link its writer stopped pulling (the stream ended or failed); harmless twice. */
  done(): void;
}

/** Shared machinery of inbound and outbound links; frames are arrays of `Q`, what the owner prepares per envelope. */
export abstract class LinkBase<Q = Envelope> implements Link {
  /** Unique per process. */
  readonly id = nextLinkId++;
  abstract readonly direction: "outbound" | "inbound";
  /** The peer, once its Hello arrived. */
  peer: AgentInfo | undefined;
  private current: LinkState = { t: "connecting", attempt: 1 };
  private queue: Q[] = [];
  private waiter: (() => void) | undefined;
  private wakeScheduled = false;
  /** True when a burst was already woken for in this event-loop turn (until its check phase). */
  private flushedThisTurn = false;
  /** Bumped per stream (reconnects), so a stale frame generator never takes envelopes meant for the next. */
  protected generation = 0;
  /** True once close() was called: write what is queued, then end. */
  protected closing = false;
  private closeReason = "closed";
  private readonly listeners = new Set<(state: LinkState, link: Link) => void>();

  constructor(
    /** host:port of the peer. */
    public remoteAddress: string,
    protected readonly owner: LinkOwner<Q>,
  ) {}

  get state(): LinkState {
    return this.current;
  }

  get queued(): number {
    return this.queue.length;
  }

  send(envelope: Envelope, encoded?: Uint8Array): void {
    if (this.current.t === "closed" || this.closing) {
      throw new MeshError(Code.Unavailable, `link to ${this.describe()} is closed (${this.closeReason})`);
    }
    if (this.queue.length >= this.owner.config.maxQueuedEnvelopes) {
      throw new MeshError(
        Code.ResourceExhausted,
        `link to ${this.describe()}: outbound queue full (${this.owner.config.maxQueuedEnvelopes} envelopes); the peer is not keeping up`,
        { retryable: true },
      );
    }
    this.queue.push(this.owner.prepare(envelope, encoded));
    this.wake();
  }

  onState(listener: (state: LinkState, link: Link) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(reason = "closed"): void {
    if (this.closing || this.current.t === "closed") return;
    this.closing = true;
    this.closeReason = reason;
    this.wakeNow();
    this.onClose();
  }

  /** For logs and errors: the peer's id when known, else its address. */
  describe(): string {
    return this.peer !== undefined ? `agent ${this.peer.id} (${this.remoteAddress})` : this.remoteAddress;
  }

  /** Subclass hook run when close() is called. */
  protected abstract onClose(): void;

  /** Moves to `state` and tells the listeners. */
  protected setState(state: LinkState): void {
    if (this.current.t === "closed") return;
    this.current = state;
    if (state.t === "closed") {
      this.queue = [];
      this.wakeNow();
      this.owner.linkClosed(this);
    }
    for (const l of [...this.listeners]) {
      try {
        l(state, this);
      } catch (err) {
        this.owner.logger.error({ err, link: this.id }, "link state listener threw");
      }
    }
  }

  /** Ends the link for good (with the close reason when none is given). */
  protected finish(reason?: string): void {
    if (reason !== undefined) this.closeReason = reason;
    this.setState({ t: "closed", reason: this.closeReason });
  }

  /** True while the link can take envelopes (not closing, not closed). */
  get usable(): boolean {
    return !this.closing && this.current.t !== "closed";
  }

  /** Ends the link now, dropping what is queued (used when a graceful close takes too long). */
  abstract terminate(reason: string): void;

  /** The Hello envelope introducing this node, prepared for the queue. */
  protected hello(): Q {
    const agent = this.owner.host.localInfo();
    return this.owner.prepare(
      newEnvelope({
        from: agent.id,
        body: { case: "hello", value: create(HelloSchema, { agent, protocolVersion: PROTOCOL_VERSION }) },
      }),
    );
  }

  /** Handles one received envelope: a Hello completes the handshake, anything else goes to the host. */
  protected receive(envelope: Envelope): void {
    if (envelope.body.case === "hello") {
      const agent = envelope.body.value.agent;
      if (agent === undefined || agent.id === "") {
        throw new MeshError(Code.InvalidArgument, "hello.agent.id: must not be empty");
      }
      this.peer = agent;
      if (this.direction === "inbound" && agent.address !== "") this.remoteAddress = agent.address;
      this.owner.helloReceived(this, agent);
      if (this.current.t === "closed") return;
      this.setState({ t: "ready" });
      this.owner.host.onPeerHello?.(agent, this);
      return;
    }
    if (this.peer === undefined) {
      throw new MeshError(Code.FailedPrecondition, `first envelope on a link must be a hello, got ${envelope.body.case}`);
    }
    try {
      this.owner.host.onEnvelope(envelope, this);
    } catch (err) {
      this.owner.logger.error({ err, link: this.id, messageId: envelope.messageId }, "envelope handler threw");
    }
  }

  /**
   * The next batch for the stream of generation `gen`: up to maxBatchEnvelopes of what is queued; undefined
   * when nothing is queued now; null when that stream should end (closing and drained, closed, or superseded
   * by a reconnect).
   */
  protected pollQueue(gen: number): Q[] | null | undefined {
    if (gen !== this.generation || this.current.t === "closed") return null;
    if (this.queue.length > 0) {
      const max = this.owner.config.maxBatchEnvelopes;
      if (this.queue.length <= max) {
        const batch = this.queue;
        this.queue = [];
        return batch;
      }
      return this.queue.splice(0, max);
    }
    return this.closing ? null : undefined;
  }

  /** Takes what is queued now without waiting (for the first frame of a stream). */
  protected takeQueued(): Q[] {
    const max = this.owner.config.maxBatchEnvelopes;
    return this.queue.length <= max ? this.queue.splice(0) : this.queue.splice(0, max);
  }

  /**
   * The frames of one stream, for its writer: `poll` says what is next (see FrameSource); `done` runs once,
   * when the writer stops. The writer is woken (see wake) when something is queued and when the link closes.
   */
  protected frameSource(poll: () => Q[] | null | undefined, done?: () => void): FrameSource<Q> {
    let finished = false;
    const source: FrameSource<Q> = {
      poll,
      notify: (wake) => {
        this.waiter = wake;
      },
      done: () => {
        if (finished) return;
        finished = true;
        done?.();
      },
      [Symbol.asyncIterator]: async function* () {
        try {
          for (;;) {
            const batch = poll();
            if (batch === null) return;
            if (batch !== undefined) yield batch;
            else await new Promise<void>((resolve) => source.notify(resolve));
          }
        } finally {
          source.done();
        }
      },
    };
    return source;
  }

  /**
   * Wakes a waiting writer once the current burst of sends is queued (see the file comment): at the next tick
   * for the first burst of an event-loop turn, at the end of the turn (setImmediate) for later ones, so that
   * sends from many I/O callbacks of one turn still share a frame.
   */
  private wake(): void {
    if (this.waiter === undefined || this.wakeScheduled) return;
    this.wakeScheduled = true;
    if (this.flushedThisTurn) {
      setImmediate(this.wakeTick);
      return;
    }
    this.flushedThisTurn = true;
    setImmediate(this.endTurn);
    process.nextTick(this.wakeTick);
  }

  private readonly wakeTick = (): void => {
    this.wakeScheduled = false;
    this.wakeNow();
  };

  private readonly endTurn = (): void => {
    this.flushedThisTurn = false;
  };

  /** Wakes a waiting writer now. */
  protected wakeNow(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }
}
