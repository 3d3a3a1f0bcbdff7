/**
 * One plain-gRPC call served on a raw HTTP/2 stream: the HandlerContext its implementation receives, and the
 * response side (headers, messages, status trailers). The context is built lazily: the AbortController, the
 * header objects and the context values exist only once a handler reads them, so a unary call that needs none
 * of them allocates none. The signal aborts when the client cancels (RST_STREAM, connection closed), at the
 * grpc-timeout deadline, and when the call ends.
 *
 * Once the stream closes, the call takes its listeners off it. node:http2 keeps each open stream in a Map
 * entry, set when the stream opens and deleted when it closes; at this rate of sets and deletes, V8 keeps the
 * values of deleted entries reachable for its young-generation GC until the next full GC (measured with a
 * plain Map), so every stream is promoted to the old generation. A listener left on the stream would drag the
 * call's whole graph (request, handler closures, spans) along: on a routed SubmitTask, ~2.1 KB promoted per
 * request with the listeners left on, ~1.3 KB with them taken off.
 */
import type * as http2 from "node:http2";
import type { DescMethod, DescService } from "@bufbuild/protobuf";
import { ConnectError, createContextValues, type ContextValues, type HandlerContext } from "@connectrpc/connect";
import type { Clock, TimerHandle } from "../protocol/clock.js";
import { Code, MeshError } from "../protocol/errors.js";
import type { Logger } from "../protocol/logger.js";
import { encodeGrpcMessage, encodeGrpcMessageHeader } from "./grpc-frame.js";
import { GrpcHeaders, RESPOND_AND_END, RESPOND_WITH_TRAILERS } from "./grpc-headers.js";

/** The signal's reason once a call has ended normally (one shared instance: no stack trace per call). */
const CALL_ENDED = new MeshError(Code.Canceled, "the call has ended");

/** Response headers gRPC reserves; handler metadata cannot override them. */
const RESERVED = new Set([":status", "content-type", "grpc-status", "grpc-message", "grpc-status-details-bin", "grpc-encoding", "grpc-accept-encoding"]);

/** A call's status as gRPC sends it. */
interface Status {
  code: Code | 0;
  message: string;
  metadata?: Headers;
}

/** The status an error thrown by a handler becomes; `unexpected` is true for errors that are neither MeshError nor ConnectError. */
export function statusOfError(err: unknown): Status & { unexpected: boolean } {
  if (err instanceof MeshError) return { code: err.code, message: err.message, unexpected: false };
  if (err instanceof ConnectError) return { code: err.code, message: err.rawMessage, metadata: err.metadata, unexpected: false };
  const mesh = MeshError.from(err);
  return { code: mesh.code, message: mesh.message, unexpected: true };
}

/** Copies handler metadata into an HTTP/2 header record, leaving out what gRPC reserves. */
function addMetadata(target: Record<string, string>, metadata: Headers | undefined): void {
  metadata?.forEach((value, name) => {
    if (!RESERVED.has(name) && name.charCodeAt(0) !== 58) target[name] = value;
  });
}

/** A listener on the call's stream (node:http2 types its events' arguments per event). */
type StreamListener = (...args: any[]) => void;

/** What a call needs to know about where it runs. */
export interface RawCallOptions {
  /** Timers (the deadline). */
  clock: Clock;
  /** Where unexpected handler errors are logged. */
  logger: Logger;
}

/** A call on a raw HTTP/2 stream; also the HandlerContext of its implementation. */
export class RawGrpcCall implements HandlerContext {
  /** Always POST: gRPC has no other method. */
  readonly requestMethod = "POST";
  /** The protocol served. */
  readonly protocolName = "grpc";
  /** True once the status was sent or the stream closed: nothing more is written. */
  ended = false;
  private headersSent = false;
  private controller: AbortController | undefined;
  private abortReason: unknown;
  private deadline: number | undefined;
  private timer: TimerHandle | undefined;
  private requestHeaders: GrpcHeaders | undefined;
  private responseHeaders: GrpcHeaders | undefined;
  private responseTrailers: GrpcHeaders | undefined;
  private contextValues: ContextValues | undefined;
  private trailers: Record<string, string> | undefined;
  /** Listeners this call put on the stream (event, listener, ...), taken off when it closes. */
  private readonly listeners: (string | StreamListener)[] = [];

  /** Starts a call on `stream`: watches for the client going away and arms the deadline (`timeoutMs`, if any). */
  constructor(
    private readonly stream: http2.ServerHttp2Stream,
    private readonly headers: http2.IncomingHttpHeaders,
    /** The method called. */
    readonly method: DescMethod,
    private readonly options: RawCallOptions,
    timeoutMs: number | undefined,
  ) {
    this.listen("error", () => {
      // A stream error ends the stream; "close" follows and cancels the call.
    });
    // "close" and "wantTrailers" come once per stream: `on` spares the once-wrapper of each call.
    this.listen("close", () => {
      if (!this.ended) this.cancel(new MeshError(Code.Canceled, "the client cancelled the call"));
      const { listeners } = this;
      for (let i = 0; i < listeners.length; i += 2) this.stream.off(listeners[i] as string, listeners[i + 1] as StreamListener);
      listeners.length = 0;
    });
    if (timeoutMs !== undefined) {
      this.deadline = options.clock.now() + timeoutMs;
      this.timer = options.clock.setTimeout(() => this.fail(new MeshError(Code.DeadlineExceeded, `the call's deadline of ${timeoutMs} ms passed`)), timeoutMs);
    }
  }

  /** Adds `listener` for `event` on the stream until it closes (see the file comment). */
  listen(event: string, listener: StreamListener): void {
    this.stream.on(event, listener);
    this.listeners.push(event, listener);
  }

  /** The service the method belongs to. */
  get service(): DescService {
    return this.method.parent;
  }

  /** Aborts on client cancel, at the deadline and when the call ends; created on first use. */
  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.abortReason !== undefined) this.controller.abort(this.abortReason);
    }
    return this.controller.signal;
  }

  /** Milliseconds left before the deadline, or undefined without one. */
  readonly timeoutMs = (): number | undefined => (this.deadline === undefined ? undefined : this.deadline - this.options.clock.now());

  /** The request metadata (pseudo-headers left out). */
  get requestHeader(): Headers {
    return (this.requestHeaders ??= GrpcHeaders.fromHttp2(this.headers));
  }

  /** Metadata sent with the response headers (set before the first message of a stream). */
  get responseHeader(): Headers {
    return (this.responseHeaders ??= new GrpcHeaders());
  }

  /** Metadata sent with the status trailers. */
  get responseTrailer(): Headers {
    return (this.responseTrailers ??= new GrpcHeaders());
  }

  /** Per-call values (empty: the raw path has no interceptors). */
  get values(): ContextValues {
    return (this.contextValues ??= createContextValues());
  }

  /** The request URL. */
  get url(): string {
    return `http://${this.headers[":authority"] ?? "localhost"}${this.headers[":path"] ?? ""}`;
  }

  /** Sends the response headers unless they went already; false when the stream is gone. */
  private sendHeaders(): boolean {
    if (this.headersSent) return true;
    if (this.stream.destroyed || this.stream.closed) return false;
    const out: Record<string, string> = { ":status": "200", "content-type": this.contentType() };
    addMetadata(out, this.responseHeaders);
    this.stream.respond(out, RESPOND_WITH_TRAILERS);
    this.headersSent = true;
    this.listen("wantTrailers", () => {
      try {
        this.stream.sendTrailers(this.trailers ?? { "grpc-status": "0" });
      } catch {
        this.stream.destroy(); // the session went away meanwhile
      }
    });
    return true;
  }

  /** Writes one encoded response message; resolves false when the stream is gone (stop producing). */
  async write(message: Uint8Array): Promise<boolean> {
    if (this.ended || !this.sendHeaders()) return false;
    if (this.stream.write(encodeGrpcMessage(message))) return true;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        this.stream.off("drain", done);
        this.stream.off("close", done);
        resolve();
      };
      this.stream.on("drain", done);
      this.stream.on("close", done);
    });
    return !this.ended && !this.stream.destroyed;
  }

  /** Ends the call with status OK after `last` (the unary response), if still open. */
  succeed(last?: Uint8Array): void {
    if (this.ended) return;
    if (!this.sendHeaders()) return this.close();
    this.trailers = { "grpc-status": "0" };
    addMetadata(this.trailers, this.responseTrailers);
    this.close();
    if (last === undefined) this.stream.end();
    else this.stream.end(encodeGrpcMessage(last));
  }

  /** Ends the call with the status `err` maps to, if still open (trailers-only when nothing was sent yet). */
  fail(err: unknown): void {
    if (this.ended) return;
    const status = statusOfError(err);
    if (status.unexpected) this.options.logger.warn({ method: this.method.name, err: status.message }, "a gRPC handler failed with an unexpected error");
    const trailers: Record<string, string> = {};
    addMetadata(trailers, this.responseTrailers);
    addMetadata(trailers, status.metadata);
    trailers["grpc-status"] = String(status.code);
    if (status.message !== "") trailers["grpc-message"] = encodeGrpcMessageHeader(status.message);
    this.close(err);
    const stream = this.stream;
    if (stream.destroyed || stream.closed) return;
    try {
      if (this.headersSent) {
        this.trailers = trailers;
        stream.end();
      } else {
        this.headersSent = true;
        const out: Record<string, string> = { ":status": "200", "content-type": this.contentType() };
        addMetadata(out, this.responseHeaders);
        stream.respond(Object.assign(out, trailers), RESPOND_AND_END);
      }
      // The request may still be arriving (a refused or failed call): stop it once the status is out.
      if (!stream.readableEnded) stream.close(0 /* NGHTTP2_NO_ERROR, after the pending frames */);
    } catch {
      // Invalid metadata from the handler, or the session went away: end the stream without a status.
      stream.destroy();
    }
  }

  /** Marks the call ended: clears the deadline and aborts the signal (with `reason`, else the ended marker). */
  private close(reason: unknown = CALL_ENDED): void {
    this.ended = true;
    this.timer?.cancel();
    this.timer = undefined;
    this.abortReason = reason;
    this.controller?.abort(reason);
  }

  /** The client went away: nothing is sent any more; the signal aborts with `reason`. */
  private cancel(reason: MeshError): void {
    this.close(reason);
  }

  /** The response content type: the request's own (application/grpc or application/grpc+proto). */
  private contentType(): string {
    return this.headers["content-type"] ?? "application/grpc";
  }
}
