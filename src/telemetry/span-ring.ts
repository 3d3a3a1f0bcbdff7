/**
 * A trace without a collector: the node's most recent finished spans in a bounded ring (default 4096), so
 * AgentService.GetSpans can answer "what did this node do for task X" and `agent-mesh trace` can assemble one
 * tree across nodes. A sink of the node's span recorder: onEnd keeps the recorded span itself (one slot
 * write: the span is already compact — ids, name, performance-clock times, status, its attributes object; a
 * few hundred bytes, ~1–2 MB at the default size). It is also an SDK SpanProcessor: an SDK span is kept as a
 * compact record of the same fields. A query scans the ring (4096 slots: well under a millisecond) and
 * converts the matches to the wire type.
 */
import { create } from "@bufbuild/protobuf";
import { SpanKind as OtelSpanKind, SpanStatusCode as OtelStatusCode, type AttributeValue, type Attributes, type HrTime, type SpanStatus } from "@opentelemetry/api";
import type { ReadableSpan, SpanProcessor } from "@opentelemetry/sdk-trace-base";
import { RecordedSpan } from "./recorded-span.js";
import type { SpanSink } from "./span-recorder.js";
import { toUnixNanos } from "./span-time.js";
import { SpanKind, SpanSchema, SpanStatusCode, type Span } from "../../gen/agentmesh/v1/trace_pb.js";
import { ATTR_AGENT_ID, ATTR_CORRELATION_ID } from "../protocol/trace-context.js";

/** Spans a ring keeps when no size is configured. */
export const DEFAULT_SPAN_RING_SIZE = 4096;

/** Which spans a query selects: those matching every filter given. */
export interface SpanFilter {
  /** Spans with this agentmesh.correlation_id. */
  correlationId?: string;
  /** Spans of this trace (32 hex digits). */
  traceId?: string;
}

/** Where a node's recent spans can be read (AgentService.GetSpans answers from it). */
export interface SpanSource {
  /** Spans held at most (0: none are kept). */
  readonly capacity: number;
  /** The matching spans still held, oldest first. */
  query(filter: SpanFilter): Span[];
}

/** What the ring keeps of a finished SDK span: references to values the span already holds, nothing copied. */
interface Kept {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string;
  readonly name: string;
  readonly kind: OtelSpanKind;
  readonly start: HrTime;
  readonly end: HrTime;
  readonly status: SpanStatus;
  readonly attributes: Attributes;
  readonly agentId: string;
}

/** The bounded ring of a node's finished spans. */
export class SpanRing implements SpanProcessor, SpanSink, SpanSource {
  /** Spans held at most. */
  readonly capacity: number;
  private readonly slots: (RecordedSpan | Kept | undefined)[];
  private next = 0;
  private count = 0;

  /** A ring of `capacity` spans (at least 1) recorded by agent `agentId` (used when a span's resource names none). */
  constructor(
    capacity: number = DEFAULT_SPAN_RING_SIZE,
    private readonly agentId = "",
  ) {
    this.capacity = Math.max(1, Math.floor(capacity));
    this.slots = new Array<RecordedSpan | Kept | undefined>(this.capacity);
  }

  /** Spans held now. */
  get size(): number {
    return this.count;
  }

  /** Nothing to do when a span starts. */
  onStart(): void {}

  /** Keeps a finished span, overwriting the oldest when full. */
  onEnd(span: ReadableSpan | RecordedSpan): void {
    this.slots[this.next] = span instanceof RecordedSpan ? span : keep(span, this.agentId);
    this.next = this.next + 1 === this.capacity ? 0 : this.next + 1;
    if (this.count < this.capacity) this.count++;
  }

  /** Nothing buffered to flush. */
  forceFlush(): Promise<void> {
    return Promise.resolve();
  }

  /** Drops every span held. */
  shutdown(): Promise<void> {
    this.slots.fill(undefined);
    this.count = 0;
    this.next = 0;
    return Promise.resolve();
  }

  /** The matching spans, oldest first, as wire messages. */
  query(filter: SpanFilter): Span[] {
    const out: Span[] = [];
    const start = (this.next - this.count + this.capacity) % this.capacity;
    for (let i = 0; i < this.count; i++) {
      const kept = this.slots[(start + i) % this.capacity];
      if (kept === undefined) continue;
      const traceId = kept instanceof RecordedSpan ? kept.spanContext().traceId : kept.traceId;
      if (filter.traceId !== undefined && filter.traceId !== "" && traceId !== filter.traceId) continue;
      if (filter.correlationId !== undefined && filter.correlationId !== "" && kept.attributes[ATTR_CORRELATION_ID] !== filter.correlationId) continue;
      out.push(kept instanceof RecordedSpan ? recordedToWire(kept, this.agentId) : toWire(kept));
    }
    return out;
  }
}

/** The compact record of a finished SDK span. */
function keep(span: ReadableSpan, agentId: string): Kept {
  const sc = span.spanContext();
  const resourceAgent = span.resource.attributes[ATTR_AGENT_ID];
  return {
    traceId: sc.traceId,
    spanId: sc.spanId,
    parentSpanId: span.parentSpanContext?.spanId ?? "",
    name: span.name,
    kind: span.kind,
    start: span.startTime,
    end: span.endTime,
    status: span.status,
    attributes: span.attributes,
    agentId: typeof resourceAgent === "string" ? resourceAgent : agentId,
  };
}

/** A kept SDK span as the wire's Span. */
function toWire(kept: Kept): Span {
  return wire(kept.traceId, kept.spanId, kept.parentSpanId, kept.name, kept.agentId, hrTimeNanos(kept.start), hrTimeNanos(kept.end), kept.status, kept.attributes, kept.kind);
}

/** A recorded span of agent `agentId` as the wire's Span. */
function recordedToWire(span: RecordedSpan, agentId: string): Span {
  const sc = span.spanContext();
  const start = toUnixNanos(span.epoch, span.startedAt);
  const end = toUnixNanos(span.epoch, span.endedAt);
  return wire(sc.traceId, sc.spanId, span.parentSpanContext?.spanId ?? "", span.name, agentId, start, end, span.status, span.attributes, span.kind);
}

function wire(traceId: string, spanId: string, parentSpanId: string, name: string, agentId: string, start: bigint, end: bigint, status: SpanStatus, attrs: Attributes, kind: OtelSpanKind): Span {
  const attributes: Record<string, string> = {};
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined) attributes[k] = attributeText(v);
  return create(SpanSchema, {
    traceId,
    spanId,
    parentSpanId,
    name,
    agentId,
    startUnixNanos: start,
    endUnixNanos: end,
    statusCode: status.code === OtelStatusCode.ERROR ? SpanStatusCode.ERROR : status.code === OtelStatusCode.OK ? SpanStatusCode.OK : SpanStatusCode.UNSPECIFIED,
    statusMessage: status.message ?? "",
    attributes,
    kind: KINDS[kind] ?? SpanKind.UNSPECIFIED,
  });
}

const KINDS: Record<OtelSpanKind, SpanKind> = {
  [OtelSpanKind.INTERNAL]: SpanKind.INTERNAL,
  [OtelSpanKind.SERVER]: SpanKind.SERVER,
  [OtelSpanKind.CLIENT]: SpanKind.CLIENT,
  [OtelSpanKind.PRODUCER]: SpanKind.PRODUCER,
  [OtelSpanKind.CONSUMER]: SpanKind.CONSUMER,
};

function hrTimeNanos(t: HrTime): bigint {
  return BigInt(t[0]) * 1_000_000_000n + BigInt(t[1]);
}

function attributeText(v: AttributeValue): string {
  return typeof v === "string" ? v : Array.isArray(v) ? JSON.stringify(v) : String(v);
}
