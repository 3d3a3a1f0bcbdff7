/**
 * The OTLP transport protocol of trace export, as the standard variables name it:
 * OTEL_EXPORTER_OTLP_TRACES_PROTOCOL, else OTEL_EXPORTER_OTLP_PROTOCOL, else http/protobuf (the
 * OpenTelemetry specification's default). OTLP/gRPC is not offered: the mesh exports over OTLP/HTTP only.
 */
import { Code, MeshError } from "../protocol/errors.js";

/** An OTLP/HTTP encoding: protobuf (application/x-protobuf) or JSON (application/json). */
export type OtlpProtocol = "http/protobuf" | "http/json";

/** The protocol when neither variable is set. */
export const DEFAULT_OTLP_PROTOCOL: OtlpProtocol = "http/protobuf";

/** The request body's content type of each protocol. */
export const OTLP_CONTENT_TYPES: Readonly<Record<OtlpProtocol, string>> = {
  "http/protobuf": "application/x-protobuf",
  "http/json": "application/json",
};

/** The trace export protocol the environment names (see the file comment); INVALID_ARGUMENT for grpc or an unknown value. */
export function otlpTracesProtocol(env: NodeJS.ProcessEnv = process.env): OtlpProtocol {
  for (const name of ["OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"]) {
    const text = (env[name] ?? "").trim().toLowerCase();
    if (text === "") continue;
    if (text === "http/protobuf" || text === "http/json") return text;
    if (text === "grpc") {
      throw new MeshError(Code.InvalidArgument, `${name}: "grpc" is not supported (spans are exported over OTLP/HTTP); use http/protobuf (the default) or http/json`);
    }
    throw new MeshError(Code.InvalidArgument, `${name}: expected http/protobuf or http/json, got "${env[name]}"`);
  }
  return DEFAULT_OTLP_PROTOCOL;
}
