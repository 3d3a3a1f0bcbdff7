/**
 * The OTLP/HTTP exporter's own thread: the node's main thread turns each batch into its request body (the
 * transcoded records, or the encoded span objects) and hands the bytes to a worker thread, which sends them
 * with the SDK's OTLP/HTTP transport (otlp-worker.ts: retries, timeout, headers, compression as the
 * OTEL_EXPORTER_OTLP_* variables say). The HTTP request, its socket writes and the collector's answer then cost
 * the event loop that serves tasks nothing but one message each way per batch; a body the encoder wrote into a
 * buffer of its own is moved to the thread, not copied. Measured on 2 cores (bench/README.md, "Tracing"):
 * routed throughput with every span exported rose from ~0.84–0.89× to ~0.92–0.99× of tracing off.
 *
 * The thread starts with the exporter and never keeps the process alive while idle. If it fails or exits, its
 * exports in flight fail (the export queue counts them) and later batches go through `fallback`, an exporter
 * on the main thread.
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import type { ExportResult } from "@opentelemetry/core";
import type { ReadableSpan, SpanExporter } from "@opentelemetry/sdk-trace-base";
import type { OtlpProtocol } from "./otlp-protocol.js";

/** ExportResultCode.SUCCESS and FAILED of @opentelemetry/core (numbers, so this module loads no SDK package). */
const SUCCESS = 0;
const FAILED = 1;

/** What the export thread is started with. */
export interface OtlpThreadData {
  /** The OTLP/HTTP traces URL. */
  url: string;
  /** The request bodies' encoding. */
  protocol: OtlpProtocol;
}

/** A request to the export thread: send a body of `spans` spans (bytes [offset, offset + length) of `buffer`), flush, or shut down. */
export type OtlpThreadRequest = { op: "export"; id: number; buffer: ArrayBufferLike; offset: number; length: number; spans: number } | { op: "flush" | "shutdown"; id: number };

/** The export thread's answer to request `id`: an ExportResultCode and, on failure, the error's message. */
export interface OtlpThreadReply {
  id: number;
  code: number;
  error?: string;
}

/** A batch's request body; `owned`: its buffer belongs to this body alone (it can be moved to the thread). */
export interface OtlpBody {
  bytes: Uint8Array;
  owned: boolean;
}

/** The export thread's script (the compiled otlp-worker.js beside this module), or undefined when it is not there (running from sources). */
export function otlpWorkerUrl(): URL | undefined {
  const url = new URL("./otlp-worker.js", import.meta.url);
  return existsSync(fileURLToPath(url)) ? url : undefined;
}

/** A SpanExporter whose requests are sent from a worker thread; see the file comment. */
export class ThreadedOtlpExporter implements SpanExporter {
  private readonly worker: Worker;
  private readonly waiting = new Map<number, (reply: OtlpThreadReply) => void>();
  private nextId = 0;
  /** Why the thread can no longer be used (it failed, exited or was shut down). */
  private gone: Error | undefined;
  private stopping: Promise<void> | undefined;

  /**
   * Starts the thread (`script`: otlpWorkerUrl()) sending to `url` in `protocol`; `serialize` makes a batch's
   * body on this thread (undefined: it cannot), `fallback` exports once the thread is gone.
   */
  constructor(
    url: string,
    protocol: OtlpProtocol,
    private readonly serialize: (spans: ReadableSpan[]) => OtlpBody | undefined,
    private readonly fallback: () => SpanExporter,
    script: URL,
  ) {
    this.worker = new Worker(script, { workerData: { url, protocol } satisfies OtlpThreadData });
    this.worker.unref();
    this.worker.on("message", (reply: OtlpThreadReply) => this.settle(reply));
    this.worker.on("error", (err) => this.lost(err));
    this.worker.on("exit", (code) => this.lost(new Error(`the OTLP export thread exited (code ${code})`)));
  }

  /** Sends one batch from the thread; the result comes back through `resultCallback`. */
  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    if (this.gone !== undefined) {
      if (this.stopping !== undefined) return resultCallback({ code: FAILED, error: this.gone });
      return this.fallbackExporter().export(spans, resultCallback);
    }
    let body: OtlpBody | undefined;
    try {
      body = this.serialize(spans);
    } catch (err) {
      return resultCallback({ code: FAILED, error: err instanceof Error ? err : new Error(String(err)) });
    }
    if (body === undefined) return resultCallback({ code: FAILED, error: new Error("the batch could not be serialized") });
    // A body in a buffer of its own moves to the thread; another is copied into one first.
    const bytes = body.owned ? body.bytes : body.bytes.slice();
    const buffer = bytes.buffer as ArrayBuffer;
    void this.call({ op: "export", id: 0, buffer, offset: bytes.byteOffset, length: bytes.byteLength, spans: spans.length }, [buffer]).then((reply) =>
      resultCallback(reply.code === SUCCESS ? { code: SUCCESS } : { code: FAILED, error: new Error(reply.error ?? "export failed") }),
    );
  }

  /** Resolves once every request sent so far has been answered. */
  async forceFlush(): Promise<void> {
    if (this.gone !== undefined) return await this.fallbackMade?.forceFlush?.();
    await this.call({ op: "flush", id: 0 });
  }

  /** Sends what is in flight, then stops the thread; harmless twice. */
  shutdown(): Promise<void> {
    return (this.stopping ??= (async () => {
      if (this.gone === undefined) await this.call({ op: "shutdown", id: 0 });
      this.gone ??= new Error("the OTLP exporter was shut down");
      await this.worker.terminate();
      await this.fallbackMade?.shutdown();
    })());
  }

  private fallbackMade: SpanExporter | undefined;

  private fallbackExporter(): SpanExporter {
    return (this.fallbackMade ??= this.fallback());
  }

  /** Posts `request` (its id assigned here) and resolves with the thread's reply; the thread keeps the process alive meanwhile. */
  private call(request: OtlpThreadRequest, transfer: ArrayBuffer[] = []): Promise<OtlpThreadReply> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      if (this.waiting.size === 0) this.worker.ref();
      this.waiting.set(id, resolve);
      try {
        this.worker.postMessage({ ...request, id }, transfer);
      } catch (err) {
        this.settle({ id, code: FAILED, error: err instanceof Error ? err.message : String(err) });
      }
    });
  }

  private settle(reply: OtlpThreadReply): void {
    const resolve = this.waiting.get(reply.id);
    if (resolve === undefined) return;
    this.waiting.delete(reply.id);
    if (this.waiting.size === 0) this.worker.unref();
    resolve(reply);
  }

  /** The thread is gone: everything in flight fails; later batches go through the fallback (unless shutting down). */
  private lost(err: Error): void {
    this.gone ??= err;
    for (const id of [...this.waiting.keys()]) this.settle({ id, code: FAILED, error: err.message });
  }
}
