/**
 * A non-recording span whose context is known to be valid: a remote parent parsed from a W3C traceparent, or
 * a span the sampler left out here (its context still travels, unsampled). The API's NonRecordingSpan does
 * the same, but the recorder and the parent-based sampler would check its ids against a regular expression
 * for every span started under it; this class says they were checked. It is its own SpanContext (one object
 * per remote parent or sampled-out span, not two).
 */
import type { Span, SpanContext, TraceState } from "@opentelemetry/api";

/** A span carrying a valid context and recording nothing; see the file comment. */
export class ContextOnlySpan implements Span, SpanContext {
  /** A span for a context whose ids are valid (checked by whoever makes it). */
  constructor(
    /** The trace's id (32 lowercase hex digits). */
    readonly traceId: string,
    /** The span's id (16 lowercase hex digits). */
    readonly spanId: string,
    /** W3C trace flags. */
    readonly traceFlags: number,
    /** Vendor trace state carried on, if any. */
    readonly traceState: TraceState | undefined,
    /** True for a parent propagated from another process. */
    readonly isRemote: boolean,
  ) {}

  /** The carried context: the span itself. */
  spanContext(): SpanContext {
    return this;
  }

  /** Records nothing. */
  setAttribute(): this {
    return this;
  }

  /** Records nothing. */
  setAttributes(): this {
    return this;
  }

  /** Records nothing. */
  addEvent(): this {
    return this;
  }

  /** Records nothing. */
  addLink(): this {
    return this;
  }

  /** Records nothing. */
  addLinks(): this {
    return this;
  }

  /** Records nothing. */
  setStatus(): this {
    return this;
  }

  /** Records nothing. */
  updateName(): this {
    return this;
  }

  /** Nothing to end. */
  end(): void {}

  /** Never recording. */
  isRecording(): boolean {
    return false;
  }

  /** Records nothing. */
  recordException(): void {}
}
