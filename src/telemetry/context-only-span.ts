/**
 * A non-recording span whose context is known to be valid: a remote parent parsed from a W3C traceparent, or
 * a span the sampler left out here (its context still travels, unsampled). The API's NonRecordingSpan does
 * the same, but the recorder and the parent-based sampler would check its ids against a regular expression
 * for every span started under it; this class says they were checked.
 */
import type { Span, SpanContext } from "@opentelemetry/api";

/** A span carrying a valid context and recording nothing; see the file comment. */
export class ContextOnlySpan implements Span {
  /** A span for `context`, whose ids are valid (checked by whoever makes it). */
  constructor(private readonly context: SpanContext) {}

  /** The carried context. */
  spanContext(): SpanContext {
    return this.context;
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
