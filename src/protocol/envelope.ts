/** Envelope builders and helpers over the generated types. */
import { create } from "@bufbuild/protobuf";
import {
  DestinationSchema,
  type Destination,
  type Envelope,
  type TraceContext,
} from "../../gen/agentmesh/v1/envelope_pb.js";
import { newId } from "./ids.js";

/** The body of an envelope: one case of the `body` oneof. */
export type Body = Exclude<Envelope["body"], { case: undefined }>;
/** The name of a body case, e.g. "taskRequest". */
export type BodyCase = Body["case"];
/** The value type of a body case. */
export type BodyOf<C extends BodyCase> = Extract<Body, { case: C }>["value"];

/** Fields of a new envelope; everything but the body has a default. */
export interface EnvelopeInit {
  /** The message itself. */
  body: Body;
  /** Sending agent. */
  from: string;
  /** Destination; default: none (a link-level message such as Hello). */
  to?: Destination;
  /** Default: a new id. */
  messageId?: string;
  /** Default: a new id. */
  correlationId?: string;
  /** Default: 0. */
  hops?: number;
  /** Default: 0 (the receiver's default applies). */
  hopLimit?: number;
  /** Absolute deadline, Unix ms; default 0 (none). */
  deadlineMs?: number;
  /** The request this answers. */
  inReplyTo?: string;
  /** True when a reply is awaited. */
  expectsReply?: boolean;
  /** Trace context. */
  trace?: TraceContext;
  /** Default: now. */
  timestampMs?: number;
}

/**
 * Builds an envelope: the object create(EnvelopeSchema, init) makes, built directly (create() walks the
 * schema by reflection; this runs for every message). `to` and `trace` are undefined when not given (unset,
 * as there); they are always present, so that every envelope (decoded ones too) has the same shape.
 */
export function newEnvelope(init: EnvelopeInit): Envelope {
  return {
    $typeName: "agentmesh.v1.Envelope",
    messageId: init.messageId ?? newId(),
    correlationId: init.correlationId ?? newId(),
    from: init.from,
    to: init.to,
    timestampMs: bigintOf(init.timestampMs ?? Date.now()),
    hops: init.hops ?? 0,
    hopLimit: init.hopLimit ?? 0,
    trace: init.trace,
    inReplyTo: init.inReplyTo ?? "",
    deadlineMs: init.deadlineMs === undefined || init.deadlineMs === 0 ? 0n : bigintOf(init.deadlineMs),
    expectsReply: init.expectsReply ?? false,
    body: init.body,
  } as Envelope;
}

/**
 * BigInt(ms), reusing the last two made: an envelope's timestamp and deadline (Unix milliseconds) repeat from
 * message to message within a millisecond, and a bigint is a heap allocation (an immutable one: sharing is safe).
 */
function bigintOf(ms: number): bigint {
  if (ms === lastMs[0]) return lastBig[0];
  if (ms === lastMs[1]) return lastBig[1];
  const big = BigInt(ms);
  lastMs[1] = lastMs[0];
  lastBig[1] = lastBig[0];
  lastMs[0] = ms;
  lastBig[0] = big;
  return big;
}
const lastMs = [Number.NaN, Number.NaN];
const lastBig = [0n, 0n];

/** A reply to `request` carrying `body`: same correlation id and hops, addressed to the requester. */
export function replyTo(request: Envelope, from: string, body: Body): Envelope {
  return newEnvelope({
    body,
    from,
    to: toAgent(request.from),
    correlationId: request.correlationId,
    inReplyTo: request.messageId,
    hops: request.hops,
    trace: request.trace,
  });
}

/** A destination naming one agent. */
export function toAgent(agentId: string): Destination {
  return { $typeName: "agentmesh.v1.Destination", target: { case: "agentId", value: agentId } } as Destination;
}

/** A destination naming every agent. */
export function toBroadcast(): Destination {
  return create(DestinationSchema, { target: { case: "broadcast", value: true } });
}

/** A destination naming a topic. */
export function toTopic(topic: string): Destination {
  return create(DestinationSchema, { target: { case: "topic", value: topic } });
}

/** A short description of a destination for logs and errors. */
export function describeDestination(to: Destination | undefined): string {
  switch (to?.target.case) {
    case "agentId":
      return `agent ${to.target.value}`;
    case "broadcast":
      return "broadcast";
    case "topic":
      return `topic ${to.target.value}`;
    default:
      return "link";
  }
}
