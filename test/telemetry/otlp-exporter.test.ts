/**
 * The OTLP/HTTP exporter and its protocol: OTEL_EXPORTER_OTLP_TRACES_PROTOCOL, else OTEL_EXPORTER_OTLP_PROTOCOL,
 * else http/protobuf; grpc and unknown values are refused naming the variable. Spans exported — recorded by the
 * node's recorder, or any other ReadableSpan (through the SDK's serializer) — reach a receiver in the
 * protocol's encoding, gzip-compressed when OTEL_EXPORTER_OTLP_TRACES_COMPRESSION says so, with the headers
 * OTEL_EXPORTER_OTLP_HEADERS names.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { SpanKind } from "@opentelemetry/api";
import { ExportResultCode, type ExportResult } from "@opentelemetry/core";
import { BasicTracerProvider, type ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Code, MeshError } from "../../src/protocol/errors.js";
import { newOtlpExporter } from "../../src/telemetry/otlp-exporter.js";
import { otlpTracesProtocol, type OtlpProtocol } from "../../src/telemetry/otlp-protocol.js";
import { startTracing } from "../../src/telemetry/tracing.js";
import { JSON_TYPE, PROTOBUF, startOtlpReceiver, type OtlpReceiver } from "./otlp-receiver.js";

/** What `fn` returns, called with process.env[name] set to `value` (the SDK reads some variables from there only), then restored. */
function withProcessEnv<T>(name: string, value: string, fn: () => T): T {
  const saved = process.env[name];
  process.env[name] = value;
  try {
    return fn();
  } finally {
    if (saved === undefined) delete process.env[name];
    else process.env[name] = saved;
  }
}

function invalid(fn: () => unknown, ...naming: string[]): void {
  let error: unknown;
  try {
    fn();
  } catch (err) {
    error = err;
  }
  expect(error).toBeInstanceOf(MeshError);
  expect((error as MeshError).code).toBe(Code.InvalidArgument);
  for (const text of naming) expect((error as MeshError).message).toContain(text);
}

describe("otlpTracesProtocol", () => {
  it("is http/protobuf by default, else the traces variable, else the general one (any case, trimmed)", () => {
    expect(otlpTracesProtocol({})).toBe("http/protobuf");
    expect(otlpTracesProtocol({ OTEL_EXPORTER_OTLP_PROTOCOL: " " })).toBe("http/protobuf");
    expect(otlpTracesProtocol({ OTEL_EXPORTER_OTLP_PROTOCOL: "http/json" })).toBe("http/json");
    expect(otlpTracesProtocol({ OTEL_EXPORTER_OTLP_PROTOCOL: "http/json", OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: "HTTP/Protobuf " })).toBe("http/protobuf");
    expect(otlpTracesProtocol({ OTEL_EXPORTER_OTLP_PROTOCOL: "grpc", OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: "http/json" })).toBe("http/json");
  });

  it("refuses grpc (saying what to use instead) and unknown values, naming the variable", () => {
    invalid(() => otlpTracesProtocol({ OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" }), "OTEL_EXPORTER_OTLP_PROTOCOL", "not supported", "http/protobuf", "http/json");
    invalid(() => otlpTracesProtocol({ OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: "GRPC" }), "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "not supported");
    invalid(() => otlpTracesProtocol({ OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: "http/xml" }), "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", '"http/xml"');
  });

  it("startTracing refuses grpc when it would export, and ignores the protocol when it does not", () => {
    invalid(() => startTracing({ agentId: "a", env: { OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:1", OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" }, register: false }), "grpc");
    const t = startTracing({ agentId: "a", env: { OTEL_EXPORTER_OTLP_PROTOCOL: "grpc", AGENT_MESH_TRACE_RING_SIZE: "8" }, register: false });
    expect(t.exportUrl).toBeUndefined();
    void t.shutdown();
  });
});

describe("the OTLP/HTTP exporter", () => {
  let receiver: OtlpReceiver;
  beforeEach(async () => {
    receiver = await startOtlpReceiver();
  });
  afterEach(async () => {
    await receiver.close();
  });

  const CONTENT_TYPES: Record<OtlpProtocol, string> = { "http/protobuf": PROTOBUF, "http/json": JSON_TYPE };

  it.each(["http/protobuf", "http/json"] as const)("sends recorded spans as %s (OTEL_EXPORTER_OTLP_PROTOCOL)", async (protocol) => {
    const t = startTracing({ agentId: "exp-1", env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: protocol }, register: false, ringSize: 0 });
    try {
      const span = t.tracerProvider.getTracer("t").startSpan("exported", { kind: SpanKind.CLIENT, attributes: { "agentmesh.hops": 3, ok: true, who: "b" } });
      span.end();
      await t.forceFlush();
      expect(receiver.requests.map((r) => r.contentType)).toEqual([CONTENT_TYPES[protocol]]);
      expect(receiver.spans).toHaveLength(1);
      const got = receiver.spans[0];
      expect(got).toMatchObject({ name: "exported", traceId: span.spanContext().traceId, spanId: span.spanContext().spanId, serviceInstanceId: "exp-1", attributes: { "agentmesh.hops": "3", ok: "true", who: "b" } });
      expect(got.endUnixNanos).toBeGreaterThanOrEqual(got.startUnixNanos);
      expect(Number(got.startUnixNanos / 1_000_000n)).toBeGreaterThan(Date.now() - 60_000);
    } finally {
      await t.shutdown(1000);
    }
  });

  it.each(["http/protobuf", "http/json"] as const)("sends other ReadableSpans as %s through the SDK's serializer", async (protocol) => {
    const exporter = newOtlpExporter(`${receiver.endpoint}/v1/traces`, protocol);
    const sdkSpan = new BasicTracerProvider().getTracer("sdk").startSpan("from the sdk");
    sdkSpan.end();
    const result = await new Promise<ExportResult>((resolve) => exporter.export([sdkSpan as unknown as ReadableSpan], resolve));
    await exporter.shutdown();
    expect(result.code).toBe(ExportResultCode.SUCCESS);
    expect(receiver.requests.map((r) => r.contentType)).toEqual([CONTENT_TYPES[protocol]]);
    expect(receiver.spans.map((s) => s.name)).toEqual(["from the sdk"]);
  });

  it("compresses with gzip when OTEL_EXPORTER_OTLP_TRACES_COMPRESSION=gzip (read by the SDK's transport)", async () => {
    const t = withProcessEnv("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "gzip", () =>
      startTracing({ agentId: "exp-2", env: { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${receiver.endpoint}/v1/traces` }, register: false, ringSize: 0 }),
    );
    try {
      t.tracerProvider.getTracer("t").startSpan("zipped").end();
      await t.forceFlush();
      expect(receiver.requests).toEqual([{ contentType: PROTOBUF, contentEncoding: "gzip" }]);
      expect(receiver.spans.map((s) => s.name)).toEqual(["zipped"]);
    } finally {
      await t.shutdown(1000);
    }
  });
});

describe("OTLP/HTTP request headers", () => {
  it("sends OTEL_EXPORTER_OTLP_HEADERS (URL-decoded) with every export, over the node's own transport", async () => {
    const seen: Record<string, string | string[] | undefined>[] = [];
    const server = createServer((req, res) => {
      seen.push(req.headers);
      req.resume();
      req.on("end", () => res.writeHead(200, { "content-type": PROTOBUF }).end());
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/traces`;
    const t = withProcessEnv("OTEL_EXPORTER_OTLP_HEADERS", "x-tenant=blue,authorization=Bearer%20abc", () =>
      startTracing({ agentId: "exp-3", env: { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: endpoint }, register: false, ringSize: 0 }),
    );
    try {
      t.tracerProvider.getTracer("t").startSpan("with headers").end();
      await t.forceFlush();
      expect(seen.length).toBe(1);
      expect(seen[0]["x-tenant"]).toBe("blue");
      expect(seen[0].authorization).toBe("Bearer abc");
      expect(seen[0]["content-type"]).toBe(PROTOBUF);
      expect(seen[0]["transfer-encoding"]).toBeUndefined(); // a Content-Length request, not chunked
    } finally {
      await t.shutdown(1000);
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
