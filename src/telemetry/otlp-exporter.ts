/**
 * The OTLP/HTTP span exporter: the SDK's OTLP HTTP export delegate (@opentelemetry/otlp-exporter-base, as the
 * SDK's own OTLP/HTTP trace exporters build it) — its transport, retries, concurrency limit, headers, timeout
 * and compression as the OTEL_EXPORTER_OTLP_* variables configure them — with a serializer of the chosen
 * protocol (otlp-protocol.ts): OTLP/protobuf (application/x-protobuf; the default) or OTLP/JSON
 * (application/json, encoded by otlp-json.ts). An EncodedSpans batch (the export queue over the span ring's
 * records, otlp-records.ts) is sent as its bytes; recorded spans are encoded by otlp-proto.ts or otlp-json.ts;
 * a batch holding any other ReadableSpan goes through the SDK's serializer of the same protocol, as do the
 * collector's responses. To an `http:` endpoint without compression (the default) the requests go through
 * this project's OTLP/HTTP transport (otlp-http-transport.ts: cheaper per request than the SDK's node:http one),
 * under the SDK's export delegate all the same (its concurrency limit, timeout and response handling); `https:`
 * and gzip use the SDK's transport. The packages are loaded here, on first use (sdk.ts).
 */
import type { ReadableSpan, SpanExporter } from "@opentelemetry/sdk-trace-base";
import { encodeSpansJson } from "./otlp-json.js";
import { encodeSpansProto } from "./otlp-proto.js";
import { OtlpHttpTransport } from "./otlp-http-transport.js";
import { EncodedSpans } from "./otlp-records.js";
import { DEFAULT_OTLP_PROTOCOL, OTLP_CONTENT_TYPES, type OtlpProtocol } from "./otlp-protocol.js";
import { RecordedSpan } from "./recorded-span.js";
import { sdkOtlpExporterBase, sdkOtlpNodeHttp, sdkOtlpTransformer } from "./sdk.js";

/** The OpenTelemetry component type of an OTLP/HTTP span exporter (names the SDK's exporter metrics, when any). */
const COMPONENT_TYPE = "otlp_http_span_exporter";

/** A serializer of export requests, as the export delegate takes it. */
interface Serializer {
  serializeRequest(spans: ReadableSpan[]): Uint8Array | undefined;
  deserializeResponse(data: Uint8Array): unknown;
}

/** A span exporter whose exports in flight can be given up at once. */
export interface AbortableExporter extends SpanExporter {
  /** Gives up the exports in flight (their requests and their waits between retries); see OtlpHttpTransport.abort. */
  abortExports(): void;
}

/** True when `exporter` can give up its exports in flight. */
export function isAbortable(exporter: SpanExporter | undefined): exporter is AbortableExporter {
  return typeof (exporter as Partial<AbortableExporter> | undefined)?.abortExports === "function";
}

/**
 * A new OTLP/HTTP exporter to `url` sending `protocol` (default http/protobuf); loads the SDK's OTLP packages.
 * Through the node's own transport it can give up its exports in flight (abortExports; through the SDK's it
 * does nothing).
 */
export function newOtlpExporter(url: string, protocol: OtlpProtocol = DEFAULT_OTLP_PROTOCOL): AbortableExporter {
  const { OTLPExporterBase, createOtlpNetworkExportDelegate } = sdkOtlpExporterBase();
  const { convertLegacyHttpOptions, createOtlpHttpExportDelegate, createOtlpHttpExporterMetrics } = sdkOtlpNodeHttp();
  const { JsonTraceSerializer, ProtobufTraceSerializer, TraceExporterMetricsHelper } = sdkOtlpTransformer();
  const json = protocol === "http/json";
  const sdk: Serializer = json ? JsonTraceSerializer : ProtobufTraceSerializer;
  const encode = json ? encodeSpansJson : encodeSpansProto;
  const serializer: Serializer = {
    serializeRequest: (spans) => {
      if ((spans as unknown) instanceof EncodedSpans) return json ? undefined : (spans as unknown as EncodedSpans).bytes;
      return spans.every((s) => s instanceof RecordedSpan) ? encode(spans as RecordedSpan[]) : sdk.serializeRequest(spans);
    },
    deserializeResponse: (data) => sdk.deserializeResponse(data),
  };
  // The SDK's exporters turn their options into the delegate's configuration (environment included) this way.
  const options = convertLegacyHttpOptions({ url }, "TRACES", "v1/traces", { "Content-Type": OTLP_CONTENT_TYPES[protocol] });
  const transport =
    new URL(options.url).protocol === "http:" && options.compression === "none"
      ? new OtlpHttpTransport({ url: options.url, headers: options.headers, userAgent: options.userAgent })
      : undefined;
  const delegate =
    transport !== undefined
      ? createOtlpNetworkExportDelegate(options, serializer, createOtlpHttpExporterMetrics(COMPONENT_TYPE, TraceExporterMetricsHelper, options.url, undefined), transport)
      : createOtlpHttpExportDelegate(options, serializer, COMPONENT_TYPE, TraceExporterMetricsHelper, undefined);
  return Object.assign(new OTLPExporterBase(delegate), { abortExports: () => transport?.abort() });
}
