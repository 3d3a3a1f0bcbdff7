/**
 * The OTLP exporter's own thread (otlp-thread.ts with the compiled otlp-worker.js, which `npm test` builds):
 * batches encoded on this thread reach the receiver from the worker in either protocol, a body in a buffer of
 * its own is moved to the thread (not copied), a failed request comes back as FAILED, shutdown waits for what is
 * in flight, and a thread that fails hands later batches to the main-thread fallback.
 */
import { ExportResultCode, type ExportResult } from "@opentelemetry/core";
import type { ReadableSpan, SpanExporter } from "@opentelemetry/sdk-trace-base";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { newOtlpExporter, otlpBody } from "../../src/telemetry/otlp-exporter.js";
import type { OtlpProtocol } from "../../src/telemetry/otlp-protocol.js";
import { ThreadedOtlpExporter, type OtlpBody } from "../../src/telemetry/otlp-thread.js";
import { recorder } from "./span-record-world.js";
import { JSON_TYPE, PROTOBUF, startOtlpReceiver, type OtlpReceiver } from "./otlp-receiver.js";

/** The built worker script (npm test builds dist/ before running the tests). */
const WORKER = new URL("../../dist/src/telemetry/otlp-worker.js", import.meta.url);

/** Finished recorded spans named `names`. */
function spans(...names: string[]): ReadableSpan[] {
  const { tracer, ended } = recorder();
  for (const name of names) tracer.startSpan(name, { attributes: { "agentmesh.correlation_id": "c-thread" } }).end();
  return ended as unknown as ReadableSpan[];
}

/** Exports `batch` with `exporter` and resolves with the result. */
const exportWith = (exporter: SpanExporter, batch: ReadableSpan[]) => new Promise<ExportResult>((resolve) => exporter.export(batch, resolve));

/** A threaded exporter to `url`; `bodies` collects the bodies it made. */
function threaded(url: string, protocol: OtlpProtocol, bodies: OtlpBody[] = [], script = WORKER): ThreadedOtlpExporter {
  const serialize = (batch: ReadableSpan[]) => {
    const body = otlpBody(batch, protocol);
    if (body !== undefined) bodies.push(body);
    return body;
  };
  return new ThreadedOtlpExporter(url, protocol, serialize, () => newOtlpExporter(url, protocol, false), script);
}

describe("the OTLP export thread", () => {
  let receiver: OtlpReceiver;
  beforeEach(async () => {
    expect(existsSync(WORKER), "dist/ is built (npm test builds it)").toBe(true);
    receiver = await startOtlpReceiver();
  });
  afterEach(async () => {
    await receiver.close();
  });

  it.each([
    ["http/protobuf", PROTOBUF],
    ["http/json", JSON_TYPE],
  ] as const)("sends batches encoded here from the thread as %s", async (protocol, contentType) => {
    const bodies: OtlpBody[] = [];
    const exporter = threaded(`${receiver.endpoint}/v1/traces`, protocol, bodies);
    try {
      expect((await exportWith(exporter, spans("one", "two"))).code).toBe(ExportResultCode.SUCCESS);
      expect((await exportWith(exporter, spans("three"))).code).toBe(ExportResultCode.SUCCESS);
      expect(receiver.requests.map((r) => r.contentType)).toEqual([contentType, contentType]);
      expect(receiver.spans.map((s) => s.name)).toEqual(["one", "two", "three"]);
      expect(receiver.spans.every((s) => s.attributes["agentmesh.correlation_id"] === "c-thread")).toBe(true);
      // A protobuf body is in a buffer of its own and was moved to the thread (detached here); a JSON body was copied.
      expect(bodies.map((b) => b.owned)).toEqual(protocol === "http/protobuf" ? [true, true] : [false, false]);
      expect(bodies.map((b) => b.bytes.byteLength === 0)).toEqual(protocol === "http/protobuf" ? [true, true] : [false, false]);
    } finally {
      await exporter.shutdown();
    }
  });

  it("reports a request the collector never answers as FAILED", async () => {
    const saved = process.env.OTEL_EXPORTER_OTLP_TRACES_TIMEOUT;
    process.env.OTEL_EXPORTER_OTLP_TRACES_TIMEOUT = "300"; // the thread reads its copy of the environment when it starts
    let exporter: ThreadedOtlpExporter;
    try {
      exporter = threaded("http://127.0.0.1:1/v1/traces", "http/protobuf");
    } finally {
      if (saved === undefined) delete process.env.OTEL_EXPORTER_OTLP_TRACES_TIMEOUT;
      else process.env.OTEL_EXPORTER_OTLP_TRACES_TIMEOUT = saved;
    }
    try {
      const result = await exportWith(exporter, spans("lost"));
      expect(result.code).toBe(ExportResultCode.FAILED);
      expect(result.error?.message).toBeTruthy();
    } finally {
      await exporter.shutdown();
    }
  });

  it("shuts down after what is in flight was sent, and refuses batches after that", async () => {
    const exporter = threaded(`${receiver.endpoint}/v1/traces`, "http/protobuf");
    const inFlight = exportWith(exporter, spans("last words"));
    await exporter.shutdown();
    expect((await inFlight).code).toBe(ExportResultCode.SUCCESS);
    expect(receiver.spans.map((s) => s.name)).toEqual(["last words"]);
    expect((await exportWith(exporter, spans("too late"))).code).toBe(ExportResultCode.FAILED);
    await exporter.shutdown(); // harmless twice
  });

  it("sends from the main thread once the thread has failed", async () => {
    const dir = mkdtempSync(join(tmpdir(), "otlp-thread-"));
    const broken = join(dir, "broken-worker.mjs");
    writeFileSync(broken, 'throw new Error("the export thread cannot start");\n');
    const exporter = threaded(`${receiver.endpoint}/v1/traces`, "http/protobuf", [], pathToFileURL(broken));
    try {
      const first = await exportWith(exporter, spans("first"));
      // The first batch may have been posted before the thread failed (then it fails); the next ones go out from here.
      const second = await exportWith(exporter, spans("second"));
      expect(second.code).toBe(ExportResultCode.SUCCESS);
      expect(receiver.spans.map((s) => s.name)).toEqual(first.code === ExportResultCode.SUCCESS ? ["first", "second"] : ["second"]);
    } finally {
      await exporter.shutdown();
    }
  });
});
