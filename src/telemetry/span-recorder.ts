/**
 * The node's span recorder: an OpenTelemetry API TracerProvider whose tracers make RecordedSpans — parent and
 * child through the context as the API defines it, the sampler's decision (a sampled-out span records nothing
 * but carries a valid, unsampled context, so the decision travels on), links, status and events — and hand
 * each finished span to the recorder's sinks: the span ring, the OTLP export queue, and any SDK span processor
 * a caller adds. No SDK span machinery runs per span: ids come from a random pool, times are microseconds
 * from a shared wall-clock epoch, attributes are kept as set.
 */
import {
  context as contextApi,
  createContextKey,
  INVALID_SPAN_CONTEXT,
  isSpanContextValid,
  SamplingDecision,
  SpanKind,
  trace,
  TraceFlags,
  type Attributes,
  type Context,
  type Link,
  type Sampler,
  type Span,
  type SpanContext,
  type SpanOptions,
  type Tracer,
  type TracerProvider,
} from "@opentelemetry/api";
import type { Resource } from "@opentelemetry/resources";
import { ContextOnlySpan } from "./context-only-span.js";
import { DEFAULT_SPAN_LIMITS, IdWords, RecordedSpan, type SpanLimits, type SpanOwner } from "./recorded-span.js";
import { lastIdWords, newSpanId, newTraceId } from "./span-ids.js";
import { epochAt, microsSince, sinceEpoch } from "./span-time.js";

/** The context key with which the SDK marks work that must not be traced (e.g. an exporter's own requests). */
const SUPPRESS_TRACING_KEY = createContextKey("OpenTelemetry SDK Context Key SUPPRESS_TRACING");

/** True when `span`'s context is valid by construction (recorded here, or checked when it was made). */
export function knownValid(span: Span | undefined): boolean {
  return span instanceof RecordedSpan || span instanceof ContextOnlySpan;
}

/** The parent of a span whose parent is not a span of this process: its ids have no words (IdWords 0). */
const NO_WORDS = { traceW0: 0, traceW1: 0, traceW2: 0, traceW3: 0, spanW0: 0, spanW1: 0, idWords: 0 };

/** What the sampler is given for a span started without links or attributes (shared: nothing is allocated). */
const NO_LINKS: Link[] = Object.freeze([]) as unknown as Link[];
const NO_ATTRIBUTES: Attributes = Object.freeze({});

/** Where finished spans go (the span ring, the export queue, an SDK span processor). */
export interface SpanSink {
  /** Called when a recording span starts, with the context it started in (SDK processors may use it). */
  onStart?(span: RecordedSpan, parentContext: Context): void;
  /** Called once when a recording span ends. */
  onEnd(span: RecordedSpan): void;
  /** Delivers what is buffered. */
  forceFlush(): Promise<void>;
  /** Delivers what is buffered and stops. */
  shutdown(): Promise<void>;
}

/** Options of a SpanRecorder. */
export interface SpanRecorderOptions {
  /** Decides which spans are recorded and sampled. */
  sampler: Sampler;
  /** Span limits; default the SDK's (DEFAULT_SPAN_LIMITS). */
  limits?: Partial<SpanLimits>;
  /** Where finished spans go, in order. */
  sinks: SpanSink[];
  /** The resource of every span, made when first asked for (exporters and SDK processors ask; the ring does not). */
  resource: () => Resource;
}

/** A TracerProvider recording RecordedSpans; see the file comment. */
export class SpanRecorder implements TracerProvider {
  private readonly tracers = new Map<string, RecorderTracer>();
  private readonly limits: Readonly<SpanLimits>;
  private readonly starters: SpanSink[];
  private resourceMade: Resource | undefined;
  private stopped: Promise<void> | undefined;
  /** False after shutdown: tracers then make non-recording spans. */
  recording = true;

  /** A recorder with `options`; spans are recorded from now on. */
  constructor(private readonly options: SpanRecorderOptions) {
    this.limits = { ...DEFAULT_SPAN_LIMITS, ...options.limits };
    this.starters = options.sinks.filter((s) => s.onStart !== undefined);
  }

  /** The tracer of instrumentation scope `name` (and `version`). */
  getTracer(name: string, version?: string, options?: { schemaUrl?: string }): Tracer {
    const key = `${name}@${version ?? ""}:${options?.schemaUrl ?? ""}`;
    let tracer = this.tracers.get(key);
    if (tracer === undefined) {
      tracer = new RecorderTracer(this, { name, version, schemaUrl: options?.schemaUrl }, this.limits, this.options.sampler);
      this.tracers.set(key, tracer);
    }
    return tracer;
  }

  /** The resource of every span. */
  get resource(): Resource {
    return (this.resourceMade ??= this.options.resource());
  }

  /** Hands a started span to the sinks that watch starts. */
  started(span: RecordedSpan, parent: Context): void {
    for (const sink of this.starters) sink.onStart!(span, parent);
  }

  /** Hands a finished span to every sink. */
  finished(span: RecordedSpan): void {
    const sinks = this.options.sinks;
    for (let i = 0; i < sinks.length; i++) sinks[i].onEnd(span);
  }

  /** Delivers what every sink buffers. */
  async forceFlush(): Promise<void> {
    await Promise.all(this.options.sinks.map((s) => s.forceFlush()));
  }

  /** Stops recording, then flushes and shuts every sink down. Harmless twice. */
  shutdown(): Promise<void> {
    this.recording = false;
    return (this.stopped ??= Promise.all(this.options.sinks.map((s) => s.shutdown())).then(() => undefined));
  }
}

/** A tracer of one instrumentation scope. */
class RecorderTracer implements Tracer, SpanOwner {
  constructor(
    private readonly recorder: SpanRecorder,
    readonly instrumentationScope: SpanOwner["instrumentationScope"],
    readonly limits: Readonly<SpanLimits>,
    private readonly sampler: Sampler,
  ) {}

  /** The resource of every span. */
  get resource(): Resource {
    return this.recorder.resource;
  }

  /** Hands a finished span to the recorder's sinks. */
  finish(span: RecordedSpan): void {
    this.recorder.finished(span);
  }

  /** A new span, a child of the span in `ctx` (default: the active context) unless `options.root`. */
  startSpan(name: string, options: SpanOptions = {}, ctx: Context = contextApi.active()): Span {
    if (!this.recorder.recording || ctx.getValue(SUPPRESS_TRACING_KEY) === true) return trace.wrapSpanContext(INVALID_SPAN_CONTEXT);
    if (options.root === true) ctx = trace.deleteSpan(ctx);
    const parentSpan = trace.getSpan(ctx);
    let parent: SpanContext | undefined = parentSpan?.spanContext();
    if (parent !== undefined && !knownValid(parentSpan) && !isSpanContextValid(parent)) parent = undefined;
    const traceId = parent !== undefined ? parent.traceId : newTraceId();
    // The trace id's words: made here (a root) or the parent's own (a span of this process).
    const traceFrom = parent === undefined ? undefined : parentSpan instanceof RecordedSpan ? parentSpan : NO_WORDS;
    const t0 = traceFrom === undefined ? lastIdWords[0] : traceFrom.traceW0;
    const t1 = traceFrom === undefined ? lastIdWords[1] : traceFrom.traceW1;
    const t2 = traceFrom === undefined ? lastIdWords[2] : traceFrom.traceW2;
    const t3 = traceFrom === undefined ? lastIdWords[3] : traceFrom.traceW3;
    const kind = options.kind ?? SpanKind.INTERNAL;
    const links = options.links ?? NO_LINKS;
    const attributes = options.attributes ?? NO_ATTRIBUTES;
    const result = this.sampler.shouldSample(ctx, traceId, name, kind, attributes, links);
    const spanId = newSpanId();
    const traceFlags = result.decision === SamplingDecision.RECORD_AND_SAMPLED ? TraceFlags.SAMPLED : TraceFlags.NONE;
    const traceState = result.traceState ?? parent?.traceState;
    if (result.decision === SamplingDecision.NOT_RECORD) return new ContextOnlySpan(traceId, spanId, traceFlags, traceState, false);
    const now = performance.now();
    const epoch = epochAt(now);
    const start = options.startTime === undefined ? sinceEpoch(epoch, now) : microsSince(epoch, options.startTime);
    const span = new RecordedSpan(this, traceId, spanId, traceFlags, traceState, parent, name, kind, epoch, start);
    span.traceW0 = t0;
    span.traceW1 = t1;
    span.traceW2 = t2;
    span.traceW3 = t3;
    span.spanW0 = lastIdWords[0];
    span.spanW1 = lastIdWords[1];
    if (traceFrom === undefined) span.idWords = IdWords.TRACE | IdWords.SPAN;
    else if (traceFrom === NO_WORDS) span.idWords = IdWords.SPAN;
    else {
      span.parentW0 = traceFrom.spanW0;
      span.parentW1 = traceFrom.spanW1;
      span.idWords = IdWords.SPAN | (traceFrom.idWords & IdWords.TRACE) | ((traceFrom.idWords & IdWords.SPAN) !== 0 ? IdWords.PARENT : 0);
    }
    if (options.attributes !== undefined) span.setAttributes(options.attributes);
    if (result.attributes !== undefined) span.setAttributes(result.attributes);
    if (links.length > 0) span.addLinks(links);
    this.recorder.started(span, ctx);
    return span;
  }

  /** Runs `fn` with a new span active (the API's overloads: options and context optional). */
  startActiveSpan<F extends (span: Span) => unknown>(name: string, ...rest: [F] | [SpanOptions, F] | [SpanOptions, Context | undefined, F]): ReturnType<F> {
    const fn = rest[rest.length - 1] as F;
    const options = rest.length >= 2 ? (rest[0] as SpanOptions) : undefined;
    const parent = (rest.length === 3 ? (rest[1] as Context | undefined) : undefined) ?? contextApi.active();
    const span = this.startSpan(name, options, parent);
    return contextApi.with(trace.setSpan(parent, span), fn as (span: Span) => ReturnType<F>, undefined, span);
  }
}
