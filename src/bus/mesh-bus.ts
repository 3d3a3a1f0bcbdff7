/**
 * The MessageBus across the mesh. Requests travel as envelopes over peer links and replies come back matched
 * by the request's message id (`in_reply_to`); the correlation id stays that of the task across every hop.
 *
 * Delivery: a request is retried with the same message id, with backoff, when its link breaks or refuses
 * it (bounded by maxAttempts and the deadline); the receiver delivers a duplicate id once and answers it
 * from its reply cache (or, while the handler still runs, once it finishes), so a handler never runs twice. Published and broadcast messages are sent once to
 * every known agent (at most once each). A message over its hop limit is refused with FAILED_PRECONDITION.
 *
 * Two levels: the source document's Message API (publish, subscribe, request, send, broadcast, attach) and
 * an envelope API for the mesh's own patterns (call, handle, post), which use typed protobuf bodies.
 *
 * Tracing (OpenTelemetry API only; no-ops without an SDK): a request is a CLIENT span "send TYPE" whose
 * context travels in the envelope's `trace` field; the receiver handles it in a SERVER span "handle TYPE",
 * a child of the sender's (the task runner renames the one of a task it runs "run CAPABILITY"), and its reply
 * carries the handler's context back (the caller's span, which ends with the reply, names the reply's type,
 * and its sender when that is not the agent asked, in attributes). One-way messages are PRODUCER/CONSUMER spans; a publish or broadcast gives each
 * peer's copy its own child span. Retries are events on the request's span. Membership and gossip bodies
 * are not traced unless `traceMembership` is set. Attributes are computed only for recording spans.
 */
import { context, INVALID_SPAN_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type Context, type Span, type Tracer } from "@opentelemetry/api";
import type { Envelope } from "../../gen/agentmesh/v1/envelope_pb.js";
import type { AbortHandle } from "../protocol/abort-handle.js";
import { systemClock, type Clock, type TimerHandle } from "../protocol/clock.js";
import { withDefaults } from "../protocol/config.js";
import { decodeEnvelope, encodeEnvelope } from "../protocol/envelope-codec.js";
import { newEnvelope, replyTo, toAgent, toBroadcast, toTopic, type Body, type BodyCase } from "../protocol/envelope.js";
import { Code, MeshError } from "../protocol/errors.js";
import { silentLogger, type Logger } from "../protocol/logger.js";
import { envelopeToMessage, messageToBody, type Message, type MessageInit } from "../protocol/message.js";
import {
  envelopeMessageType,
  envelopeSpanName,
  extractTrace,
  failSpan,
  injectTrace,
  isMembershipTraffic,
  setEnvelopeAttributes,
  SPAN_OPTIONS,
  spanTrace,
  TRACER_NAME,
  withSpan,
} from "../protocol/trace-context.js";
import { backoffDelayMs } from "../transport/backoff.js";
import type { Link, Transport } from "../transport/transport.js";
import { defaultBusConfig, type BusConfig, type MessageBus, type MessageHandler, type RequestOptions, type Subscription } from "./bus.js";
import { Deadlines, type Deadline } from "./deadlines.js";
import { IdTable } from "./id-table.js";
import { ReplyWindow } from "./reply-window.js";
import { checkHops, HandlerTable, isThenable, replyInit } from "./message-utils.js";

/** Span attributes of the bus beyond the shared ones: the peer of one fan-out copy, and what answered a request. */
const ATTR_TO_PEER = "agentmesh.peer";
const ATTR_REPLY_FROM = "agentmesh.reply.from";
const ATTR_REPLY_TYPE = "agentmesh.reply.message_type";

/** Where agents are: what the bus needs from the registry. */
export interface AgentDirectory {
  /** host:port of agent `agentId`, or undefined when it is not known. */
  addressOf(agentId: string): string | undefined;
  /** Ids of the other agents to reach with publish and broadcast. */
  peerIds(): string[];
}

/** Options of one envelope-level call. */
export interface CallOptions {
  /** Reuse this message id (a retry of an earlier call); default: a new one. */
  messageId?: string;
  /** Correlation id; default: a new one. */
  correlationId?: string;
  /** Hops already taken. Default 0. */
  hops?: number;
  /** Hop limit to travel with the message; default: the bus's hopLimit. */
  hopLimit?: number;
  /** How long to wait for the reply, ms; default: requestTimeoutMs. */
  timeoutMs?: number;
  /** Abort to give up (CANCELLED). */
  signal?: AbortSignal;
  /** The same as `signal`, for the mesh's own callers: a handle, no EventTarget per call. */
  abort?: AbortHandle;
  /** The context whose span the request's span is a child of; default: the active context. */
  parent?: Context;
  /** More attributes for the request's span (e.g. the task id and attempt); set only when it records. */
  attributes?: Attributes;
}

/** Answers a request envelope with a reply body (or throws a MeshError). */
export type EnvelopeHandler = (request: Envelope, link: Link | undefined) => Body | Promise<Body>;

/**
 * A request waiting for its reply. Settled, it lets go of its envelope, promise and span, so that whatever
 * still refers to it for a while (an abort listener, a copy of the pending table being walked) keeps none of
 * the request's objects alive: objects kept a little longer than their request are copied, then promoted, by
 * the young-generation GC (see id-table.ts for the way Maps did that to every request).
 */
class Pending {
  attempts = 0;
  link: Link | undefined = undefined;
  retry: TimerHandle | undefined = undefined;
  deadline: Deadline | undefined = undefined;
  /** Unregisters the caller's abort listener (CallOptions.abort), if any. */
  offAbort: (() => void) | undefined = undefined;
  /** The request; undefined once settled. */
  env: Envelope | undefined;
  /** Its span; undefined once settled. */
  span: Span | undefined;
  /** The caller's promise and how to settle it; undefined once settled. */
  promise: Promise<Envelope> | undefined;
  private resolveFn: ((env: Envelope) => void) | undefined;
  private rejectFn: ((err: MeshError) => void) | undefined;

  constructor(
    env: Envelope,
    span: Span,
    readonly agentId: string,
    readonly timeoutMs: number,
  ) {
    this.env = env;
    this.span = span;
    this.promise = new Promise<Envelope>((resolve, reject) => {
      this.resolveFn = resolve;
      this.rejectFn = reject;
    });
  }

  /** Settles the caller's promise with `reply` or `err` and drops every reference to the request's objects. */
  finish(err: MeshError | undefined, reply: Envelope | undefined): void {
    const resolve = this.resolveFn;
    const reject = this.rejectFn;
    this.env = undefined;
    this.span = undefined;
    this.promise = undefined;
    this.resolveFn = undefined;
    this.rejectFn = undefined;
    this.link = undefined;
    this.deadline = undefined;
    this.retry = undefined;
    if (err !== undefined) reject?.(err);
    else resolve?.(reply as Envelope);
  }
}

/** Options of a MeshMessageBus. */
export interface MeshMessageBusOptions {
  /** The local agent's id. */
  selfId: string;
  /** Peer links. */
  transport: Transport;
  /** Where agents are. */
  directory: AgentDirectory;
  /** Limits and timers. */
  config?: Partial<BusConfig>;
  /** Time source. */
  clock?: Clock;
  /** Where to log. */
  logger?: Logger;
  /** Tracer of the bus's spans; default: the API's global tracer (a no-op without an SDK). */
  tracer?: Tracer;
  /** Trace membership and gossip bodies too (heartbeats, probes, syncs, digests). Default false. */
  traceMembership?: boolean;
}

/** The bus of one node of the mesh. */
export class MeshMessageBus implements MessageBus {
  /** Effective configuration. */
  readonly config: BusConfig;
  private readonly selfId: string;
  private readonly transport: Transport;
  private readonly directory: AgentDirectory;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly tracer: Tracer;
  private readonly traceMembership: boolean;
  private readonly topics = new HandlerTable();
  private readonly inbox = new HandlerTable();
  private readonly handlers = new Map<BodyCase, EnvelopeHandler>();
  /** Requests waiting for replies, by message id (an IdTable: see there why not a Map). */
  private readonly pending = new IdTable<Pending>();
  /** The state listener of each link requests were sent on (see track). */
  private readonly linkListeners = new Map<Link, () => void>();
  /** Message ids seen; a request's entry keeps its reply encoded (ids and replies as bytes: nothing for the GC). */
  private readonly seen: ReplyWindow;
  /** Duplicates of requests whose handler still runs, by message id: they get the reply when it is ready. */
  private readonly answering = new Map<string, { env: Envelope; link: Link | undefined }[]>();
  private readonly deadlines: Deadlines;

  /** Creates the bus; feed it received envelopes with receive(). */
  constructor(options: MeshMessageBusOptions) {
    this.config = withDefaults(defaultBusConfig, options.config);
    this.selfId = options.selfId;
    this.transport = options.transport;
    this.directory = options.directory;
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? silentLogger;
    this.tracer = options.tracer ?? trace.getTracer(TRACER_NAME);
    this.traceMembership = options.traceMembership ?? false;
    this.seen = new ReplyWindow(this.config.dedupeWindow, this.config.dedupeReplyBytes);
    this.deadlines = new Deadlines(this.clock);
  }

  // ---- the source document's API -------------------------------------------------------------

  async publish(topic: string, message: MessageInit): Promise<void> {
    await this.sendToAll(this.envelopeFor(message, toTopic(topic)), "publish");
  }

  subscribe(topic: string, handler: MessageHandler): Subscription {
    return this.topics.add(topic, handler);
  }

  request(agentId: string, message: MessageInit, options: RequestOptions = {}): Promise<Message> {
    let body: Body;
    try {
      body = messageToBody(message.type, message.payload);
    } catch (err) {
      return Promise.reject(err);
    }
    const reply = this.call(agentId, body, {
      messageId: message.id,
      correlationId: message.correlationId,
      hops: message.hops,
      timeoutMs: options.timeoutMs,
      signal: options.signal,
    });
    return reply.then(replyMessage);
  }

  async send(agentId: string, message: MessageInit): Promise<void> {
    const env = this.envelopeFor(message, toAgent(agentId));
    const parent = context.active();
    const span = this.startSpan(env, "send", SpanKind.PRODUCER, parent);
    env.trace = spanTrace(parent, span);
    try {
      if (agentId === this.selfId) await context.with(withSpan(parent, span), () => this.deliverLocally(env));
      else this.linkFor(agentId).send(env);
    } catch (err) {
      failSpan(span, err);
      throw err;
    } finally {
      span.end();
    }
  }

  async broadcast(message: MessageInit): Promise<void> {
    await this.sendToAll(this.envelopeFor(message, toBroadcast()), "broadcast");
  }

  attach(agentId: string, handler: MessageHandler): Subscription {
    if (agentId !== this.selfId) {
      throw new MeshError(Code.InvalidArgument, `agent id: this bus serves agent ${this.selfId}, not ${agentId}`);
    }
    return this.inbox.add(agentId, handler);
  }

  // ---- the envelope API ------------------------------------------------------------------------

  /** Sends a request with a typed body to `agentId` and resolves with the reply envelope. */
  call(agentId: string, body: Body, options: CallOptions = {}): Promise<Envelope> {
    if (options.messageId !== undefined) {
      const existing = this.pending.get(options.messageId);
      if (existing?.promise !== undefined) return existing.promise;
    }
    const timeoutMs = options.timeoutMs ?? this.config.requestTimeoutMs;
    const hopLimit = options.hopLimit ?? this.config.hopLimit;
    const env = newEnvelope({
      body,
      from: this.selfId,
      to: toAgent(agentId),
      messageId: options.messageId,
      correlationId: options.correlationId,
      hops: options.hops,
      hopLimit,
      expectsReply: true,
      deadlineMs: this.clock.now() + timeoutMs,
    });
    const parent = options.parent ?? context.active();
    const span = this.startSpan(env, "send", SpanKind.CLIENT, parent, options.attributes);
    env.trace = spanTrace(parent, span);
    try {
      checkHops(env.hops, hopLimit, `${body.case} to agent ${agentId}`);
    } catch (err) {
      failSpan(span, err);
      span.end();
      return Promise.reject(err);
    }
    const p = new Pending(env, span, agentId, timeoutMs);
    const promise = p.promise as Promise<Envelope>;
    this.pending.set(env.messageId, p);
    p.deadline = this.deadlines.add(this.clock.now() + timeoutMs, this.expire, p);
    const handle = options.abort;
    if (handle !== undefined) {
      const onAbort = () =>
        this.settle(p, handle.reason instanceof MeshError ? handle.reason : new MeshError(Code.Canceled, `request to agent ${agentId} cancelled`));
      p.offAbort = handle.onAbort(onAbort);
    }
    if (options.signal !== undefined) {
      const signal = options.signal;
      // A MeshError as the abort reason is the request's outcome (e.g. UNAVAILABLE: the agent was declared dead).
      const onAbort = () =>
        this.settle(p, signal.reason instanceof MeshError ? signal.reason : new MeshError(Code.Canceled, `request to agent ${agentId} cancelled`));
      if (signal.aborted) onAbort();
      else {
        signal.addEventListener("abort", onAbort, { once: true });
        void promise.catch(() => {}).finally(() => signal.removeEventListener("abort", onAbort));
      }
    }
    this.attempt(p);
    return promise;
  }

  /** Answers requests whose body is `bodyCase` with `handler`; returns the function that removes it. */
  handle(bodyCase: BodyCase, handler: EnvelopeHandler): () => void {
    this.handlers.set(bodyCase, handler);
    return () => {
      if (this.handlers.get(bodyCase) === handler) this.handlers.delete(bodyCase);
    };
  }

  /**
   * Offers a request envelope to the handlers attached with `attach` (the Message API) and resolves with
   * the reply body of the first that returns a value; undefined when there are none or none answered. For
   * envelope handlers that let the agent's own message handlers answer what they cannot.
   */
  async answerAttached(request: Envelope): Promise<Body | undefined> {
    const m = envelopeToMessage(request);
    if (m === undefined || !this.inbox.has(this.selfId)) return undefined;
    const value = await this.inbox.answer(this.selfId, m);
    if (value === undefined) return undefined;
    const init = replyInit(m, value);
    return messageToBody(init.type, init.payload);
  }

  /** Sends a one-way envelope with a typed body to `agentId`. */
  post(agentId: string, body: Body, options: Omit<CallOptions, "timeoutMs" | "signal" | "messageId"> = {}): void {
    const { parent = context.active(), attributes, ...init } = options;
    const env = newEnvelope({ body, from: this.selfId, to: toAgent(agentId), ...init, hopLimit: options.hopLimit ?? this.config.hopLimit });
    const span = this.startSpan(env, "send", SpanKind.PRODUCER, parent, attributes);
    env.trace = spanTrace(parent, span);
    try {
      if (agentId === this.selfId) queueMicrotask(() => this.receive(env, undefined));
      else this.linkFor(agentId).send(env);
    } catch (err) {
      failSpan(span, err);
      throw err;
    } finally {
      span.end();
    }
  }

  /** Requests waiting for replies. */
  get pendingCount(): number {
    return this.pending.size;
  }

  /** Fails every pending request with UNAVAILABLE (the node is stopping). */
  close(): void {
    for (const p of this.pending.values()) this.settle(p, new MeshError(Code.Unavailable, `agent ${this.selfId} is stopping`));
  }

  // ---- receiving -------------------------------------------------------------------------------

  /** Entry point for every envelope the transport delivers to the bus. Never throws. */
  receive(env: Envelope, link: Link | undefined): void {
    try {
      this.receiveUnsafe(env, link);
    } catch (err) {
      this.logger.error({ err, messageId: env.messageId, correlation_id: env.correlationId }, "dropping envelope");
    }
  }

  private receiveUnsafe(env: Envelope, link: Link | undefined): void {
    if (env.inReplyTo !== "") {
      const p = this.pending.get(env.inReplyTo);
      if (p === undefined) return; // late or duplicate reply
      if (env.body.case === "failure") this.settle(p, MeshError.fromFailure(env.body.value));
      else this.settle(p, undefined, env);
      return;
    }
    const seen = this.seen.check(env.messageId);
    if (seen !== undefined) {
      if (!env.expectsReply) return;
      if (seen.reply !== undefined) this.sendReply(env, decodeEnvelope(seen.reply), link, seen.reply);
      else this.answering.get(env.messageId)?.push({ env, link }); // answered when the handler finishes
      return;
    }
    const limit = env.hopLimit > 0 ? env.hopLimit : this.config.hopLimit;
    if (env.hops > limit) {
      this.fail(env, link, new MeshError(Code.FailedPrecondition, `hop limit ${limit} exceeded by message ${env.messageId} (${env.hops} hops): forwarding chain stopped`));
      return;
    }
    const target = env.to?.target;
    if (target?.case === "agentId" && target.value !== this.selfId) {
      this.fail(env, link, new MeshError(Code.NotFound, `agent ${target.value} is not at ${this.transport.address} (reached agent ${this.selfId})`));
      return;
    }
    if (env.expectsReply) {
      this.answer(env, link);
      return;
    }
    void this.deliverReceived(env);
  }

  /**
   * Runs the handler of request `env` in a SERVER span and sends its reply. A handler that answers
   * synchronously is answered in the same call (no promise, no microtask); a promise is waited for, and
   * duplicates of the request arriving meanwhile get the reply when it is ready.
   */
  private answer(env: Envelope, link: Link | undefined): void {
    const parent = extractTrace(env.trace);
    const span = this.startSpan(env, "handle", SpanKind.SERVER, parent);
    let body: Body | PromiseLike<Body>;
    try {
      body = context.with(withSpan(parent, span), () => this.runHandler(env, link));
    } catch (err) {
      body = failureBody(err);
    }
    if (!isThenable(body)) {
      this.replied(env, link, parent, span, body, false);
      return;
    }
    this.answering.set(env.messageId, []);
    body.then(
      (b) => this.replied(env, link, parent, span, b, true),
      (err: unknown) => this.replied(env, link, parent, span, failureBody(err), true),
    );
  }

  /** The reply body of request `env` from its envelope handler, or from the attached message handlers. */
  private runHandler(env: Envelope, link: Link | undefined): Body | PromiseLike<Body> {
    const handler = this.handlers.get(env.body.case as BodyCase);
    return handler !== undefined ? handler(env, link) : this.answerMessage(env);
  }

  /** Ends the handling span of request `env`, sends `body` as the reply and keeps it for duplicates. */
  private replied(env: Envelope, link: Link | undefined, parent: Context, span: Span, body: Body, waited: boolean): void {
    if (span.isRecording()) {
      const failure = body.case === "failure" ? body.value : body.case === "taskResult" && body.value.outcome.case === "failure" ? body.value.outcome.value : undefined;
      if (failure !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: failure.message });
    }
    // The result's way back continues from the handling span: its context is taken while it still records
    // (a span that ended is, to the API, one whose ids must be checked again).
    const trace = spanTrace(parent, span);
    span.end();
    const reply = replyTo(env, this.selfId, body);
    reply.trace = trace;
    let encoded: Uint8Array | undefined;
    try {
      encoded = encodeEnvelope(reply);
      this.seen.setReply(env.messageId, encoded);
    } catch {
      // not encodable: sending it fails the same way, and says so
    }
    this.sendReply(env, reply, link, encoded);
    if (!waited) return;
    for (const duplicate of this.answering.get(env.messageId) ?? []) this.sendReply(duplicate.env, reply, duplicate.link, encoded);
    this.answering.delete(env.messageId);
  }

  private answerMessage(env: Envelope): Body | Promise<Body> {
    const m = envelopeToMessage(env);
    if (m === undefined || !this.inbox.has(this.selfId)) {
      throw new MeshError(Code.Unimplemented, `agent ${this.selfId} does not answer ${env.body.case ?? "empty"} requests`);
    }
    const value = this.inbox.answerNow(this.selfId, m);
    return isThenable(value) ? Promise.resolve(value).then((v) => replyBody(m, v)) : replyBody(m, value);
  }

  private fail(env: Envelope, link: Link | undefined, err: MeshError): void {
    const span = this.startSpan(env, env.expectsReply ? "handle" : "receive", env.expectsReply ? SpanKind.SERVER : SpanKind.CONSUMER, extractTrace(env.trace));
    failSpan(span, err);
    span.end();
    if (!env.expectsReply) {
      this.logger.warn({ messageId: env.messageId, correlation_id: env.correlationId, err: err.message }, "refused message");
      return;
    }
    this.sendReply(env, replyTo(env, this.selfId, { case: "failure", value: err.toFailure() }), link);
  }

  /** Sends `reply` (whose encoding is `encoded`, when known) to the requester of `request`: on `link` while usable, else on a link to it. */
  private sendReply(request: Envelope, reply: Envelope, link: Link | undefined, encoded?: Uint8Array): void {
    if (request.from === this.selfId) {
      queueMicrotask(() => this.receive(reply, undefined));
      return;
    }
    try {
      if (link !== undefined && link.usable) {
        link.send(reply, encoded);
        return;
      }
    } catch {
      // fall through to a fresh link
    }
    const address = this.directory.addressOf(request.from) ?? link?.remoteAddress;
    if (address === undefined) {
      this.logger.warn({ to: request.from, correlation_id: request.correlationId }, "cannot reply: requester unknown");
      return;
    }
    try {
      this.transport.linkTo(request.from, address).send(reply, encoded);
    } catch (err) {
      this.logger.warn({ to: request.from, correlation_id: request.correlationId, err: MeshError.from(err).message }, "reply not sent");
    }
  }

  /** Delivers a one-way message from a peer inside a CONSUMER span, a child of the sender's. */
  private async deliverReceived(env: Envelope): Promise<void> {
    const parent = extractTrace(env.trace);
    const span = this.startSpan(env, "receive", SpanKind.CONSUMER, parent);
    try {
      await context.with(withSpan(parent, span), () => this.deliverLocally(env, span));
    } finally {
      span.end();
    }
  }

  private async deliverLocally(env: Envelope, span?: Span): Promise<void> {
    const m = envelopeToMessage(env);
    if (m === undefined) return;
    const target = env.to?.target;
    const key = target?.case === "topic" ? target.value : this.selfId;
    const table = target?.case === "topic" ? this.topics : this.inbox;
    const errors = await table.deliver(key, m);
    for (const err of errors) this.logger.warn({ err, messageId: m.id, correlation_id: m.correlationId, type: m.type }, "message handler threw");
    if (errors.length > 0 && span !== undefined) failSpan(span, errors[0]);
  }

  // ---- sending ---------------------------------------------------------------------------------

  private envelopeFor(message: MessageInit, to: Envelope["to"]): Envelope {
    const env = newEnvelope({
      body: messageToBody(message.type, message.payload),
      from: this.selfId,
      to,
      messageId: message.id,
      correlationId: message.correlationId,
      hops: message.hops,
      hopLimit: this.config.hopLimit,
      timestampMs: message.timestamp?.getTime(),
    });
    checkHops(env.hops, this.config.hopLimit, `message ${env.messageId}`);
    this.seen.check(env.messageId); // our own copy coming back is a duplicate
    return env;
  }

  /** Publishes or broadcasts `env`: a PRODUCER span, each peer's copy in a child span, then local delivery. */
  private async sendToAll(env: Envelope, what: "publish" | "broadcast"): Promise<void> {
    const parent = context.active();
    const span = this.startSpan(env, what, SpanKind.PRODUCER, parent);
    const ctx = withSpan(parent, span);
    try {
      this.fanOut(env, ctx, span.isRecording());
      await context.with(ctx, () => this.deliverLocally(env));
    } catch (err) {
      failSpan(span, err);
      throw err;
    } finally {
      span.end();
    }
  }

  /** Sends `env` to every peer; with `spanEach`, each copy carries its own child span of `ctx`. */
  private fanOut(env: Envelope, ctx: Context, spanEach: boolean): void {
    if (!spanEach) env.trace = injectTrace(ctx);
    for (const id of this.directory.peerIds()) {
      if (id === this.selfId) continue;
      let out = env;
      let span: Span | undefined;
      if (spanEach) {
        span = this.tracer.startSpan(envelopeSpanName("send", env), SPAN_OPTIONS[SpanKind.PRODUCER], ctx);
        out = { ...env, trace: spanTrace(ctx, span) };
        if (span.isRecording()) {
          setEnvelopeAttributes(span, env, SpanKind.PRODUCER, this.selfId);
          span.setAttribute(ATTR_TO_PEER, id);
        }
      }
      try {
        this.linkFor(id).send(out);
      } catch (err) {
        if (span !== undefined) failSpan(span, err);
        this.logger.warn({ to: id, messageId: env.messageId, correlation_id: env.correlationId, err: MeshError.from(err).message }, "fan-out send failed");
      } finally {
        span?.end();
      }
    }
  }

  /**
   * A span about `env` named "VERB TYPE", a child of `parent`, with the envelope's attributes (and `extra`)
   * when it records. Membership and gossip bodies get a non-recording span unless traceMembership is set.
   */
  private startSpan(env: Envelope, verb: string, kind: SpanKind, parent: Context, extra?: Attributes): Span {
    if (!this.traceMembership && isMembershipTraffic(env.body.case)) return trace.wrapSpanContext(INVALID_SPAN_CONTEXT);
    const span = this.tracer.startSpan(envelopeSpanName(verb, env), SPAN_OPTIONS[kind], parent);
    if (span.isRecording()) {
      setEnvelopeAttributes(span, env, kind, this.selfId);
      if (extra !== undefined) span.setAttributes(extra);
    }
    return span;
  }

  private linkFor(agentId: string): Link {
    const address = this.directory.addressOf(agentId);
    if (address === undefined) throw new MeshError(Code.NotFound, `agent ${agentId} is not known to agent ${this.selfId}`);
    return this.transport.linkTo(agentId, address);
  }

  private attempt(p: Pending): void {
    const env = p.env;
    if (env === undefined) return; // settled
    p.attempts++;
    p.retry = undefined;
    if (p.agentId === this.selfId) {
      queueMicrotask(() => this.receive(env, undefined));
      return;
    }
    let link: Link;
    try {
      link = this.linkFor(p.agentId);
    } catch (err) {
      const e = MeshError.from(err);
      // Reached before, unknown now: the agent left or died in between — worth trying elsewhere.
      this.settle(p, p.attempts > 1 && e.code === Code.NotFound ? new MeshError(Code.Unavailable, `agent ${p.agentId} left the mesh or was declared dead: ${e.message}`) : e);
      return;
    }
    try {
      link.send(env);
    } catch (err) {
      this.retryLater(p, MeshError.from(err, Code.Unavailable));
      return;
    }
    this.track(p, link);
  }

  /**
   * Remembers that `p` waits on `link`, so that the link breaking retries it. Each link gets one state
   * listener, kept until the link closes; when it breaks, the pending requests waiting on it are found by a
   * scan of the pending table (links break rarely; a set per link would be written twice per request).
   */
  private track(p: Pending, link: Link): void {
    p.link = link;
    if (this.linkListeners.has(link)) return;
    const off = link.onState((state) => {
      if (state.t !== "backoff" && state.t !== "closed") return;
      const err =
        state.t === "backoff" ? state.error : new MeshError(Code.Unavailable, `link to agent ${link.peer?.id ?? link.remoteAddress} closed: ${state.reason}`);
      if (state.t === "closed") {
        off();
        this.linkListeners.delete(link);
      }
      for (const q of this.pending.values()) if (q.link === link) this.retryLater(q, err);
    });
    this.linkListeners.set(link, off);
  }

  private untrack(p: Pending): void {
    p.link = undefined;
  }

  private retryLater(p: Pending, err: MeshError): void {
    this.untrack(p);
    const env = p.env;
    if (env === undefined || p.retry !== undefined) return; // settled, or a retry is already scheduled
    if (!err.retryable || p.attempts >= this.config.maxAttempts) {
      this.settle(
        p,
        err.retryable ? new MeshError(Code.Unavailable, `agent ${p.agentId} unreachable after ${p.attempts} attempts: ${err.message}`, { cause: err }) : err,
      );
      return;
    }
    const delay = backoffDelayMs(p.attempts, { initialMs: this.config.retryInitialMs, maxMs: this.config.retryMaxMs, multiplier: 2, jitter: 0.2 });
    this.logger.debug({ to: p.agentId, messageId: env.messageId, correlation_id: env.correlationId, delay, err: err.message }, "retrying request");
    if (p.span?.isRecording() === true) p.span.addEvent("retry", { "agentmesh.send_attempt": p.attempts + 1, "agentmesh.delay_ms": delay, "exception.message": err.message });
    p.retry = this.clock.setTimeout(() => this.attempt(p), delay);
  }

  /** A request's deadline passed without a reply. */
  private readonly expire = (p: Pending): void => {
    this.settle(p, new MeshError(Code.DeadlineExceeded, `no reply from agent ${p.agentId} within ${p.timeoutMs} ms (${p.env?.body.case})`));
  };

  private settle(p: Pending, err: MeshError | undefined, reply?: Envelope): void {
    const env = p.env;
    if (env === undefined) return; // settled already (a request is in the pending table until it settles)
    this.pending.delete(env.messageId);
    p.deadline?.cancel();
    p.retry?.cancel();
    if (p.offAbort !== undefined) p.offAbort();
    p.offAbort = undefined;
    this.untrack(p);
    if (p.span !== undefined) this.endSpan(p.span, p.agentId, err, reply);
    p.finish(err, reply);
  }

  /**
   * Ends the span of a request to agent `to`: its error, or the reply's type (and its sender, when not `to`) as
   * attributes — the span ends as the reply arrives, so an event would add only the same time. The span that
   * answered is the child of this one, in the trace.
   */
  private endSpan(span: Span, to: string, err: MeshError | undefined, reply: Envelope | undefined): void {
    if (span.isRecording()) {
      if (err !== undefined) failSpan(span, err);
      else if (reply !== undefined) {
        if (reply.from !== to) span.setAttribute(ATTR_REPLY_FROM, reply.from);
        span.setAttribute(ATTR_REPLY_TYPE, envelopeMessageType(reply));
        if (reply.body.case === "taskResult" && reply.body.value.outcome.case === "failure") {
          span.setStatus({ code: SpanStatusCode.ERROR, message: reply.body.value.outcome.value.message });
        }
      }
    }
    span.end();
  }
}

/** The Message a reply envelope carries (a failed task's result rejects with its error). */
function replyMessage(reply: Envelope): Message {
  if (reply.body.case === "taskResult" && reply.body.value.outcome.case === "failure") {
    throw MeshError.fromFailure(reply.body.value.outcome.value);
  }
  const m = envelopeToMessage(reply);
  if (m === undefined) throw new MeshError(Code.Internal, `agent ${reply.from} answered with ${reply.body.case}, not a message`);
  return m;
}

/** The reply body for what a message handler returned to request `m`. */
function replyBody(m: Message, value: unknown): Body {
  const init = replyInit(m, value);
  return messageToBody(init.type, init.payload);
}

/** A failure body for what a handler threw. */
function failureBody(err: unknown): Body {
  return { case: "failure", value: MeshError.from(err, Code.Unknown).toFailure() };
}
