/** A link a peer dialed to this node: it lives as long as the peer's stream. */
import type { Envelope } from "../../gen/agentmesh/v1/envelope_pb.js";
import { Code, MeshError } from "../protocol/errors.js";
import { forEachItem } from "./async-iter.js";
import { LinkBase, type FrameSource } from "./link-base.js";

/** An inbound peer link; it yields frames of `Q`, what its transport prepares per envelope. */
export class InboundLink<Q = Envelope> extends LinkBase<Q> {
  readonly direction = "inbound" as const;
  private ended: (() => void) | undefined;

  /**
   * Serves one accepted stream: reads the peer's Hello, answers with ours, then delivers what arrives and
   * returns the frames of what this node sends until either side closes. Frames received are handled as they
   * arrive (synchronously when `incoming` is a Channel). A first frame that does not start with a valid Hello
   * fails the returned frames with INVALID_ARGUMENT.
   */
  serve(incoming: AsyncIterable<Envelope[]>, signal: AbortSignal): FrameSource<Q> {
    const gen = ++this.generation;
    /** "hello": waiting for the peer's; "reply": ours is to be sent; "open": envelopes both ways. */
    let phase: "hello" | "reply" | "open" = "hello";
    let failure: unknown;
    /** True when our side refused the peer's hello: what it sends next is not read. */
    let refused = false;
    const onAbort = () => this.terminate("stream aborted");
    const onFrame = (frame: Envelope[]) => {
      if (refused) return;
      let i = 0;
      if (phase === "hello") {
        const hello = frame[0];
        if (hello?.body.case !== "hello") {
          throw new MeshError(Code.InvalidArgument, `first envelope on a link must be a hello, got ${hello?.body.case ?? "an empty frame"}`);
        }
        this.receive(hello);
        // Answer even a refused hello, so a dialer that reached itself learns it and stops redialing.
        phase = "reply";
        this.wakeNow();
        if (!this.usable) {
          refused = true;
          return;
        }
        signal.addEventListener("abort", onAbort, { once: true });
        i = 1;
      }
      for (; i < frame.length; i++) this.receive(frame[i]);
    };
    forEachItem(incoming, onFrame).then(
      () => {
        if (phase === "hello") this.finish("peer closed the link before its hello");
        else if (!refused) this.close("peer closed the link");
      },
      (err: unknown) => {
        if (refused) return;
        if (phase !== "hello") return this.terminate(`link read failed: ${MeshError.from(err).message}`);
        failure = err;
        this.wakeNow();
      },
    );
    return this.frameSource(
      () => {
        if (failure !== undefined) throw failure;
        if (phase === "hello") return this.state.t === "closed" ? null : undefined;
        if (phase === "reply") {
          phase = "open";
          return [this.hello()];
        }
        return this.pollQueue(gen);
      },
      () => {
        signal.removeEventListener("abort", onAbort);
        this.finish();
      },
    );
  }

  protected onClose(): void {
    this.ended?.();
  }

  terminate(reason: string): void {
    this.close(reason);
    this.finish(reason);
  }
}
