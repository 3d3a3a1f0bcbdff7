/**
 * AgentService, the client API every node serves (gRPC, gRPC-Web and Connect on the node's port). Input is
 * validated here and errors leave as gRPC statuses naming the offending field, capability or agent.
 *
 * SubmitTask, Publish and Broadcast each run in a SERVER span that continues the caller's trace from the
 * W3C traceparent/tracestate/baggage request headers, as do the pattern methods (pattern-service.ts). Each
 * message a Subscribe stream delivers goes out in a PRODUCER span "deliver TYPE", a child of the message's
 * own trace and linked to the subscriber's call, and carries that span's context in its envelope's `trace`
 * field, so a subscriber continues the message's trace. GetSpans answers from the node's span ring.
 */
import { createPatternService } from "./pattern-service.js";
import { create } from "@bufbuild/protobuf";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import { context, propagation, ROOT_CONTEXT, SpanKind, trace, type Context, type Span, type SpanOptions, type Tracer } from "@opentelemetry/api";
import {
  AgentService,
  BroadcastResponseSchema,
  GetSpansResponseSchema,
  ListAgentsResponseSchema,
  MembershipEventKind,
  PublishResponseSchema,
  SubmitTaskResponseSchema,
  SubscribeResponseSchema,
  WatchMembershipResponseSchema,
  type SubscribeResponse,
  type WatchMembershipResponse,
} from "../../gen/agentmesh/v1/agent_service_pb.js";
import type { Payload } from "../../gen/agentmesh/v1/payload_pb.js";
import type { AgentInfo } from "../../gen/agentmesh/v1/membership_pb.js";
import { Channel } from "../transport/async-iter.js";
import { newEnvelope, toTopic } from "../protocol/envelope.js";
import { Code, MeshError } from "../protocol/errors.js";
import { newId } from "../protocol/ids.js";
import { messageToBody, type Message } from "../protocol/message.js";
import { fromPayload, toPayload } from "../protocol/payload.js";
import { ATTR_CAPABILITY, ATTR_CORRELATION_ID, ATTR_HOPS, ATTR_MESSAGE_TYPE, ATTR_TO, envelopeSpanName, failSpan, headersGetter, linkToSpanOf, setEnvelopeAttributes, SPAN_OPTIONS, SpanNames, spanTrace, TRACER_NAME, withSpan } from "../protocol/trace-context.js";
import { requireCapability, requireNonEmpty } from "../protocol/validate.js";
import type { AgentNode } from "./agent-node.js";

/**
 * Converts any error into the MeshError a handler throws: both server paths send its code and message as the
 * gRPC status (a MeshError, unlike a ConnectError, builds no fetch `Headers`, which would load undici).
 */
function toStatus(err: unknown): MeshError {
  return MeshError.from(err);
}

/** Runs `fn`, turning thrown errors into gRPC statuses. */
async function guarded<T>(fn: () => Promise<T> | T): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toStatus(err);
  }
}

/** Decodes a client payload only to validate it (INVALID_ARGUMENT naming `field` when malformed). */
function validPayload(payload: Payload | undefined, field: string): unknown {
  return fromPayload(payload, field);
}

/** The trace context the caller sent in its request headers (W3C traceparent, tracestate, baggage). */
function callerContext(ctx: HandlerContext): Context {
  return propagation.extract(ROOT_CONTEXT, ctx.requestHeader, headersGetter);
}

/** Span names of the AgentService methods, made once each. */
const RPC_SPAN_NAMES = new SpanNames("agentmesh.v1.AgentService/");
/**
 * Runs `fn` inside a SERVER span for AgentService method `method`, a child of the context the client sent in
 * its request headers. `fn` gets the span to set its attributes on (a span that does not record ignores them;
 * what costs to compute is computed only when span.isRecording()).
 */
async function traced<T>(tracer: Tracer, method: string, ctx: HandlerContext, fn: (span: Span) => Promise<T>): Promise<T> {
  const parent = callerContext(ctx);
  const span = tracer.startSpan(RPC_SPAN_NAMES.of(method), SPAN_OPTIONS[SpanKind.SERVER], parent);
  if (span.isRecording()) {
    span.setAttribute("rpc.system", "grpc");
    span.setAttribute("rpc.service", "agentmesh.v1.AgentService");
    span.setAttribute("rpc.method", method);
  }
  try {
    return await context.with(withSpan(parent, span), () => fn(span));
  } catch (err) {
    failSpan(span, err);
    throw err;
  } finally {
    span.end();
  }
}

/**
 * `methods` (unary) each run in a SERVER span named after the method; the span's correlation id is the
 * request's, else the one the response reports (the node made it).
 */
function tracedMethods<M extends object>(tracer: Tracer, methods: M): M {
  const out: Record<string, unknown> = {};
  for (const [name, method] of Object.entries(methods) as [string, (req: unknown, ctx: HandlerContext) => unknown][]) {
    const rpc = name.charAt(0).toUpperCase() + name.slice(1);
    out[name] = (req: { correlationId?: string }, ctx: HandlerContext) =>
      traced(tracer, rpc, ctx, async (span) => {
        if (req.correlationId) span.setAttribute(ATTR_CORRELATION_ID, req.correlationId);
        const res = (await method(req, ctx)) as { correlationId?: unknown } | undefined;
        if (!req.correlationId && typeof res?.correlationId === "string") span.setAttribute(ATTR_CORRELATION_ID, res.correlationId);
        return res;
      });
  }
  return out as M;
}

/** The AgentService implementation of `node`, whose spans come from `tracer`. */
export function createAgentService(node: AgentNode, tracer: Tracer = trace.getTracer(TRACER_NAME)): ServiceImpl<typeof AgentService> {
  return {
    ...tracedMethods(tracer, createPatternService(node, guarded)),
    submitTask: (req, ctx) => {
      const correlationId = req.correlationId === "" ? newId() : req.correlationId;
      return guarded(() =>
        traced(tracer, "SubmitTask", ctx, async (span) => {
          span.setAttribute(ATTR_CORRELATION_ID, correlationId);
          span.setAttribute(ATTR_CAPABILITY, req.capability);
          const capability = requireCapability(req.capability, "capability");
          validPayload(req.input, "input");
          const outcome = await node.submitPayload(capability, req.input ?? toPayload(null), { timeoutMs: req.timeoutMs, correlationId });
          // Where the task ran and how far it went; its id and attempt are on the route span, this span's child.
          if (span.isRecording()) {
            span.setAttribute(ATTR_TO, outcome.agentId);
            span.setAttribute(ATTR_HOPS, outcome.hops);
          }
          return create(SubmitTaskResponseSchema, {
            taskId: outcome.taskId,
            correlationId: outcome.correlationId,
            agentId: outcome.agentId,
            output: outcome.output,
            hops: outcome.hops,
            durationMs: outcome.durationMs,
            attempt: outcome.attempt,
          });
        }),
      );
    },

    publish: (req, ctx) => {
      const correlationId = req.correlationId === "" ? newId() : req.correlationId;
      return guarded(() =>
        traced(tracer, "Publish", ctx, async (span) => {
          if (span.isRecording()) {
            span.setAttribute(ATTR_CORRELATION_ID, correlationId);
            span.setAttribute(ATTR_MESSAGE_TYPE, req.type);
            span.setAttribute(ATTR_TO, `topic:${req.topic}`);
          }
          const topic = requireNonEmpty(req.topic, "topic");
          const type = requireNonEmpty(req.type, "type");
          const payload = validPayload(req.payload, "payload");
          const id = newId();
          await node.bus.publish(topic, { id, type, payload, correlationId });
          return create(PublishResponseSchema, { messageId: id, correlationId });
        }),
      );
    },

    broadcast: (req, ctx) => {
      const correlationId = req.correlationId === "" ? newId() : req.correlationId;
      return guarded(() =>
        traced(tracer, "Broadcast", ctx, async (span) => {
          if (span.isRecording()) {
            span.setAttribute(ATTR_CORRELATION_ID, correlationId);
            span.setAttribute(ATTR_MESSAGE_TYPE, req.type);
            span.setAttribute(ATTR_TO, "*");
          }
          const type = requireNonEmpty(req.type, "type");
          const payload = validPayload(req.payload, "payload");
          const id = newId();
          await node.broadcast({ id, type, payload, correlationId });
          return create(BroadcastResponseSchema, { messageId: id, correlationId, recipients: node.registry.size });
        }),
      );
    },

    subscribe: (req, ctx) => subscribe(node, tracer, req.topic, ctx),

    listAgents: (req) =>
      guarded(() => {
        const all = node.allAgents();
        const agents = req.capability === "" ? all : all.filter((a) => a.capabilities.includes(req.capability));
        return create(ListAgentsResponseSchema, { selfId: node.id, agents });
      }),

    watchMembership: (_req, ctx) => watchMembership(node, ctx),

    getStatus: () => guarded(() => node.report()),

    getSpans: (req) =>
      guarded(() => {
        const traceId = req.traceId.toLowerCase();
        if (req.correlationId === "" && traceId === "") throw new MeshError(Code.InvalidArgument, "correlation_id, trace_id: set at least one");
        if (traceId !== "" && !/^[0-9a-f]{32}$/.test(traceId)) throw new MeshError(Code.InvalidArgument, `trace_id: expected 32 hex digits, got "${req.traceId}"`);
        const source = node.spans;
        const spans = source?.query({ correlationId: req.correlationId, traceId }) ?? [];
        return create(GetSpansResponseSchema, { selfId: node.id, spans, ringCapacity: source?.capacity ?? 0 });
      }),
  };
}

/** A message waiting in a Subscribe stream, with the context it was delivered in (its trace). */
interface Delivery {
  /** The message. */
  m: Message;
  /** The active context when the bus delivered it: the span of its receipt or publication. */
  ctx: Context;
}

/**
 * The options of a Subscribe stream's delivery spans: PRODUCER, linked to the subscriber's call when its
 * request headers carried a trace context (one call receives many messages, each of its own trace).
 */
function deliveryOptions(ctx: HandlerContext): SpanOptions {
  const caller = linkToSpanOf(callerContext(ctx));
  return caller === undefined ? SPAN_OPTIONS[SpanKind.PRODUCER] : { kind: SpanKind.PRODUCER, links: [caller] };
}

async function* subscribe(node: AgentNode, tracer: Tracer, topicField: string, ctx: HandlerContext): AsyncGenerator<SubscribeResponse> {
  let topic: string;
  try {
    topic = requireNonEmpty(topicField, "topic");
  } catch (err) {
    throw toStatus(err);
  }
  const channel = new Channel<Delivery>();
  let backlog = 0;
  const max = node.limits.maxSubscriberBacklog;
  const options = deliveryOptions(ctx);
  const sub = node.bus.subscribe(topic, (m) => {
    if (++backlog > max) {
      channel.fail(new MeshError(Code.ResourceExhausted, `subscriber of topic "${topic}" fell ${max} messages behind; resubscribe`));
      return;
    }
    // The bus runs topic handlers inside the span of the message's receipt or publication.
    channel.push({ m, ctx: context.active() });
  });
  const onAbort = () => channel.end();
  ctx.signal.addEventListener("abort", onAbort, { once: true });
  try {
    for await (const { m, ctx: parent } of channel) {
      backlog--;
      const envelope = newEnvelope({
        body: messageToBody(m.type, m.payload),
        from: m.from,
        to: toTopic(topic),
        messageId: m.id,
        correlationId: m.correlationId,
        hops: m.hops,
        timestampMs: m.timestamp.getTime(),
      });
      // Lasts until the subscriber asks for the next message (the stream took this one) or the stream ends.
      const span = tracer.startSpan(envelopeSpanName("deliver", envelope), options, parent);
      if (span.isRecording()) setEnvelopeAttributes(span, envelope, SpanKind.PRODUCER, node.id);
      envelope.trace = spanTrace(parent, span);
      try {
        yield create(SubscribeResponseSchema, { envelope });
      } finally {
        span.end();
      }
    }
  } finally {
    sub.unsubscribe();
    ctx.signal.removeEventListener("abort", onAbort);
  }
}

async function* watchMembership(node: AgentNode, ctx: HandlerContext): AsyncGenerator<WatchMembershipResponse> {
  const channel = new Channel<WatchMembershipResponse>();
  const event = (kind: MembershipEventKind, agent: AgentInfo, snapshot = false) =>
    create(WatchMembershipResponseSchema, { kind, agent, snapshot });
  for (const agent of node.registry.all()) channel.push(event(MembershipEventKind.JOIN, agent, true));
  const off = node.registry.watch((kind, agent) => channel.push(event(kind === "join" ? MembershipEventKind.JOIN : kind === "leave" ? MembershipEventKind.LEAVE : MembershipEventKind.UPDATE, agent)));
  const onAbort = () => channel.end();
  ctx.signal.addEventListener("abort", onAbort, { once: true });
  try {
    yield* channel;
  } finally {
    off();
    ctx.signal.removeEventListener("abort", onAbort);
  }
}
