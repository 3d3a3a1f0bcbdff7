/**
 * The OpenTelemetry SDK packages, loaded on first use. A node that keeps its spans in its ring and exports
 * nothing never loads them (they cost memory and start-up time); exporting, the SDK's resource, samplers and
 * OTLP exporter are what the OTEL_* variables configure. Nothing here is imported statically by the span path.
 */
import { createRequire } from "node:module";

const load = createRequire(import.meta.url);

/** @opentelemetry/sdk-trace-base (samplers, processors, exporters for tests and the console). */
export function sdkTraceBase(): typeof import("@opentelemetry/sdk-trace-base") {
  return load("@opentelemetry/sdk-trace-base") as typeof import("@opentelemetry/sdk-trace-base");
}

/** @opentelemetry/resources (the resource every exported span carries). */
export function sdkResources(): typeof import("@opentelemetry/resources") {
  return load("@opentelemetry/resources") as typeof import("@opentelemetry/resources");
}

/** @opentelemetry/otlp-exporter-base (the OTLP exporters' base class). */
export function sdkOtlpExporterBase(): typeof import("@opentelemetry/otlp-exporter-base") {
  return load("@opentelemetry/otlp-exporter-base") as typeof import("@opentelemetry/otlp-exporter-base");
}

/** @opentelemetry/otlp-exporter-base/node-http (the OTLP/HTTP transport, its retries and its configuration). */
export function sdkOtlpNodeHttp(): typeof import("@opentelemetry/otlp-exporter-base/node-http") {
  return load("@opentelemetry/otlp-exporter-base/node-http") as typeof import("@opentelemetry/otlp-exporter-base/node-http");
}

/** @opentelemetry/otlp-transformer (the SDK's OTLP serializers, for spans other than recorded ones). */
export function sdkOtlpTransformer(): typeof import("@opentelemetry/otlp-transformer") {
  return load("@opentelemetry/otlp-transformer") as typeof import("@opentelemetry/otlp-transformer");
}
