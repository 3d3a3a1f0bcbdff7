/**
 * The OTLP/HTTP span exporter: the SDK's OTLP HTTP export delegate (@opentelemetry/otlp-exporter-base, as the
 * SDK's own OTLP/HTTP trace exporters build it) — its transport, retries, concurrency limit, headers, timeout
 * and compression as the OTEL_EXPORTER_OTLP_* variables configure them — with a serializer of the chosen
 * protocol (otlp-protocol.ts): OTLP/protobuf (application/x-protobuf; the default) or OTLP/JSON
 * (application/json, encoded by otlp-json.ts). An EncodedSpans batch (the export queue over the span ring's
 * records, otlp-records.ts) is sent as its bytes; recorded spans are encoded by otlp-proto.ts or otlp-json.ts;
 * a batch holding any other ReadableSpan goes through the SDK's serializer of the same protocol, as do the
 * collector's responses. The packages are loaded here, on first use (sdk.ts). By default the requests are
 * sent from a thread of their own (otlp-thread.ts, otlp-worker.ts).
 */
import type { ReadableSpan, SpanExporter } from "@opentelemetry/sdk-trace-base";
import { encodeSpansJson } from "./otlp-json.js";
import { encodeSpansProto } from "./otlp-proto.js";
import { EncodedSpans } from "./otlp-records.js";
import { DEFAULT_OTLP_PROTOCOL, OTLP_COMPONENT_TYPE, OTLP_CONTENT_TYPES, type OtlpProtocol } from "./otlp-protocol.js";
import { otlpWorkerUrl, ThreadedOtlpExporter, type OtlpBody } from "./otlp-thread.js";
import { RecordedSpan } from "./recorded-span.js";
import { sdkOtlpExporterBase, sdkOtlpNodeHttp, sdkOtlpTransformer } from "./sdk.js";

/**
 * A new OTLP/HTTP exporter to `url` sending `protocol` (default http/protobuf). With `thread` (the default) its
 * requests go out from a worker thread (otlp-thread.ts) when the compiled worker script is there; otherwise,
 * and as the thread's fallback, from this thread. Loads the SDK's OTLP packages.
 */
export function newOtlpExporter(url: string, protocol: OtlpProtocol = DEFAULT_OTLP_PROTOCOL, thread = true): SpanExporter {
  const script = thread ? otlpWorkerUrl() : undefined;
  if (script === undefined) return mainThreadExporter(url, protocol);
  return new ThreadedOtlpExporter(url, protocol, (spans) => otlpBody(spans, protocol), () => mainThreadExporter(url, protocol), script);
}

/** The request body of a batch in `protocol`; undefined for EncodedSpans in JSON (they are protobuf). */
export function otlpBody(spans: ReadableSpan[], protocol: OtlpProtocol): OtlpBody | undefined {
  const json = protocol === "http/json";
  // EncodedSpans and encodeSpansProto write each request into a buffer of its own (otlp-proto.ts: encodeGroups).
  if ((spans as unknown) instanceof EncodedSpans) return json ? undefined : { bytes: (spans as unknown as EncodedSpans).bytes, owned: true };
  if (spans.every((s) => s instanceof RecordedSpan)) return json ? { bytes: encodeSpansJson(spans as RecordedSpan[]), owned: false } : { bytes: encodeSpansProto(spans as RecordedSpan[]), owned: true };
  const { JsonTraceSerializer, ProtobufTraceSerializer } = sdkOtlpTransformer();
  const bytes = (json ? JsonTraceSerializer : ProtobufTraceSerializer).serializeRequest(spans);
  return bytes === undefined ? undefined : { bytes, owned: false };
}

/** The exporter sending from this thread: the SDK's OTLP/HTTP delegate with otlpBody as its serializer. */
function mainThreadExporter(url: string, protocol: OtlpProtocol): SpanExporter {
  const { OTLPExporterBase } = sdkOtlpExporterBase();
  const { convertLegacyHttpOptions, createOtlpHttpExportDelegate } = sdkOtlpNodeHttp();
  const { JsonTraceSerializer, ProtobufTraceSerializer, TraceExporterMetricsHelper } = sdkOtlpTransformer();
  const responses = protocol === "http/json" ? JsonTraceSerializer : ProtobufTraceSerializer;
  const serializer = {
    serializeRequest: (spans: ReadableSpan[]) => otlpBody(spans, protocol)?.bytes,
    deserializeResponse: (data: Uint8Array) => responses.deserializeResponse(data),
  };
  // The SDK's exporters turn their options into the delegate's configuration (environment included) this way.
  const options = convertLegacyHttpOptions({ url }, "TRACES", "v1/traces", { "Content-Type": OTLP_CONTENT_TYPES[protocol] });
  const delegate = createOtlpHttpExportDelegate(options, serializer, OTLP_COMPONENT_TYPE, TraceExporterMetricsHelper, undefined);
  return new OTLPExporterBase(delegate);
}
