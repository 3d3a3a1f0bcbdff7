/**
 * A trace without a collector: a SpanProcessor that keeps the node's most recent finished spans in a bounded
 * ring (default 4096), so AgentService.GetSpans can answer "what did this node do for task X" and
 * `agent-mesh trace` can assemble one tree across nodes. Cost: one array slot per finished span (a reference
 * to the SDK's span object, about 1–2 KB with its attributes, so ~4–8 MB at the default size); onEnd is O(1);
 * a query scans the ring (4096 spans: well under a millisecond). Spans are converted to the wire type only
 * when queried.
 */
import { create } from "@bufbuild/protobuf";
import { SpanKind as OtelSpanKind, SpanStatusCode as OtelStatusCode, type AttributeValue, type HrTime } from "@opentelemetry/api";
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

/** The bounded ring of a node's finished spans. */
export class SpanRing implements SpanProcessor, SpanSource {
  /** Spans held at most. */
  readonly capacity: number;
  private readonly slots: (ReadableSpan | undefined)[];
  private next = 0;
  private count = 0;

  /** A ring of `capacity` spans (at least 1) recorded by agent `agentId` (used when a span's resource names none). */
  constructor(
    capacity: number = DEFAULT_SPAN_RING_SIZE,
    private readonly agentId = "",
  ) {
    this.capacity = Math.max(1, Math.floor(capacity));
    this.slots = new Array<ReadableSpan | undefined>(this.capacity);
  }

  /** Spans held now. */
  get size(): number {
    return this.count;
  }

  /** Nothing to do when a span starts. */
  onStart(): void {}

  /** Keeps a finished span, overwriting the oldest when full. */
  onEnd(span: ReadableSpan): void {
    this.slots[this.next] = span;
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
      const span = this.slots[(start + i) % this.capacity];
      if (span === undefined) continue;
      if (filter.traceId !== undefined && filter.traceId !== "" && span.spanContext().traceId !== filter.traceId) continue;
      if (filter.correlationId !== undefined && filter.correlationId !== "" && span.attributes[ATTR_CORRELATION_ID] !== filter.correlationId) continue;
      out.push(toWireSpan(span, this.agentId));
    }
    return out;
  }
}

/** A finished SDK span as the wire's Span; `agentId` when the span's resource names no agent. */
export function toWireSpan(span: ReadableSpan, agentId = ""): Span {
  const attributes: Record<string, string> = {};
  for (const [k, v] of Object.entries(span.attributes)) if (v !== undefined) attributes[k] = attributeText(v);
  const resourceAgent = span.resource.attributes[ATTR_AGENT_ID];
  return create(SpanSchema, {
    traceId: span.spanContext().traceId,
    spanId: span.spanContext().spanId,
    parentSpanId: span.parentSpanContext?.spanId ?? "",
    name: span.name,
    agentId: typeof resourceAgent === "string" ? resourceAgent : agentId,
    startUnixNanos: hrTimeNanos(span.startTime),
    endUnixNanos: hrTimeNanos(span.endTime),
    statusCode: span.status.code === OtelStatusCode.ERROR ? SpanStatusCode.ERROR : span.status.code === OtelStatusCode.OK ? SpanStatusCode.OK : SpanStatusCode.UNSPECIFIED,
    statusMessage: span.status.message ?? "",
    attributes,
    kind: KINDS[span.kind] ?? SpanKind.UNSPECIFIED,
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
