/**
 * Client spans of the CLI's calls: every unary AgentService call of connectToNode runs in a CLIENT span named
 * "SERVICE/METHOD" (rpc.* attributes, and the correlation id the request or its answer carries), whose context
 * goes to the node in the `traceparent` (and `tracestate`, `baggage`) request headers, so the node's span of the
 * call is its child. Without a registered tracer provider (client-tracing.ts starts one when the CLI traces) the
 * span is the API's no-op and the call goes out untouched.
 */
import { ConnectError, type Interceptor } from "@connectrpc/connect";
import { context, propagation, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import { codeName } from "../protocol/errors.js";
import { ATTR_CORRELATION_ID, headersSetter, SPAN_OPTIONS, TRACER_NAME, withSpan } from "../protocol/trace-context.js";

/** Runs each unary call in a CLIENT span named "SERVICE/METHOD" and sends its context in the request headers. */
export const clientSpans: Interceptor = (next) => async (req) => {
  if (req.stream) return next(req);
  const span = trace.getTracer(TRACER_NAME).startSpan(`${req.service.typeName}/${req.method.name}`, SPAN_OPTIONS[SpanKind.CLIENT]);
  if (!span.isRecording()) return next(req);
  span.setAttribute("rpc.system", "grpc");
  span.setAttribute("rpc.service", req.service.typeName);
  span.setAttribute("rpc.method", req.method.name);
  const sent = correlationIdOf(req.message);
  if (sent !== undefined) span.setAttribute(ATTR_CORRELATION_ID, sent);
  propagation.inject(withSpan(context.active(), span), req.header, headersSetter);
  try {
    const res = await next(req);
    const made = sent ?? (res.stream ? undefined : correlationIdOf(res.message));
    if (made !== undefined) span.setAttribute(ATTR_CORRELATION_ID, made);
    return res;
  } catch (err) {
    const e = ConnectError.from(err);
    span.setStatus({ code: SpanStatusCode.ERROR, message: `${codeName(e.code)}: ${e.rawMessage}` });
    throw err;
  } finally {
    span.end();
  }
};

/** The non-empty `correlationId` of a request or response message, if it has one. */
function correlationIdOf(message: unknown): string | undefined {
  const id = (message as { correlationId?: unknown } | undefined)?.correlationId;
  return typeof id === "string" && id !== "" ? id : undefined;
}

