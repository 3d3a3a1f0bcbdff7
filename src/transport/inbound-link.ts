/** A link a peer dialed to this node: it lives as long as the peer's stream. */
import type { Envelope } from "../../gen/agentmesh/v1/envelope_pb.js";
import { Code, MeshError } from "../protocol/errors.js";
import { LinkBase } from "./link-base.js";

/** An inbound peer link; it yields frames of `Q`, what its transport prepares per envelope. */
export class InboundLink<Q = Envelope> extends LinkBase<Q> {
  readonly direction = "inbound" as const;
  private ended: (() => void) | undefined;

  /**
   * Serves one accepted stream: reads the peer's Hello, answers with ours, then delivers what arrives and
   * yields batches of what this node sends until either side closes.
   */
  async *serve(incoming: AsyncIterable<Envelope[]>, signal: AbortSignal): AsyncGenerator<Q[]> {
    const gen = ++this.generation;
    const it = incoming[Symbol.asyncIterator]();
    try {
      const first = await it.next();
      if (first.done === true) {
        this.finish("peer closed the link before its hello");
        return;
      }
      const [hello, ...rest] = first.value;
      if (hello?.body.case !== "hello") {
        throw new MeshError(Code.InvalidArgument, `first envelope on a link must be a hello, got ${hello?.body.case ?? "an empty frame"}`);
      }
      this.receive(hello);
      // Answer even a refused hello, so a dialer that reached itself learns it and stops redialing.
      yield [this.hello()];
      if (!this.usable) return;
      for (const envelope of rest) this.receive(envelope);
      const onAbort = () => this.terminate("stream aborted");
      signal.addEventListener("abort", onAbort, { once: true });
      void this.read(it);
      for (;;) {
        const batch = await this.nextBatch(gen);
        if (batch === undefined) break;
        yield batch;
      }
      signal.removeEventListener("abort", onAbort);
    } finally {
      this.finish();
    }
  }

  private async read(it: AsyncIterator<Envelope[]>): Promise<void> {
    try {
      for (;;) {
        const next = await it.next();
        if (next.done === true) break;
        for (const envelope of next.value) this.receive(envelope);
      }
      this.close("peer closed the link");
    } catch (err) {
      this.terminate(`link read failed: ${MeshError.from(err).message}`);
    }
  }

  protected onClose(): void {
    this.ended?.();
  }

  terminate(reason: string): void {
    this.close(reason);
    this.finish(reason);
  }
}
