/**
 * A trace without a collector: a SpanProcessor that keeps the node's most recent finished spans in a bounded
 * ring (default 4096), so AgentService.GetSpans can answer "what did this node do for task X" and
 * `agent-mesh trace` can assemble one tree across nodes. onEnd keeps a compact record (ids, name, times,
 * status and the span's own attributes object — a few hundred bytes; ~1–2 MB at the default size) rather than
 * the SDK's span, so the span itself dies young and the garbage collector promotes little; a query scans the
 * ring (4096 records: well under a millisecond) and converts the matches to the wire type.
 */
import { create } from "@bufbuild/protobuf";
import { SpanKind as OtelSpanKind, SpanStatusCode as OtelStatusCode, type AttributeValue, type Attributes, type HrTime, type SpanStatus } from "@opentelemetry/api";
import type { ReadableSpan, SpanProcessor } from "@opentelemetry/sdk-trace-base";
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

/** What the ring keeps of a finished span: references to values the span already holds, nothing copied. */
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
export class SpanRing implements SpanProcessor, SpanSource {
  /** Spans held at most. */
  readonly capacity: number;
  private readonly slots: (Kept | undefined)[];
  private next = 0;
  private count = 0;

  /** A ring of `capacity` spans (at least 1) recorded by agent `agentId` (used when a span's resource names none). */
  constructor(
    capacity: number = DEFAULT_SPAN_RING_SIZE,
    private readonly agentId = "",
  ) {
    this.capacity = Math.max(1, Math.floor(capacity));
    this.slots = new Array<Kept | undefined>(this.capacity);
  }

  /** Spans held now. */
  get size(): number {
    return this.count;
  }

  /** Nothing to do when a span starts. */
  onStart(): void {}

  /** Keeps a finished span, overwriting the oldest when full. */
  onEnd(span: ReadableSpan): void {
    const sc = span.spanContext();
    const resourceAgent = span.resource.attributes[ATTR_AGENT_ID];
    this.slots[this.next] = {
      traceId: sc.traceId,
      spanId: sc.spanId,
      parentSpanId: span.parentSpanContext?.spanId ?? "",
      name: span.name,
      kind: span.kind,
      start: span.startTime,
      end: span.endTime,
      status: span.status,
      attributes: span.attributes,
      agentId: typeof resourceAgent === "string" ? resourceAgent : this.agentId,
    };
    this.next = (this.next + 1) % this.capacity;
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
      if (filter.traceId !== undefined && filter.traceId !== "" && kept.traceId !== filter.traceId) continue;
      if (filter.correlationId !== undefined && filter.correlationId !== "" && kept.attributes[ATTR_CORRELATION_ID] !== filter.correlationId) continue;
      out.push(toWire(kept));
    }
    return out;
  }
}

/** A kept span as the wire's Span. */
function toWire(kept: Kept): Span {
  const attributes: Record<string, string> = {};
  for (const [k, v] of Object.entries(kept.attributes)) if (v !== undefined) attributes[k] = attributeText(v);
  return create(SpanSchema, {
    traceId: kept.traceId,
    spanId: kept.spanId,
    parentSpanId: kept.parentSpanId,
    name: kept.name,
    agentId: kept.agentId,
    startUnixNanos: hrTimeNanos(kept.start),
    endUnixNanos: hrTimeNanos(kept.end),
    statusCode: kept.status.code === OtelStatusCode.ERROR ? SpanStatusCode.ERROR : kept.status.code === OtelStatusCode.OK ? SpanStatusCode.OK : SpanStatusCode.UNSPECIFIED,
    statusMessage: kept.status.message ?? "",
    attributes,
    kind: KINDS[kept.kind] ?? SpanKind.UNSPECIFIED,
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
