/**
 * A minimal OTLP/HTTP trace receiver for tests: a node:http server that accepts POST /v1/traces with an
 * ExportTraceServiceRequest body (gzip or not) in either OTLP/HTTP encoding — protobuf (application/x-protobuf,
 * decoded with the types generated from opentelemetry-proto) or JSON (application/json) — decodes every span
 * with its resource's service name, namespace and instance id, records each request's content type, and answers 200 with
 * an empty ExportTraceServiceResponse in the request's encoding. Any other content type is refused with 415.
 */
import { fromBinary } from "@bufbuild/protobuf";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { gunzipSync } from "node:zlib";
import { ExportTraceServiceRequestSchema } from "../../gen/opentelemetry/proto/collector/trace/v1/trace_service_pb.js";
import type { KeyValue as ProtoKeyValue } from "../../gen/opentelemetry/proto/common/v1/common_pb.js";

/** The content type of OTLP/HTTP protobuf. */
export const PROTOBUF = "application/x-protobuf";
/** The content type of OTLP/HTTP JSON. */
export const JSON_TYPE = "application/json";

/** One span as received. */
export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  /** The content type of the request that carried it. */
  contentType: string;
  /** The resource's service.name. */
  serviceName: string;
  /** The resource's service.namespace. */
  serviceNamespace: string;
  /** The resource's service.instance.id. */
  serviceInstanceId: string;
  /** Span attributes, values as text. */
  attributes: Record<string, string>;
  startUnixNanos: bigint;
  endUnixNanos: bigint;
}

/** A request as received. */
export interface ReceivedRequest {
  /** Its Content-Type header. */
  contentType: string;
  /** Its Content-Encoding header ("gzip"), "" when none. */
  contentEncoding: string;
}

/** A running receiver. */
export interface OtlpReceiver {
  /** Base URL for OTEL_EXPORTER_OTLP_ENDPOINT, e.g. http://127.0.0.1:40123. */
  readonly endpoint: string;
  /** Every span received so far. */
  readonly spans: ReceivedSpan[];
  /** Every request received, in order: its content type and content encoding ("" when none). */
  readonly requests: ReceivedRequest[];
  /** Stops listening. */
  close(): Promise<void>;
}

interface AnyValue {
  stringValue?: string;
  intValue?: string | number;
  boolValue?: boolean;
  doubleValue?: number;
}
interface KeyValue {
  key: string;
  value?: AnyValue;
}

/** Starts a receiver on a free loopback port. */
export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const requests: ReceivedRequest[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const type = String(req.headers["content-type"] ?? "");
      const encoding = String(req.headers["content-encoding"] ?? "");
      requests.push({ contentType: type, contentEncoding: encoding });
      if (req.method !== "POST" || req.url !== "/v1/traces") {
        res.writeHead(404).end();
        return;
      }
      const protobuf = type.startsWith(PROTOBUF);
      if (!protobuf && !type.startsWith(JSON_TYPE)) {
        res.writeHead(415).end();
        return;
      }
      try {
        let body = Buffer.concat(chunks);
        if (encoding === "gzip") body = gunzipSync(body);
        if (protobuf) {
          spans.push(...decodeProtobuf(body, type));
          res.writeHead(200, { "content-type": PROTOBUF }).end();
        } else {
          spans.push(...decodeJson(JSON.parse(body.toString("utf8")), type));
          res.writeHead(200, { "content-type": JSON_TYPE }).end("{}");
        }
      } catch (err) {
        res.writeHead(400).end(String(err));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    spans,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The spans of an OTLP/protobuf ExportTraceServiceRequest. */
function decodeProtobuf(body: Uint8Array, contentType: string): ReceivedSpan[] {
  const out: ReceivedSpan[] = [];
  const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");
  for (const rs of fromBinary(ExportTraceServiceRequestSchema, body).resourceSpans) {
    const resource = protoAttributes(rs.resource?.attributes ?? []);
    for (const ss of rs.scopeSpans) {
      for (const s of ss.spans) {
        out.push({
          traceId: hex(s.traceId),
          spanId: hex(s.spanId),
          parentSpanId: hex(s.parentSpanId),
          name: s.name,
          contentType,
          serviceName: resource["service.name"] ?? "",
          serviceNamespace: resource["service.namespace"] ?? "",
          serviceInstanceId: resource["service.instance.id"] ?? "",
          attributes: protoAttributes(s.attributes),
          startUnixNanos: s.startTimeUnixNano,
          endUnixNanos: s.endTimeUnixNano,
        });
      }
    }
  }
  return out;
}

/** Protobuf KeyValues as a record, values as text (as attributes() makes them from JSON). */
function protoAttributes(list: ProtoKeyValue[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of list) {
    const v = kv.value?.value;
    out[kv.key] = v === undefined || v.case === "arrayValue" || v.case === "kvlistValue" || v.case === "bytesValue" ? "" : String(v.value);
  }
  return out;
}

/** The spans of an OTLP/JSON ExportTraceServiceRequest. */
function decodeJson(request: {
  resourceSpans?: { resource?: { attributes?: KeyValue[] }; scopeSpans?: { spans?: Record<string, unknown>[] }[] }[];
}, contentType: string): ReceivedSpan[] {
  const out: ReceivedSpan[] = [];
  for (const rs of request.resourceSpans ?? []) {
    const resource = attributes(rs.resource?.attributes);
    for (const ss of rs.scopeSpans ?? []) {
      for (const s of ss.spans ?? []) {
        out.push({
          traceId: id(s.traceId),
          spanId: id(s.spanId),
          parentSpanId: id(s.parentSpanId),
          name: String(s.name),
          contentType,
          serviceName: resource["service.name"] ?? "",
          serviceNamespace: resource["service.namespace"] ?? "",
          serviceInstanceId: resource["service.instance.id"] ?? "",
          attributes: attributes(s.attributes as KeyValue[] | undefined),
          startUnixNanos: BigInt(String(s.startTimeUnixNano ?? 0)),
          endUnixNanos: BigInt(String(s.endTimeUnixNano ?? 0)),
        });
      }
    }
  }
  return out;
}

/** An id as lower-case hex: OTLP/JSON sends hex; base64 (the protobuf JSON mapping) is accepted too. */
function id(value: unknown): string {
  if (typeof value !== "string" || value === "") return "";
  if (/^[0-9a-fA-F]+$/.test(value) && (value.length === 32 || value.length === 16)) return value.toLowerCase();
  return Buffer.from(value, "base64").toString("hex");
}

function attributes(list: KeyValue[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of list ?? []) {
    const v = kv.value ?? {};
    out[kv.key] = v.stringValue ?? (v.intValue !== undefined ? String(v.intValue) : v.boolValue !== undefined ? String(v.boolValue) : v.doubleValue !== undefined ? String(v.doubleValue) : "");
  }
  return out;
}
