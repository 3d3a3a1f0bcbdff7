/**
 * The OTLP/HTTP transport of the export path to an `http:` endpoint without compression (the default): each
 * export request is one HTTP/1.1 POST written in one go (head and body corked into one write) on a TCP
 * connection of its own that stays open for the next (node:net), and the response is read by
 * http1-response.ts. Through the SDK's export delegate, a request of 1024 spans costs a node ~160 µs of CPU
 * this way and ~250 through the SDK's transport (node:http through a Readable stream per request, the URL
 * parsed for each; `node bench/otlp-transport-cost.mjs`), and fewer turns of the event loop: in the routed
 * benchmark exporting every span went from 0.85× to 0.89–0.90× of the tracing-off rate (bench/README.md,
 * "Tracing"). `https:` endpoints and gzip go through the SDK's transport (otlp-exporter.ts decides).
 *
 * It answers as the SDK's transport does, so the SDK's export delegate above it sees no difference: a 2xx is a
 * success (with the body, an ExportTraceServiceResponse, for the delegate to read); 429, 502, 503 and 504 are
 * retryable, after Retry-After when the collector gives it; any other status fails with an OTLPExporterError
 * (its status code and body); a network error of the kinds the SDK retries (ECONNRESET, ECONNREFUSED, …) and a
 * timeout are retryable. Retryable answers are retried here with the SDK's policy (up to 5 more tries, 1 s
 * growing ×1.5 with ±20 % jitter to at most 5 s, never past the export's timeout). A request on a kept
 * connection that the collector had closed meanwhile (no byte of a response came) is sent again at once on a
 * new connection. abort() (a tracing shutdown past its deadline) gives up the requests in flight and the waits
 * between retries at once, so nothing of the transport keeps a stopping process alive.
 */
import { connect, type Socket } from "node:net";
import type { ExportResponse, IExporterTransport } from "@opentelemetry/otlp-exporter-base";
import { Http1ResponseParser, type Http1Response } from "./http1-response.js";
import { sdkOtlpExporterBase } from "./sdk.js";

/** Limits and timers of the transport. */
export interface OtlpHttpTransportConfig {
  /** Retries of a retryable export at most. Default 5 (the SDK's). */
  maxRetries: number;
  /** The first retry's delay when the collector gives none, ms; each next one is `backoffMultiplier` times longer. Default 1000. */
  initialBackoffMs: number;
  /** Growth of the delay from retry to retry. Default 1.5. */
  backoffMultiplier: number;
  /** The longest delay between retries, ms. Default 5000. */
  maxBackoffMs: number;
  /** Largest response body read; a larger one fails the export. Default 4 MiB (the SDK's). */
  maxResponseBytes: number;
  /** Open connections kept between exports at most. Default 2 (the export queue's default concurrency). */
  maxIdleConnections: number;
}

/** The transport's defaults: the SDK's retry policy and response limit. */
export const DEFAULT_OTLP_HTTP_TRANSPORT_CONFIG: Readonly<OtlpHttpTransportConfig> = {
  maxRetries: 5,
  initialBackoffMs: 1000,
  backoffMultiplier: 1.5,
  maxBackoffMs: 5000,
  maxResponseBytes: 4 * 1024 * 1024,
  maxIdleConnections: 2,
};

/** Where and what to send. */
export interface OtlpHttpTarget {
  /** The endpoint, an `http:` URL (e.g. http://localhost:4318/v1/traces). */
  url: string;
  /** The request headers (Content-Type and the configured OTEL_EXPORTER_OTLP_*HEADERS), asked for each request. */
  headers: () => Record<string, string> | Promise<Record<string, string>>;
  /** Prepended to the User-Agent header (the exporter's `userAgent` option). */
  userAgent?: string;
}

/** Network errors the SDK's transport retries. */
const RETRYABLE_CODES = new Set(["ECONNRESET", "ECONNREFUSED", "EPIPE", "ETIMEDOUT", "EAI_AGAIN", "ENOTFOUND", "ENETUNREACH", "EHOSTUNREACH"]);
/** HTTP statuses the OTLP specification makes retryable. */
const RETRYABLE_STATUSES = new Set([429, 502, 503, 504]);
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
const USER_AGENT = "agent-mesh-otlp-exporter";

/** One request's outcome, and whether it failed on a kept connection before any of the response came. */
type Outcome = { response: ExportResponse; stale: boolean };

/** See the file comment. */
export class OtlpHttpTransport implements IExporterTransport {
  private readonly config: OtlpHttpTransportConfig;
  private readonly host: string;
  private readonly port: number;
  private readonly path: string;
  private readonly hostHeader: string;
  private readonly idle: Socket[] = [];
  /** Connections of the requests in flight (abort() closes them). */
  private readonly inFlight = new Set<Socket>();
  /** Ends of the waits between retries in progress (abort() ends them). */
  private readonly pauses = new Set<() => void>();
  private closed = false;

  /** A transport to `target` with `config` (defaults: DEFAULT_OTLP_HTTP_TRANSPORT_CONFIG). */
  constructor(
    private readonly target: OtlpHttpTarget,
    config: Partial<OtlpHttpTransportConfig> = {},
  ) {
    this.config = { ...DEFAULT_OTLP_HTTP_TRANSPORT_CONFIG, ...config };
    const url = new URL(target.url);
    if (url.protocol !== "http:") throw new Error(`OtlpHttpTransport: ${target.url} is not an http: URL`);
    this.host = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
    this.port = url.port === "" ? 80 : Number(url.port);
    this.path = `${url.pathname}${url.search}`;
    this.hostHeader = url.host;
  }

  /** Sends one export request's bytes, retrying as the file comment says, within `timeoutMillis`. */
  async send(data: Uint8Array, timeoutMillis: number): Promise<ExportResponse> {
    const deadline = Date.now() + timeoutMillis;
    let response = await this.attempt(data, timeoutMillis);
    let backoff = this.config.initialBackoffMs;
    for (let retry = 0; response.status === "retryable" && retry < this.config.maxRetries; retry++) {
      const jittered = Math.min(backoff * (0.8 + 0.4 * Math.random()), this.config.maxBackoffMs);
      backoff *= this.config.backoffMultiplier;
      const wait = Math.max(0, response.retryInMillis ?? jittered);
      if (wait > deadline - Date.now() || this.closed) return response;
      await this.pause(wait);
      if (this.closed) return response;
      response = await this.attempt(data, deadline - Date.now());
    }
    return response;
  }

  /** Closes the kept connections; requests in flight finish. */
  shutdown(): void {
    this.closed = true;
    for (const socket of this.idle.splice(0)) socket.destroy();
  }

  /**
   * Gives up every export at once (a shutdown whose deadline passed): closes as shutdown does, ends the waits
   * between retries and closes the connections of requests in flight, so each send resolves with its last
   * answer (retryable) and nothing of the transport keeps the process alive.
   */
  abort(): void {
    this.shutdown();
    for (const end of [...this.pauses]) end();
    for (const socket of [...this.inFlight]) socket.destroy();
  }

  /** Waits `ms` before a retry, or until abort(). */
  private pause(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const end = () => {
        clearTimeout(timer);
        this.pauses.delete(end);
        resolve();
      };
      const timer = setTimeout(end, ms);
      this.pauses.add(end);
    });
  }

  /** One try: on a kept connection (again on a new one if the collector had closed it), else on a new one. */
  private async attempt(data: Uint8Array, timeoutMs: number): Promise<ExportResponse> {
    let head: Buffer;
    try {
      head = this.requestHead(await this.target.headers(), data.length);
    } catch (err) {
      return { status: "failure", error: err instanceof Error ? err : new Error(String(err)) };
    }
    const started = Date.now();
    const kept = this.idle.pop();
    if (kept !== undefined) {
      kept.off("data", closeOnData);
      kept.ref();
      const outcome = await this.exchange(kept, head, data, timeoutMs);
      if (!outcome.stale || this.closed) return outcome.response;
    }
    return (await this.exchange(this.open(), head, data, timeoutMs - (Date.now() - started))).response;
  }

  /** The request line and headers for a body of `length` bytes; throws on a header that cannot be sent. */
  private requestHead(headers: Record<string, string>, length: number): Buffer {
    let text = `POST ${this.path} HTTP/1.1\r\nHost: ${this.hostHeader}\r\n`;
    let userAgent = false;
    for (const name in headers) {
      const value = String(headers[name]);
      if (!HEADER_NAME.test(name) || !HEADER_VALUE.test(value)) throw new Error(`OTLP export: header ${JSON.stringify(name)} has a name or value that cannot be sent`);
      const lower = name.toLowerCase();
      if (lower === "host" || lower === "content-length" || lower === "connection" || lower === "transfer-encoding") continue;
      if (lower === "user-agent") userAgent = true;
      text += `${name}: ${value}\r\n`;
    }
    if (!userAgent) text += `User-Agent: ${this.target.userAgent !== undefined ? `${this.target.userAgent} ` : ""}${USER_AGENT}\r\n`;
    text += `Content-Length: ${length}\r\n\r\n`;
    return Buffer.from(text, "latin1");
  }

  /** A new connection to the endpoint (writes wait for it to connect). */
  private open(): Socket {
    const socket = connect({ host: this.host, port: this.port });
    socket.setNoDelay(true);
    // A kept connection's error (the collector went away) closes it; the close takes it off the list.
    socket.on("error", () => {});
    socket.on("close", () => {
      const i = this.idle.indexOf(socket);
      if (i >= 0) this.idle.splice(i, 1);
    });
    return socket;
  }

  /** Writes the request on `socket` and reads its response; keeps the connection when it may be used again. */
  private exchange(socket: Socket, head: Buffer, data: Uint8Array, timeoutMs: number): Promise<Outcome> {
    return new Promise<Outcome>((resolve) => {
      const parser = new Http1ResponseParser(this.config.maxResponseBytes);
      let settled = false;
      const finish = (outcome: Outcome, keep: boolean) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.inFlight.delete(socket);
        socket.off("data", onData);
        socket.off("end", onEnd);
        socket.off("error", onError);
        socket.off("close", onEnd);
        if (keep && !this.closed && this.idle.length < this.config.maxIdleConnections) {
          socket.unref();
          socket.on("data", closeOnData);
          this.idle.push(socket);
        } else socket.destroy();
        resolve(outcome);
      };
      const answered = (response: Http1Response) => finish({ response: exportResponse(response), stale: false }, response.keepAlive);
      const onData = (chunk: Buffer) => {
        let response: Http1Response | undefined;
        try {
          response = parser.push(chunk);
        } catch (err) {
          return finish({ response: { status: "failure", error: err as Error }, stale: false }, false);
        }
        if (response !== undefined) answered(response);
      };
      const onEnd = () => {
        if (!parser.started) return finish({ response: { status: "retryable", error: Object.assign(new Error("the collector closed the connection"), { code: "ECONNRESET" }) }, stale: true }, false);
        try {
          answered(parser.end());
        } catch (err) {
          finish({ response: { status: "retryable", error: err as Error }, stale: false }, false);
        }
      };
      const onError = (err: NodeJS.ErrnoException) => {
        const retryable = err.code !== undefined && RETRYABLE_CODES.has(err.code);
        finish({ response: retryable ? { status: "retryable", error: err } : { status: "failure", error: err }, stale: retryable && !parser.started }, false);
      };
      const timer = setTimeout(() => finish({ response: { status: "retryable", error: new Error("Request timed out") }, stale: false }, false), Math.max(0, timeoutMs));
      socket.on("data", onData);
      socket.on("end", onEnd);
      socket.on("error", onError);
      socket.on("close", onEnd); // closed with neither an end nor an error (destroyed): as an end
      this.inFlight.add(socket);
      socket.cork();
      socket.write(head);
      socket.write(data);
      socket.uncork();
    });
  }
}

/** Closes a kept connection that receives bytes while no request waits (e.g. a collector's 408 before it closes). */
function closeOnData(this: Socket): void {
  this.destroy();
}

/** The ExportResponse of `response`, as the SDK's transport makes it. */
function exportResponse(response: Http1Response): ExportResponse {
  if (response.status >= 200 && response.status <= 299) return { status: "success", data: response.body };
  if (RETRYABLE_STATUSES.has(response.status)) return { status: "retryable", retryInMillis: retryAfterMs(response.headers.get("retry-after")) };
  const { OTLPExporterError } = sdkOtlpExporterBase();
  return { status: "failure", error: new OTLPExporterError(response.reason, response.status, response.body.toString("utf8")) };
}

/** Retry-After (seconds, or an HTTP date) in milliseconds from now; undefined when absent or unreadable. */
export function retryAfterMs(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}
