/** A link this node dialed: it reconnects with exponential backoff while it is wanted. */
import { Code, MeshError } from "../protocol/errors.js";
import type { Clock, TimerHandle } from "../protocol/clock.js";
import type { Envelope } from "../../gen/agentmesh/v1/envelope_pb.js";
import { forEachItem } from "./async-iter.js";
import { backoffDelayMs } from "./backoff.js";
import type { Dialer } from "./dialer.js";
import { LinkBase, type FrameSource, type LinkOwner } from "./link-base.js";

/** An outbound peer link; its frames are arrays of `Q`, what its transport prepares per envelope. */
export class OutboundLink<Q = Envelope> extends LinkBase<Q> {
  readonly direction = "outbound" as const;
  private abort: AbortController | undefined;
  private retry: { timer: TimerHandle; resolve: () => void } | undefined;
  private failures = 0;

  /** Creates the link; call start() to dial. */
  constructor(
    address: string,
    owner: LinkOwner<Q>,
    private readonly dial: Dialer<Q>,
    private readonly clock: Clock,
  ) {
    super(address, owner);
    this.onState((state) => {
      if (state.t === "ready") this.failures = 0;
    });
  }

  /** Starts dialing (and redialing after failures) in the background. */
  start(): void {
    void this.run();
  }

  private async run(): Promise<void> {
    while (!this.closing && this.state.t !== "closed") {
      this.failures++;
      const gen = ++this.generation;
      this.setState({ t: "connecting", attempt: this.failures });
      const abort = new AbortController();
      this.abort = abort;
      let error: MeshError;
      try {
        await forEachItem(this.dial(this.frames(gen), abort.signal), this.receiveFrame);
        error = new MeshError(Code.Unavailable, `${this.describe()} ended the link`);
      } catch (err) {
        error = MeshError.from(err, Code.Unavailable);
      } finally {
        abort.abort();
        this.abort = undefined;
        // End this stream's frame generator: left waiting, it would take what is sent during the backoff
        // and hand it to a stream that is gone.
        this.generation++;
        this.wakeNow();
      }
      if (!this.usable) break;
      const config = this.owner.config;
      const retryInMs = backoffDelayMs(this.failures, {
        initialMs: config.reconnectInitialMs,
        maxMs: config.reconnectMaxMs,
        multiplier: config.reconnectMultiplier,
        jitter: config.reconnectJitter,
      });
      this.setState({ t: "backoff", attempt: this.failures, retryInMs, error });
      this.owner.logger.debug({ link: this.id, peer: this.describe(), retryInMs, err: error.message }, "link down, reconnecting");
      await new Promise<void>((resolve) => {
        this.retry = { timer: this.clock.setTimeout(resolve, retryInMs), resolve };
      });
      this.retry = undefined;
    }
    this.finish();
  }

  /** The frames of one stream: Hello (with anything already queued), then batches as they come. */
  private frames(gen: number): FrameSource<Q> {
    let first = true;
    return this.frameSource(() => {
      if (!first) return this.pollQueue(gen);
      first = false;
      return [this.hello(), ...this.takeQueued()];
    });
  }

  /** Handles the envelopes of one received frame, in order. */
  private readonly receiveFrame = (frame: Envelope[]): void => {
    for (const envelope of frame) this.receive(envelope);
  };

  protected onClose(): void {
    if (this.retry !== undefined) {
      this.retry.timer.cancel();
      this.retry.resolve();
    }
    if (this.abort === undefined) return;
    // The stream ends once the queue is written and the peer ends its side; don't wait forever for that.
    const abort = this.abort;
    this.clock.setTimeout(() => abort.abort(), this.owner.config.closeGraceMs);
  }

  terminate(reason: string): void {
    this.close(reason);
    this.abort?.abort();
    this.finish(reason);
  }
}
