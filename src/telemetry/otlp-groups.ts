/**
 * Spans grouped as an OTLP ExportTraceServiceRequest nests them: by resource, then by instrumentation scope
 * (both by identity: a recorder's spans share one resource and one scope object per tracer), in the order
 * first seen. Shared by the JSON (otlp-json.ts) and protobuf (otlp-proto.ts) encoders.
 */
import type { Resource } from "@opentelemetry/resources";
import type { RecordedSpan } from "./recorded-span.js";

/** An instrumentation scope as recorded spans carry it. */
export type SpanScope = RecordedSpan["instrumentationScope"];

/** `spans` by resource, then by instrumentation scope, each list in the order given. */
export function groupSpans(spans: readonly RecordedSpan[]): Map<Resource, Map<SpanScope, RecordedSpan[]>> {
  const byResource = new Map<Resource, Map<SpanScope, RecordedSpan[]>>();
  for (const span of spans) {
    const resource = span.resource;
    let byScope = byResource.get(resource);
    if (byScope === undefined) byResource.set(resource, (byScope = new Map()));
    const scope = span.instrumentationScope;
    let list = byScope.get(scope);
    if (list === undefined) byScope.set(scope, (list = []));
    list.push(span);
  }
  return byResource;
}
