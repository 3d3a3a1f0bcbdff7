/**
 * Trace context on the wire, over the OpenTelemetry API only (no SDK): W3C traceparent, tracestate and
 * baggage travel inside each Envelope's `trace` field (one peer link carries many messages, so each message
 * carries its own context) and in the gRPC metadata of client calls. Without an SDK the API's propagator
 * and tracer are no-ops, so these helpers cost next to nothing; src/telemetry/tracing.ts installs the real
 * ones. Also the attribute names every span of the mesh uses, the options of a span of each kind and its
 * names, made once (span sites allocate nothing of their own for a span).
 */
import {
  context,
  createContextKey,
  INVALID_SPAN_CONTEXT,
  isSpanContextValid,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace as traceApi,
  type Attributes,
  type Context,
  type Link,
  type Span,
  type SpanOptions,
  type TextMapGetter,
  type TextMapSetter,
} from "@opentelemetry/api";
import type { Destination, Envelope, TraceContext } from "../../gen/agentmesh/v1/envelope_pb.js";

/** The task or conversation a span belongs to: on every span of the mesh. */
export const ATTR_CORRELATION_ID = "agentmesh.correlation_id";
/** The message type carried (task_request, vote_request, a user type, ...). */
export const ATTR_MESSAGE_TYPE = "agentmesh.message_type";
/** The sending agent (on spans of other agents than the sender: its own spans' resource names it). */
export const ATTR_FROM = "agentmesh.from";
/** The receiving agent, or topic for a publish (on spans of other agents than the receiver, and on sends to oneself). */
export const ATTR_TO = "agentmesh.to";
/** The capability a task needs. */
export const ATTR_CAPABILITY = "agentmesh.capability";
/** Hops the message or task has taken. */
export const ATTR_HOPS = "agentmesh.hops";
/** The task's id. */
export const ATTR_TASK_ID = "agentmesh.task_id";
/** The task's attempt number (raised on each reassignment), from the second on: a span without it is of a first attempt. */
export const ATTR_ATTEMPT = "agentmesh.attempt";
/** The agent that recorded a span (also on the resource, as service.instance.id). */
export const ATTR_AGENT_ID = "agentmesh.agent_id";

/** The instrumentation scope name of the mesh's tracers. */
export const TRACER_NAME = "agent-mesh";

/** The options of a span of each kind, made once (tracers only read them). */
export const SPAN_OPTIONS: Readonly<Record<SpanKind, SpanOptions>> = Object.freeze({
  [SpanKind.INTERNAL]: Object.freeze({ kind: SpanKind.INTERNAL }),
  [SpanKind.SERVER]: Object.freeze({ kind: SpanKind.SERVER }),
  [SpanKind.CLIENT]: Object.freeze({ kind: SpanKind.CLIENT }),
  [SpanKind.PRODUCER]: Object.freeze({ kind: SpanKind.PRODUCER }),
  [SpanKind.CONSUMER]: Object.freeze({ kind: SpanKind.CONSUMER }),
});

/** Names a SpanNames keeps at most (beyond them, a name is made each time: subjects may come from peers). */
export const MAX_SPAN_NAMES = 256;

/** Span names `prefix` + subject (e.g. "route " + "echo"), one string per name rather than one per span. */
export class SpanNames {
  private readonly names = new Map<string, string>();

  /** Names starting with `prefix` (a verb and its space, a service's path). */
  constructor(private readonly prefix: string) {}

  /** `prefix` + `subject`. */
  of(subject: string): string {
    let name = this.names.get(subject);
    if (name === undefined) {
      name = this.prefix + subject;
      if (this.names.size < MAX_SPAN_NAMES) this.names.set(subject, name);
    }
    return name;
  }
}

/** A span name of low cardinality: "VERB TYPE" for the mesh's own bodies, "VERB message" for user messages. */
export function envelopeSpanName(verb: string, env: Envelope): string {
  let names = envelopeSpanNames.get(verb);
  if (names === undefined) envelopeSpanNames.set(verb, (names = new SpanNames(`${verb} `)));
  return names.of(env.body.case === "user" ? "message" : envelopeMessageType(env));
}

/** Envelope span names made so far, by verb (a few verbs, a few types each). */
const envelopeSpanNames = new Map<string, SpanNames>();

/** A holder for the envelope field the setter fills; `trace` stays undefined while nothing is injected. */
export interface TraceCarrier {
  /** The envelope's trace context, created on the first value set. */
  trace?: TraceContext;
}

/** Reads traceparent, tracestate and baggage from an envelope's TraceContext. */
export const envelopeTraceGetter: TextMapGetter<TraceContext | undefined> = {
  keys: (carrier) => (carrier === undefined ? [] : (["traceparent", "tracestate", "baggage"] as const).filter((k) => carrier[k] !== "")),
  get: (carrier, key) => {
    if (carrier === undefined) return undefined;
    const value = key === "traceparent" ? carrier.traceparent : key === "tracestate" ? carrier.tracestate : key === "baggage" ? carrier.baggage : "";
    return value === "" ? undefined : value;
  },
};

/** Writes traceparent, tracestate and baggage into a TraceCarrier (other keys are ignored). */
export const envelopeTraceSetter: TextMapSetter<TraceCarrier> = {
  set: (carrier, key, value) => {
    const trace = carrier.trace;
    // A literal rather than create(): this runs for every traced message, and the fields are plain strings.
    if (key === "traceparent") {
      if (trace === undefined) carrier.trace = { $typeName: "agentmesh.v1.TraceContext", traceparent: value, tracestate: "", baggage: "" };
      else trace.traceparent = value;
    } else if (key === "tracestate" || key === "baggage") {
      (carrier.trace ??= { $typeName: "agentmesh.v1.TraceContext", traceparent: "", tracestate: "", baggage: "" })[key] = value;
    }
  },
};

/** Reads W3C headers from gRPC/Connect request metadata (a fetch Headers object). */
export const headersGetter: TextMapGetter<Headers> = {
  keys: (carrier) => [...carrier.keys()],
  get: (carrier, key) => carrier.get(key) ?? undefined,
};

/** Writes W3C headers into gRPC/Connect request metadata (a fetch Headers object). */
export const headersSetter: TextMapSetter<Headers> = {
  set: (carrier, key, value) => carrier.set(key, value),
};

/** The API's context key of the active span (the API makes its keys with Symbol.for, so this is the same key). */
const SPAN_KEY = createContextKey("OpenTelemetry Context Key SPAN");

/** Overlays a chain may stack before it is copied into one of the API's contexts (lookups walk the chain). */
const MAX_OVERLAY_DEPTH = 16;

/**
 * A context that is `parent` with one key set: what trace.setSpan makes, without copying the parent's map
 * and making three closures each time (the API's contexts do), for the contexts every hop makes.
 */
class OverlayContext implements Context {
  constructor(
    private readonly parent: Context,
    private readonly key: symbol,
    private readonly value: unknown,
    readonly depth: number,
  ) {}

  getValue(key: symbol): unknown {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    let c: Context = this;
    while (c instanceof OverlayContext) {
      if (c.key === key) return c.value;
      c = c.parent;
    }
    return c.getValue(key);
  }

  setValue(key: symbol, value: unknown): Context {
    return overlay(this, key, value);
  }

  deleteValue(key: symbol): Context {
    return overlay(this, key, undefined);
  }

  /** This context as one of the API's (no overlays), for a chain grown too deep. */
  flatten(): Context {
    const seen = new Set<symbol>();
    const pairs: [symbol, unknown][] = [];
    let c: Context = this;
    while (c instanceof OverlayContext) {
      if (!seen.has(c.key)) {
        seen.add(c.key);
        pairs.push([c.key, c.value]);
      }
      c = c.parent;
    }
    for (let i = pairs.length - 1; i >= 0; i--) c = pairs[i][1] === undefined ? c.deleteValue(pairs[i][0]) : c.setValue(pairs[i][0], pairs[i][1]);
    return c;
  }
}

function overlay(parent: Context, key: symbol, value: unknown): Context {
  const depth = parent instanceof OverlayContext ? parent.depth + 1 : 1;
  const made = new OverlayContext(parent, key, value, depth);
  return depth > MAX_OVERLAY_DEPTH ? made.flatten() : made;
}

/**
 * `parent` with `span` as its active span: trace.setSpan, cheaper (see OverlayContext). A no-op span with the
 * invalid context (tracing off) can be nobody's parent and carries nothing: `parent` is returned as it is.
 */
export function withSpan(parent: Context, span: Span): Context {
  return span.spanContext() === INVALID_SPAN_CONTEXT ? parent : overlay(parent, SPAN_KEY, span);
}

/** The carrier injectTrace lends the propagator (injecting is synchronous); taken while in use. */
let spareCarrier: TraceCarrier | undefined = {};

/** The trace context of `ctx` (default: the active one) for an envelope; undefined when there is none to carry. */
export function injectTrace(ctx: Context = context.active()): TraceContext | undefined {
  // A propagator that injected again from within its inject would find no spare and get a carrier of its own.
  const carrier = spareCarrier ?? {};
  spareCarrier = undefined;
  carrier.trace = undefined;
  propagation.inject(ctx, carrier, envelopeTraceSetter);
  const trace = carrier.trace;
  carrier.trace = undefined;
  spareCarrier = carrier;
  return trace;
}

/**
 * The trace context to carry for `span`, a child of `parent`: undefined when the span has no valid context
 * (no SDK installed), so the untraced hot path builds nothing. Cheapest while the span records: the ids of a
 * span that does not (one that ended, say) are checked first.
 */
export function spanTrace(parent: Context, span: Span): TraceContext | undefined {
  const sc = span.spanContext();
  // A recording span has a valid context by construction; a no-op one (tracing off) has the invalid one.
  if (sc === INVALID_SPAN_CONTEXT || (!span.isRecording() && !isSpanContextValid(sc))) return undefined;
  return injectTrace(withSpan(parent, span));
}

/** The context carried by an envelope's `trace` field, on top of `base` (default: the root context). */
export function extractTrace(trace: TraceContext | undefined, base: Context = ROOT_CONTEXT): Context {
  if (trace === undefined || trace.traceparent === "") return base;
  return propagation.extract(base, trace, envelopeTraceGetter);
}

/**
 * A link to the span whose W3C context `traceparent` and `tracestate` name, with `attributes`; undefined when
 * they name no valid span context (malformed, or no propagator installed: tracing off).
 */
export function linkTo(traceparent: string, tracestate: string, attributes?: Attributes): Link | undefined {
  const carrier: TraceContext = { $typeName: "agentmesh.v1.TraceContext", traceparent, tracestate, baggage: "" };
  return linkToSpanOf(extractTrace(carrier), attributes);
}

/** A link to the span of `ctx`, with `attributes`; undefined when `ctx` holds no valid span context. */
export function linkToSpanOf(ctx: Context, attributes?: Attributes): Link | undefined {
  const linked = traceApi.getSpanContext(ctx);
  if (linked === undefined || !isSpanContextValid(linked)) return undefined;
  return attributes === undefined ? { context: linked } : { context: linked, attributes };
}

/** The snake_case message type of an envelope body case (taskRequest → task_request). */
export function messageTypeOf(bodyCase: string | undefined): string {
  if (bodyCase === undefined) return "empty";
  let name = snakeNames.get(bodyCase);
  if (name === undefined) {
    name = bodyCase.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
    snakeNames.set(bodyCase, name);
  }
  return name;
}
const snakeNames = new Map<string, string>();

/** Marks `span` failed with the error's message (and records it as an exception event) when it records. */
export function failSpan(span: Span, err: unknown): void {
  if (!span.isRecording()) return;
  const message = err instanceof Error ? err.message : String(err);
  span.setStatus({ code: SpanStatusCode.ERROR, message });
  if (err instanceof Error) span.recordException(err);
}

/** Body cases of membership and gossip traffic, traced only when a node asks for it (steady, voluminous). */
const MEMBERSHIP_CASES: ReadonlySet<string> = new Set(["heartbeat", "probe", "probeRequest", "probeAck", "membershipSync", "gossipDigest", "gossipUpdates", "hello"]);

/** True for membership and gossip traffic (heartbeats, SWIM probes, member syncs, state digests and updates). */
export function isMembershipTraffic(bodyCase: string | undefined): boolean {
  return bodyCase !== undefined && MEMBERSHIP_CASES.has(bodyCase);
}

/** The message type of an envelope for span attributes: a user message's own type, else the body's type. */
export function envelopeMessageType(env: Envelope): string {
  return env.body.case === "user" ? env.body.value.type : messageTypeOf(env.body.case);
}

/** A destination as a span attribute: the agent id, "topic:NAME", "*" (broadcast) or "" (link level). */
export function destinationText(to: Destination | undefined): string {
  switch (to?.target.case) {
    case "agentId":
      return to.target.value;
    case "topic":
      return `topic:${to.target.value}`;
    case "broadcast":
      return "*";
    default:
      return "";
  }
}

/**
 * Sets the attributes of a span of kind `kind` about envelope `env`, recorded by agent `self`: correlation id,
 * message type, the agents and hops. Of the agents, the span names the other side: a sender's span (CLIENT,
 * PRODUCER) leaves out `agentmesh.from` when it is `self`, and a receiver's (SERVER, CONSUMER) `agentmesh.to`,
 * since the span's resource names its own agent (service.name, agentmesh.agent_id).
 */
export function setEnvelopeAttributes(span: Span, env: Envelope, kind: SpanKind, self: string): void {
  const receiving = kind === SpanKind.SERVER || kind === SpanKind.CONSUMER;
  span.setAttribute(ATTR_CORRELATION_ID, env.correlationId);
  span.setAttribute(ATTR_MESSAGE_TYPE, envelopeMessageType(env));
  if (receiving || env.from !== self) span.setAttribute(ATTR_FROM, env.from);
  const to = destinationText(env.to);
  if (!receiving || to !== self) span.setAttribute(ATTR_TO, to);
  span.setAttribute(ATTR_HOPS, env.hops);
}

/** Sets agentmesh.attempt on `span` when `attempt` is a reassignment's (above 1); a first attempt's span leaves it out. */
export function setAttempt(span: Span, attempt: number): void {
  if (attempt > 1) span.setAttribute(ATTR_ATTEMPT, attempt);
}
