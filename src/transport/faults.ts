/**
 * Faults a MemoryNetwork injects into frames in flight: loss, delay with jitter, duplication and
 * reordering, each drawn from a seedable random source so a test can replay them.
 *
 * What they model. A peer link is an ordered stream (HTTP/2 over TCP): on a real link a frame is never lost
 * on its own, duplicated or overtaken — loss shows only as a broken stream, which cutBetween() and
 * partition() inject. drop, duplicate and reorder go further on purpose: they model a lossy datagram path
 * under the link, the worst the layers above must tolerate. SWIM tolerates loss (indirect probes, suspicion
 * before death, refutation); the bus delivers a duplicate message id once and answers a repeated request
 * from its reply cache. Delay and jitter keep a stream's order: a frame never overtakes an earlier one
 * because of jitter; overtaking is the reorder knob alone.
 *
 * The first frame of each direction of a stream (the one carrying the Hello) is never dropped, duplicated
 * or held back, only delayed: a stream that fails to come up is what partition() models, and a link whose
 * handshake vanished would wait for traffic before noticing.
 */
import { seededRandom } from "../protocol/random.js";
import type { Clock, TimerHandle } from "../protocol/clock.js";
import { Code, MeshError } from "../protocol/errors.js";

/** Faults applied to frames in flight. Every knob defaults to off (0). */
export interface FaultPolicy {
  /** Probability that a frame is lost, in [0, 1]. Default 0. */
  dropRate: number;
  /** Probability that a frame arrives twice (the copy right after the original), in [0, 1]. Default 0. */
  duplicateRate: number;
  /**
   * Probability that a frame is held back until the next frame of the same stream direction has overtaken
   * it, in [0, 1]. Default 0.
   */
  reorderRate: number;
  /** How long a held-back frame waits for a later one to overtake it before it goes anyway, ms (sparse traffic needs a window longer than the gap between frames). Default 100. */
  reorderWindowMs: number;
  /** Latency added to every frame, ms. Default 0. */
  delayMs: number;
  /** Extra latency drawn uniformly from [0, jitterMs) per frame, ms; order is kept (see above). Default 0. */
  jitterMs: number;
}

/** No faults: every frame arrives once, in order, at once. */
export const noFaults: Readonly<FaultPolicy> = Object.freeze({
  dropRate: 0,
  duplicateRate: 0,
  reorderRate: 0,
  reorderWindowMs: 100,
  delayMs: 0,
  jitterMs: 0,
});

/** The defaults with `overrides` applied; INVALID_ARGUMENT naming the field for a rate outside [0, 1] or a negative time. */
export function faultPolicy(overrides: Partial<FaultPolicy> = {}): FaultPolicy {
  const p: FaultPolicy = { ...noFaults };
  for (const [key, value] of Object.entries(overrides) as [keyof FaultPolicy, number | undefined][]) {
    if (value === undefined) continue;
    if (!(key in noFaults)) throw new MeshError(Code.InvalidArgument, `faults.${key}: unknown fault knob`);
    const isRate = key.endsWith("Rate");
    if (typeof value !== "number" || !Number.isFinite(value) || value < 0 || (isRate && value > 1)) {
      throw new MeshError(Code.InvalidArgument, `faults.${key}: must be ${isRate ? "a probability in [0, 1]" : "a duration of 0 ms or more"}, got ${String(value)}`);
    }
    p[key] = value;
  }
  return p;
}

/** True when `p` changes nothing (reorderWindowMs alone does not count). */
export function isFaultFree(p: FaultPolicy): boolean {
  return p.dropRate === 0 && p.duplicateRate === 0 && p.reorderRate === 0 && p.delayMs === 0 && p.jitterMs === 0;
}


/** What happened to frames on a network, counted across every stream. */
export interface FrameCounters {
  /** Frames handed to the network by senders. */
  sent: number;
  /** Frames handed to receivers (duplicates included). */
  delivered: number;
  /** Frames lost by dropRate. */
  dropped: number;
  /** Extra copies made by duplicateRate. */
  duplicated: number;
  /** Frames held back and overtaken by a later frame (reorderRate). */
  reordered: number;
  /** Frames that waited for delayMs + jitter before delivery. */
  delayed: number;
}

/** Zeroed counters. */
export function frameCounters(): FrameCounters {
  return { sent: 0, delivered: 0, dropped: 0, duplicated: 0, reordered: 0, delayed: 0 };
}

/** Where a pipe hands its frames: the receiving end of one stream direction. */
export interface FrameSink<F> {
  /** Delivers one frame. */
  push(frame: F): void;
  /** Ends the stream after what was pushed. */
  end(): void;
  /** Fails the stream, dropping what was pushed and not yet read. */
  fail(err: unknown): void;
}

/** What a pipe needs from its network. */
export interface PipeContext<F> {
  /** The policy for this pipe's frames now, or undefined when no fault applies (the fast path). */
  policy(): FaultPolicy | undefined;
  /** Uniform random numbers in [0, 1). */
  random: () => number;
  /** Time source for delays and the reorder window. */
  clock: Clock;
  /** Counters to update. */
  counters: FrameCounters;
  /** Turns a sent frame into what the receiver gets (called once per delivered copy). */
  wire(frame: F): F;
}

interface Held<F> {
  frame: F;
  copies: number;
  timer: TimerHandle;
}

/**
 * One direction of one stream: applies the current policy to each frame and hands the survivors to the
 * sink in stream order (reordering aside). With no policy and nothing in flight, a frame goes straight
 * through.
 */
export class FaultPipe<F> {
  private first = true;
  private held: Held<F> | undefined;
  /** Frames waiting for their delivery time, in order (due times never decrease). */
  private readonly inFlight: { dueMs: number; frame: F }[] = [];
  private timer: TimerHandle | undefined;
  private lastDueMs = 0;
  /** The sender ended the stream (what is in flight still arrives). */
  private ending = false;
  /** The sink was ended or failed: nothing more goes to it. */
  private closed = false;
  private failed = false;

  /** Creates the pipe into `sink`. */
  constructor(
    private readonly sink: FrameSink<F>,
    private readonly ctx: PipeContext<F>,
  ) {}

  /** A frame the sender wrote. */
  send(frame: F): void {
    if (this.closed || this.ending) return;
    this.ctx.counters.sent++;
    const policy = this.ctx.policy();
    if (policy === undefined && this.held === undefined && this.inFlight.length === 0) {
      this.first = false;
      this.deliver(frame);
      return;
    }
    const p = policy ?? noFaults;
    const first = this.first;
    this.first = false;
    const random = this.ctx.random;
    if (!first && p.dropRate > 0 && random() < p.dropRate) {
      this.ctx.counters.dropped++;
      return;
    }
    const copies = !first && p.duplicateRate > 0 && random() < p.duplicateRate ? 2 : 1;
    if (copies === 2) this.ctx.counters.duplicated++;
    if (!first && this.held === undefined && p.reorderRate > 0 && random() < p.reorderRate) {
      const held: Held<F> = { frame, copies, timer: this.ctx.clock.setTimeout(() => this.release(held, p), p.reorderWindowMs) };
      this.held = held;
      return;
    }
    this.enqueue(frame, copies, p);
    const overtaken = this.held;
    if (overtaken !== undefined) {
      this.held = undefined;
      overtaken.timer.cancel();
      this.ctx.counters.reordered++;
      this.enqueue(overtaken.frame, overtaken.copies, p);
    }
  }

  /** The sender ended the stream: what is held or delayed still arrives, then the end. */
  end(): void {
    if (this.closed || this.ending) return;
    this.ending = true;
    const held = this.held;
    if (held !== undefined) this.release(held, this.ctx.policy() ?? noFaults);
    this.maybeEnd();
  }

  /** The stream broke: frames in flight are lost (and unread ones, as a broken stream loses them). */
  fail(err: unknown): void {
    if (this.failed) return;
    this.failed = true;
    this.closed = true;
    this.held?.timer.cancel();
    this.held = undefined;
    this.timer?.cancel();
    this.timer = undefined;
    this.inFlight.length = 0;
    this.sink.fail(err);
  }

  /** A held frame that nothing overtook in time goes on its way. */
  private release(held: Held<F>, p: FaultPolicy): void {
    if (this.held !== held) return;
    this.held = undefined;
    held.timer.cancel();
    this.enqueue(held.frame, held.copies, p);
    this.maybeEnd();
  }

  private enqueue(frame: F, copies: number, p: FaultPolicy): void {
    const latency = p.delayMs + (p.jitterMs > 0 ? this.ctx.random() * p.jitterMs : 0);
    if (latency <= 0 && this.inFlight.length === 0) {
      for (let i = 0; i < copies; i++) this.deliver(frame);
      return;
    }
    if (latency > 0) this.ctx.counters.delayed++;
    const dueMs = Math.max(this.ctx.clock.now() + latency, this.lastDueMs);
    this.lastDueMs = dueMs;
    for (let i = 0; i < copies; i++) this.inFlight.push({ dueMs, frame });
    this.arm();
  }

  private arm(): void {
    if (this.timer !== undefined || this.inFlight.length === 0) return;
    this.timer = this.ctx.clock.setTimeout(() => {
      this.timer = undefined;
      this.flush();
    }, this.inFlight[0].dueMs - this.ctx.clock.now());
  }

  private flush(): void {
    const now = this.ctx.clock.now();
    let n = 0;
    while (n < this.inFlight.length && this.inFlight[n].dueMs <= now) n++;
    for (const { frame } of this.inFlight.splice(0, n)) {
      if (this.closed) return;
      this.deliver(frame);
    }
    this.arm();
    this.maybeEnd();
  }

  private maybeEnd(): void {
    if (this.ending && !this.closed && this.held === undefined && this.inFlight.length === 0) {
      this.closed = true;
      this.sink.end();
    }
  }

  private deliver(frame: F): void {
    this.ctx.counters.delivered++;
    this.sink.push(this.ctx.wire(frame));
  }
}

export { seededRandom };
