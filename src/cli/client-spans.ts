/**
 * Client spans of the CLI's calls: every AgentService call of connectToNode runs in a CLIENT span named
 * "SERVICE/METHOD" (rpc.* attributes, and the correlation id the request or its answer carries), whose context
 * goes to the node in the `traceparent` (and `tracestate`, `baggage`) request headers, so the node's span of the
 * call is its child. A unary call's span ends with its answer; a streaming call's (Subscribe, WatchMembership)
 * when its stream ends or fails, or when the call is cancelled through its signal. Without a registered tracer
 * provider (client-tracing.ts starts one when the CLI traces) the span is the API's no-op and the call goes out
 * untouched.
 */
import type { DescMessage, MessageShape } from "@bufbuild/protobuf";
import { Code, ConnectError, type Interceptor, type StreamResponse } from "@connectrpc/connect";
import { context, propagation, SpanKind, SpanStatusCode, trace, type Span } from "@opentelemetry/api";
import { codeName } from "../protocol/errors.js";
import { ATTR_CORRELATION_ID, headersSetter, SPAN_OPTIONS, TRACER_NAME, withSpan } from "../protocol/trace-context.js";

/** Runs each call in a CLIENT span named "SERVICE/METHOD" and sends its context in the request headers. */
export const clientSpans: Interceptor = (next) => async (req) => {
  const span = trace.getTracer(TRACER_NAME).startSpan(`${req.service.typeName}/${req.method.name}`, SPAN_OPTIONS[SpanKind.CLIENT]);
  if (!span.isRecording()) return next(req);
  span.setAttribute("rpc.system", "grpc");
  span.setAttribute("rpc.service", req.service.typeName);
  span.setAttribute("rpc.method", req.method.name);
  const sent = req.stream ? undefined : correlationIdOf(req.message);
  if (sent !== undefined) span.setAttribute(ATTR_CORRELATION_ID, sent);
  propagation.inject(withSpan(context.active(), span), req.header, headersSetter);
  let streaming = false;
  try {
    const res = await next(req);
    if (res.stream) {
      streaming = true;
      return { ...res, message: endWithStream(res, span, req.signal) };
    }
    const made = sent ?? correlationIdOf(res.message);
    if (made !== undefined) span.setAttribute(ATTR_CORRELATION_ID, made);
    return res;
  } catch (err) {
    failed(span, err);
    throw err;
  } finally {
    if (!streaming) span.end();
  }
};

/**
 * `res`'s messages, ending `span` once: when the stream ends, when it fails (its status on the span), or when
 * the call's `signal` aborts (the way a connect client cancels a stream, a deadline included: CANCELLED or
 * DEADLINE_EXCEEDED on the span, as for any call that did not end OK). A reader that only stops reading leaves
 * the call open, and its span with it.
 */
function endWithStream(res: StreamResponse, span: Span, signal: AbortSignal): AsyncIterable<MessageShape<DescMessage>> {
  let ended = false;
  const end = (err?: unknown) => {
    if (ended) return;
    ended = true;
    signal.removeEventListener("abort", onAbort);
    if (err !== undefined) failed(span, err);
    span.end();
  };
  const onAbort = () => end(signal.reason ?? new ConnectError("the call was cancelled", Code.Canceled));
  if (signal.aborted) onAbort();
  else signal.addEventListener("abort", onAbort, { once: true });
  return (async function* () {
    try {
      yield* res.message;
    } catch (err) {
      end(err);
      throw err;
    } finally {
      end();
    }
  })();
}

/** Marks `span` as failed with the gRPC status of `err`. */
function failed(span: Span, err: unknown): void {
  const e = ConnectError.from(err);
  span.setStatus({ code: SpanStatusCode.ERROR, message: `${codeName(e.code)}: ${e.rawMessage}` });
}

/** The non-empty `correlationId` of a request or response message, if it has one. */
function correlationIdOf(message: unknown): string | undefined {
  const id = (message as { correlationId?: unknown } | undefined)?.correlationId;
  return typeof id === "string" && id !== "" ? id : undefined;
}
