/**
 * The source document's `Message`, and its mapping to envelopes. The six message types the source names
 * (and the replies they need) travel as typed protobuf bodies; any other type travels as a UserMessage with
 * a JSON payload. The payload shapes of typed messages are documented on `MessagePayloads`.
 */
import { create } from "@bufbuild/protobuf";
import {
  CapabilityAnswerSchema,
  CapabilityQuerySchema,
  CollaborationInviteSchema,
  CollaborationReplySchema,
} from "../../gen/agentmesh/v1/collaboration_pb.js";
import { VoteRequestSchema, VoteSchema } from "../../gen/agentmesh/v1/consensus_pb.js";
import type { Envelope, UserMessage } from "../../gen/agentmesh/v1/envelope_pb.js";
import { HeartbeatSchema } from "../../gen/agentmesh/v1/membership_pb.js";
import { TaskRequestSchema, TaskResultSchema } from "../../gen/agentmesh/v1/task_pb.js";
import type { Body } from "./envelope.js";
import { Code, MeshError } from "./errors.js";
import { newId } from "./ids.js";
import { fromPayload, toPayload } from "./payload.js";

/** Message types of the source document; any other string is an application-defined type. */
export type MessageType =
  | "task_request"
  | "task_result"
  | "collaboration_invite"
  | "collaboration_reply"
  | "capability_query"
  | "capability_answer"
  | "heartbeat"
  | "consensus_vote"
  | (string & {});

/** Payload shapes of the typed message types (others carry any JSON value). */
export interface MessagePayloads {
  /** A task: the capability it needs and its input. */
  task_request: { capability: string; input?: unknown; taskId?: string };
  /** A task's output value (a failed task rejects the request instead). */
  task_result: unknown;
  /** An invitation to a team. */
  collaboration_invite: { teamId?: string; goal?: string; role?: string; capabilities?: string[]; context?: unknown };
  /** The answer to an invitation. */
  collaboration_reply: { teamId?: string; accepted: boolean; reason?: string };
  /** Who can do this capability? */
  capability_query: { capability: string };
  /** Whether the answering agent can. */
  capability_answer: { capability: string; canHandle: boolean };
  /** Liveness and load. */
  heartbeat: { agentId?: string; load?: number; capacity?: number; seq?: number };
  /** A vote request ({question, options}) or a vote ({choice, weight, rationale}). */
  consensus_vote: { question?: string; options?: string[]; choice?: string; weight?: number; rationale?: string };
}

/** A message as the source document defines it; every delivered message has every field. */
export interface Message<P = unknown> {
  /** Unique id (the idempotency key). */
  id: string;
  /** The message type. */
  type: MessageType;
  /** The sending agent. */
  from: string;
  /** The receiving agent, "broadcast", or the topic it was published to. */
  to: string | "broadcast";
  /** The body; see MessagePayloads for the typed types. */
  payload: P;
  /** When it was sent. */
  timestamp: Date;
  /** The task or conversation it belongs to. */
  correlationId: string;
  /** The topic, for published messages. */
  topic?: string;
  /** Hops taken. */
  hops: number;
}

/** A message to send: type and payload are required, the bus fills in the rest. */
export type MessageInit<P = unknown> = Pick<Message<P>, "type" | "payload"> & Partial<Omit<Message<P>, "type" | "payload">>;

/** Encodes a message's type and payload as an envelope body. */
export function messageToBody(type: MessageType, payload: unknown): Body {
  const p = (payload ?? {}) as Record<string, unknown>;
  switch (type) {
    case "task_request": {
      const capability = stringField(p, "capability", type);
      return {
        case: "taskRequest",
        value: create(TaskRequestSchema, {
          taskId: typeof p.taskId === "string" ? p.taskId : newId(),
          capability,
          input: toPayload(p.input),
        }),
      };
    }
    case "task_result":
      return { case: "taskResult", value: create(TaskResultSchema, { outcome: { case: "output", value: toPayload(payload) } }) };
    case "collaboration_invite":
      return {
        case: "collaborationInvite",
        value: create(CollaborationInviteSchema, {
          teamId: optString(p.teamId) ?? newId(),
          goal: optString(p.goal) ?? "",
          role: optString(p.role) ?? "",
          capabilities: Array.isArray(p.capabilities) ? p.capabilities.map(String) : [],
          context: toPayload(p.context),
        }),
      };
    case "collaboration_reply":
      return {
        case: "collaborationReply",
        value: create(CollaborationReplySchema, { teamId: optString(p.teamId) ?? "", accepted: p.accepted === true, reason: optString(p.reason) ?? "" }),
      };
    case "capability_query":
      return { case: "capabilityQuery", value: create(CapabilityQuerySchema, { capability: stringField(p, "capability", type) }) };
    case "capability_answer":
      return {
        case: "capabilityAnswer",
        value: create(CapabilityAnswerSchema, { capability: optString(p.capability) ?? "", canHandle: p.canHandle === true }),
      };
    case "heartbeat":
      return {
        case: "heartbeat",
        value: create(HeartbeatSchema, {
          agentId: optString(p.agentId) ?? "",
          load: optUint(p, "load", type, 0xffff_ffff),
          capacity: optUint(p, "capacity", type, 0xffff_ffff),
          seq: BigInt(optUint(p, "seq", type, Number.MAX_SAFE_INTEGER)),
        }),
      };
    case "consensus_vote":
      if (typeof p.choice === "string") {
        return {
          case: "vote",
          value: create(VoteSchema, { choice: p.choice, weight: typeof p.weight === "number" ? p.weight : 1, rationale: optString(p.rationale) ?? "" }),
        };
      }
      return {
        case: "voteRequest",
        value: create(VoteRequestSchema, {
          question: stringField(p, "question", type),
          options: Array.isArray(p.options) ? p.options.map(String) : [],
        }),
      };
    default:
      if (type.length === 0) throw new MeshError(Code.InvalidArgument, "message.type: must not be empty");
      // Built directly, as create() would (the most frequent body; create() uses reflection).
      return { case: "user", value: { $typeName: "agentmesh.v1.UserMessage", type, payload: toPayload(payload) } as UserMessage };
  }
}

/** Decodes an envelope into a Message; undefined for bodies that are not messages (link and gossip traffic). */
export function envelopeToMessage(env: Envelope): Message | undefined {
  const typed = bodyToTypeAndPayload(env.body);
  if (typed === undefined) return undefined;
  const to = env.to?.target;
  return {
    id: env.messageId,
    type: typed.type,
    from: env.from,
    to: to?.case === "agentId" ? to.value : to?.case === "topic" ? to.value : "broadcast",
    topic: to?.case === "topic" ? to.value : undefined,
    payload: typed.payload,
    timestamp: new Date(Number(env.timestampMs)),
    correlationId: env.correlationId,
    hops: env.hops,
  };
}

function bodyToTypeAndPayload(body: Envelope["body"]): { type: MessageType; payload: unknown } | undefined {
  switch (body.case) {
    case "taskRequest":
      return { type: "task_request", payload: { taskId: body.value.taskId, capability: body.value.capability, input: fromPayload(body.value.input, "input") } };
    case "taskResult": {
      const outcome = body.value.outcome;
      if (outcome.case === "failure") return { type: "task_result", payload: { error: { code: outcome.value.code, message: outcome.value.message } } };
      return { type: "task_result", payload: fromPayload(outcome.value, "output") };
    }
    case "collaborationInvite":
      return {
        type: "collaboration_invite",
        payload: {
          teamId: body.value.teamId,
          goal: body.value.goal,
          role: body.value.role,
          capabilities: body.value.capabilities,
          context: fromPayload(body.value.context, "context"),
        },
      };
    case "collaborationReply":
      return { type: "collaboration_reply", payload: { teamId: body.value.teamId, accepted: body.value.accepted, reason: body.value.reason } };
    case "capabilityQuery":
      return { type: "capability_query", payload: { capability: body.value.capability } };
    case "capabilityAnswer":
      return { type: "capability_answer", payload: { capability: body.value.capability, canHandle: body.value.canHandle } };
    case "heartbeat":
      return {
        type: "heartbeat",
        payload: { agentId: body.value.agentId, load: body.value.load, capacity: body.value.capacity, seq: Number(body.value.seq) },
      };
    case "voteRequest":
      return { type: "consensus_vote", payload: { question: body.value.question, options: body.value.options } };
    case "vote":
      return { type: "consensus_vote", payload: { choice: body.value.choice, weight: body.value.weight, rationale: body.value.rationale } };
    case "user":
      return { type: body.value.type, payload: fromPayload(body.value.payload, "payload") };
    case "ack":
      return { type: "ack", payload: null };
    default:
      return undefined;
  }
}

function stringField(p: Record<string, unknown>, field: string, type: string): string {
  const v = p[field];
  if (typeof v !== "string" || v.length === 0) {
    throw new MeshError(Code.InvalidArgument, `${type}.payload.${field}: must be a non-empty string`);
  }
  return v;
}

function optString(v: unknown): string | undefined {
  return typeof v === "string" ? v : undefined;
}

/** An optional unsigned integer field (0 when absent); a value that does not fit the wire field is refused, naming it. */
function optUint(p: Record<string, unknown>, field: string, type: string, max: number): number {
  const v = p[field];
  if (v === undefined || v === null) return 0;
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > max) {
    throw new MeshError(Code.InvalidArgument, `${type}.payload.${field}: must be an integer from 0 to ${max}`);
  }
  return v;
}
