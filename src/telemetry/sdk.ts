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

/** @opentelemetry/exporter-trace-otlp-http (the OTLP/HTTP exporter). */
export function sdkOtlpHttp(): typeof import("@opentelemetry/exporter-trace-otlp-http") {
  return load("@opentelemetry/exporter-trace-otlp-http") as typeof import("@opentelemetry/exporter-trace-otlp-http");
}
