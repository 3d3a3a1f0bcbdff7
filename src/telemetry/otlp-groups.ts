/**
 * Spans grouped as an OTLP ExportTraceServiceRequest nests them: by resource, then by instrumentation scope
 * (both by identity: a recorder's spans share one resource and one scope object per tracer), in the order
 * first seen. Shared by the JSON (otlp-json.ts) and protobuf (otlp-proto.ts, otlp-records.ts) encoders.
 */
import type { Resource } from "@opentelemetry/resources";
import type { RecordedSpan } from "./recorded-span.js";

/** An instrumentation scope as recorded spans carry it. */
export type SpanScope = RecordedSpan["instrumentationScope"];

/** Items by resource, then by scope, each list in the order added. */
export type Groups<T> = Map<Resource, Map<SpanScope, T[]>>;

/** Collects items (spans, or records of spans) into Groups; consecutive items of one group cost no lookup. */
export class SpanGroups<T> {
  /** The groups so far. */
  readonly byResource: Groups<T> = new Map();
  private lastResource: Resource | undefined;
  private lastScope: SpanScope | undefined;
  private last: T[] = [];

  /** Adds `item` of `resource` and `scope`. */
  add(resource: Resource, scope: SpanScope, item: T): void {
    if (resource !== this.lastResource || scope !== this.lastScope) {
      let byScope = this.byResource.get(resource);
      if (byScope === undefined) this.byResource.set(resource, (byScope = new Map()));
      let list = byScope.get(scope);
      if (list === undefined) byScope.set(scope, (list = []));
      this.lastResource = resource;
      this.lastScope = scope;
      this.last = list;
    }
    this.last.push(item);
  }
}

/** `spans` by resource, then by instrumentation scope, each list in the order given. */
export function groupSpans(spans: readonly RecordedSpan[]): Groups<RecordedSpan> {
  const groups = new SpanGroups<RecordedSpan>();
  for (const span of spans) groups.add(span.resource, span.instrumentationScope, span);
  return groups.byResource;
}
