/**
 * The OTLP export thread's script (otlp-thread.ts starts it): the SDK's OTLP/HTTP export delegate — its
 * transport, retries, concurrency limit, headers, timeout and compression as the OTEL_EXPORTER_OTLP_*
 * variables configure them, as the SDK's own OTLP/HTTP trace exporters build it — sending request bodies the
 * main thread already encoded, and answering each request with its ExportResult.
 */
import { parentPort, workerData } from "node:worker_threads";
import type { IExporterMetricsHelper } from "@opentelemetry/otlp-transformer";
import { OTLP_COMPONENT_TYPE, OTLP_CONTENT_TYPES } from "./otlp-protocol.js";
import type { OtlpThreadData, OtlpThreadReply, OtlpThreadRequest } from "./otlp-thread.js";
import { sdkOtlpNodeHttp, sdkOtlpTransformer } from "./sdk.js";

const port = parentPort;
if (port === null) throw new Error("otlp-worker.js runs as a worker thread (otlp-thread.ts starts it)");
const { url, protocol } = workerData as OtlpThreadData;
const { convertLegacyHttpOptions, createOtlpHttpExportDelegate } = sdkOtlpNodeHttp();
const { JsonTraceSerializer, ProtobufTraceSerializer, TraceExporterMetricsHelper } = sdkOtlpTransformer();
const responses = protocol === "http/json" ? JsonTraceSerializer : ProtobufTraceSerializer;

/** A batch as the delegate is handed it here: its encoded body and, as `length`, how many spans it holds. */
interface EncodedBatch {
  bytes: Uint8Array;
  length: number;
}

// The bodies arrive encoded: the serializer passes them on, and reads the collector's responses as the SDK does.
const serializer = {
  serializeRequest: (batch: EncodedBatch): Uint8Array => batch.bytes,
  deserializeResponse: (data: Uint8Array): unknown => responses.deserializeResponse(data),
};
// The SDK's span counting (a batch's length), for its exporter metrics.
const metrics: IExporterMetricsHelper<EncodedBatch> = { name: TraceExporterMetricsHelper.name, countItems: (batch) => batch.length };
const options = convertLegacyHttpOptions({ url }, "TRACES", "v1/traces", { "Content-Type": OTLP_CONTENT_TYPES[protocol] });
const delegate = createOtlpHttpExportDelegate(options, serializer, OTLP_COMPONENT_TYPE, metrics, undefined);

/** Answers request `id`. */
function reply(id: number, code: number, error?: unknown): void {
  const message: OtlpThreadReply = { id, code };
  if (error !== undefined) message.error = error instanceof Error ? error.message : String(error);
  port!.postMessage(message);
}

port.on("message", (request: OtlpThreadRequest) => {
  try {
    if (request.op === "export") {
      const batch = { bytes: new Uint8Array(request.buffer, request.offset, request.length), length: request.spans };
      delegate.export(batch, (result) => reply(request.id, result.code, result.error));
    } else {
      const done = request.op === "flush" ? delegate.forceFlush() : delegate.shutdown();
      done.then(
        () => reply(request.id, 0),
        (err: unknown) => reply(request.id, 1, err),
      );
    }
  } catch (err) {
    reply(request.id, 1, err);
  }
});
