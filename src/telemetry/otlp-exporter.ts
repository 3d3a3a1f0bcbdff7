/**
 * The OTLP/HTTP exporter: the SDK's OTLPTraceExporter — its HTTP transport, retries, concurrency limit,
 * headers, timeout and compression as the OTEL_EXPORTER_OTLP_* variables configure them — with its JSON
 * serializer replaced by otlp-json.ts for recorded spans (other spans still go through the SDK's own). The
 * replacement reaches into the exporter's delegate; when a future exporter version is shaped differently,
 * the SDK's serializer simply stays (slower, same JSON), and leanSerializerInstalled says so.
 */
import type { SpanExporter } from "@opentelemetry/sdk-trace-base";
import { encodeSpansJson } from "./otlp-json.js";
import { RecordedSpan } from "./recorded-span.js";
import { sdkOtlpHttp } from "./sdk.js";

/** The part of the exporter's serializer this module uses. */
interface Serializer {
  serializeRequest(spans: unknown[]): Uint8Array | undefined;
  deserializeResponse(data: Uint8Array): unknown;
}

const lean = new WeakSet<SpanExporter>();

/** A new OTLP/HTTP (JSON) exporter to `url` encoding recorded spans with otlp-json.ts (loads the exporter package). */
export function newOtlpExporter(url: string): SpanExporter {
  const { OTLPTraceExporter } = sdkOtlpHttp();
  const exporter = new OTLPTraceExporter({ url });
  const delegate = (exporter as unknown as { _delegate?: { _serializer?: Serializer } })._delegate;
  const sdk = delegate?._serializer;
  if (delegate !== undefined && typeof sdk?.serializeRequest === "function" && typeof sdk.deserializeResponse === "function") {
    delegate._serializer = {
      serializeRequest: (spans) => (spans.every((s) => s instanceof RecordedSpan) ? encodeSpansJson(spans as RecordedSpan[]) : sdk.serializeRequest(spans)),
      deserializeResponse: (data) => sdk.deserializeResponse(data),
    };
    lean.add(exporter);
  }
  return exporter;
}

/** True when `exporter` (from newOtlpExporter) encodes recorded spans itself rather than through the SDK's serializer. */
export function leanSerializerInstalled(exporter: SpanExporter): boolean {
  return lean.has(exporter);
}
