/**
 * A hand-written binary codec for Envelope, several times faster than protobuf-es's reflection-driven one and
 * byte-compatible with it: encodeEnvelope writes exactly the bytes toBinary(EnvelopeSchema, env) writes, and
 * decodeEnvelope returns what fromBinary(EnvelopeSchema, bytes) returns (test/unit/envelope-codec.test.ts checks
 * both over every body case).
 *
 * The envelope's own fields and the bodies of the request/response hot path (user messages, tasks and their
 * results, acks, failures) are coded here; the other bodies (membership, gossip, patterns) are coded by
 * protobuf-es inside the hand-written envelope. Input the fast path does not expect — unknown fields (from a
 * newer peer), a nested message sent twice (which protobuf merges), malformed data — is decoded by protobuf-es
 * instead, so its rules apply unchanged; what it cannot decode either fails with INVALID_ARGUMENT.
 */
import { fromBinary, toBinary, type DescMessage, type Message } from "@bufbuild/protobuf";
import { EnvelopeSchema, type Destination, type Envelope, type TraceContext, type UserMessage } from "../../gen/agentmesh/v1/envelope_pb.js";
import type { Failure, Payload } from "../../gen/agentmesh/v1/payload_pb.js";
import type { TaskRequest, TaskResult } from "../../gen/agentmesh/v1/task_pb.js";
import { Code, MeshError } from "./errors.js";
import { NotFastPath, ProtoReader } from "./proto-reader.js";
import { ProtoWriter, tagOf, WireType } from "./proto-writer.js";

type Body = Envelope["body"];
type BodyCase = NonNullable<Body["case"]>;

/** A body case coded by protobuf-es: its field number and message type. */
interface BodyField {
  readonly case: BodyCase;
  readonly tag: number;
  readonly schema: DescMessage;
}

/** Every body case of the `body` oneof, from the generated descriptor (so new cases are covered once generated). */
const BODY_FIELDS: readonly BodyField[] = EnvelopeSchema.fields
  .filter((f) => f.oneof?.localName === "body" && f.fieldKind === "message")
  .map((f) => ({ case: f.localName as BodyCase, tag: tagOf(f.number, WireType.LengthDelimited), schema: (f as { message: DescMessage }).message }));
const BODY_BY_CASE = new Map(BODY_FIELDS.map((b) => [b.case, b]));
const BODY_BY_TAG = new Map(BODY_FIELDS.map((b) => [b.tag, b]));

/** Tags of the hand-coded bodies. */
const TAG_TASK_REQUEST = tagOf(16, WireType.LengthDelimited);
const TAG_TASK_RESULT = tagOf(17, WireType.LengthDelimited);
const TAG_USER = tagOf(32, WireType.LengthDelimited);
const TAG_ACK = tagOf(33, WireType.LengthDelimited);
const TAG_FAILURE = tagOf(34, WireType.LengthDelimited);

const writer = new ProtoWriter();
const reader = new ProtoReader(Buffer.alloc(0), 0, 0);

// ---- encoding -----------------------------------------------------------------------------------

/**
 * The binary encoding of `env` (what toBinary(EnvelopeSchema, env) returns), as a view of the writer's current
 * slab (see proto-writer.ts: never written again, so the view stays valid; it keeps the slab alive, so copy
 * it to keep it long). Throws INVALID_ARGUMENT naming a bad field.
 */
export function encodeEnvelope(env: Envelope): Uint8Array {
  const w = writer;
  w.reset();
  try {
    writeEnvelope(w, env);
  } catch (err) {
    w.reset();
    if (err instanceof MeshError) throw err;
    throw new MeshError(Code.InvalidArgument, `${w.field || "envelope"}: cannot encode: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  return w.finish();
}

function writeEnvelope(w: ProtoWriter, e: Envelope): void {
  w.field = "envelope.message_id";
  if (e.messageId) writeString(w, 0x0a, e.messageId);
  w.field = "envelope.correlation_id";
  if (e.correlationId) writeString(w, 0x12, e.correlationId);
  w.field = "envelope.from";
  if (e.from) writeString(w, 0x1a, e.from);
  if (e.to !== undefined && e.to !== null) {
    w.field = "envelope.to";
    writeMessage(w, 0x22, writeDestination, e.to);
  }
  w.field = "envelope.timestamp_ms";
  if (e.timestampMs) {
    w.rawVarint32(0x28);
    w.int64(e.timestampMs);
  }
  w.field = "envelope.hops";
  if (e.hops) {
    w.rawVarint32(0x30);
    w.uint32(e.hops);
  }
  w.field = "envelope.hop_limit";
  if (e.hopLimit) {
    w.rawVarint32(0x38);
    w.uint32(e.hopLimit);
  }
  if (e.trace !== undefined && e.trace !== null) {
    w.field = "envelope.trace";
    writeMessage(w, 0x42, writeTrace, e.trace);
  }
  w.field = "envelope.in_reply_to";
  if (e.inReplyTo) writeString(w, 0x4a, e.inReplyTo);
  w.field = "envelope.deadline_ms";
  if (e.deadlineMs) {
    w.rawVarint32(0x50);
    w.int64(e.deadlineMs);
  }
  if (e.expectsReply) {
    w.rawVarint32(0x58);
    w.bool(true);
  }
  const body = e.body;
  if (body !== undefined && body.case !== undefined) writeBody(w, body);
  writeUnknown(w, e);
}

/** Writes `value` as a length-delimited field: its tag, then its encoding (by `write`) behind a length prefix. */
function writeMessage<T>(w: ProtoWriter, tag: number, write: (w: ProtoWriter, value: T) => void, value: T): void {
  w.rawVarint32(tag);
  const at = w.fork();
  write(w, value);
  w.join(at);
}

function writeBody(w: ProtoWriter, body: Exclude<Body, { case: undefined }>): void {
  w.field = `envelope.${body.case}`;
  switch (body.case) {
    case "user":
      writeMessage(w, TAG_USER, writeUser, body.value);
      return;
    case "taskRequest":
      writeMessage(w, TAG_TASK_REQUEST, writeTaskRequest, body.value);
      return;
    case "taskResult":
      writeMessage(w, TAG_TASK_RESULT, writeTaskResult, body.value);
      return;
    case "failure":
      writeMessage(w, TAG_FAILURE, writeFailure, body.value);
      return;
    case "ack":
      w.rawVarint32(TAG_ACK);
      if (body.value?.$unknown === undefined || body.value.$unknown.length === 0) w.rawVarint32(0);
      else {
        const at = w.fork();
        writeUnknown(w, body.value);
        w.join(at);
      }
      return;
    default: {
      const field = BODY_BY_CASE.get(body.case);
      if (field === undefined) throw w.invalid(`unknown body case ${String(body.case)}`);
      w.rawVarint32(field.tag);
      w.bytes(toBinary(field.schema, body.value as Message));
    }
  }
}

function writeString(w: ProtoWriter, tag: number, value: string): void {
  w.rawVarint32(tag);
  w.string(value);
}

function writeDestination(w: ProtoWriter, d: Destination): void {
  const t = d.target;
  switch (t?.case) {
    case "agentId":
      writeString(w, 0x0a, t.value);
      break;
    case "broadcast":
      w.rawVarint32(0x10);
      w.bool(t.value);
      break;
    case "topic":
      writeString(w, 0x1a, t.value);
      break;
  }
  writeUnknown(w, d);
}

function writeTrace(w: ProtoWriter, t: TraceContext): void {
  if (t.traceparent) writeString(w, 0x0a, t.traceparent);
  if (t.tracestate) writeString(w, 0x12, t.tracestate);
  if (t.baggage) writeString(w, 0x1a, t.baggage);
  writeUnknown(w, t);
}

function writeUser(w: ProtoWriter, u: UserMessage): void {
  if (u.type) writeString(w, 0x0a, u.type);
  if (u.payload !== undefined && u.payload !== null) {
    writeMessage(w, 0x12, writePayload, u.payload);
  }
  writeUnknown(w, u);
}

function writePayload(w: ProtoWriter, p: Payload): void {
  if (p.contentType) writeString(w, 0x0a, p.contentType);
  if (p.data !== undefined && p.data !== null && p.data.length > 0) {
    w.rawVarint32(0x12);
    w.bytes(p.data);
  }
  writeUnknown(w, p);
}

function writeFailure(w: ProtoWriter, f: Failure): void {
  if (f.code) {
    w.rawVarint32(0x08);
    w.uint32(f.code);
  }
  if (f.message) writeString(w, 0x12, f.message);
  if (f.retryable) {
    w.rawVarint32(0x18);
    w.bool(true);
  }
  writeUnknown(w, f);
}

function writeTaskRequest(w: ProtoWriter, t: TaskRequest): void {
  if (t.taskId) writeString(w, 0x0a, t.taskId);
  if (t.capability) writeString(w, 0x12, t.capability);
  if (t.input !== undefined && t.input !== null) {
    writeMessage(w, 0x1a, writePayload, t.input);
  }
  if (t.attempt) {
    w.rawVarint32(0x20);
    w.uint32(t.attempt);
  }
  if (t.visited !== undefined) for (const v of t.visited) writeString(w, 0x2a, v);
  if (t.origin) writeString(w, 0x32, t.origin);
  writeUnknown(w, t);
}

function writeTaskResult(w: ProtoWriter, t: TaskResult): void {
  if (t.taskId) writeString(w, 0x0a, t.taskId);
  if (t.agentId) writeString(w, 0x12, t.agentId);
  const o = t.outcome;
  if (o?.case === "output") {
    writeMessage(w, 0x1a, writePayload, o.value);
  } else if (o?.case === "failure") {
    writeMessage(w, 0x22, writeFailure, o.value);
  }
  if (t.attempt) {
    w.rawVarint32(0x28);
    w.uint32(t.attempt);
  }
  if (t.durationMs) {
    w.rawVarint32(0x30);
    w.uint32(t.durationMs);
  }
  if (t.workerLoad) {
    w.rawVarint32(0x38);
    w.uint32(t.workerLoad);
  }
  if (t.workerCapacity) {
    w.rawVarint32(0x40);
    w.uint32(t.workerCapacity);
  }
  writeUnknown(w, t);
}

/** Unknown fields a message kept from decoding, written back last (as protobuf-es does). */
function writeUnknown(w: ProtoWriter, m: { $unknown?: { no: number; wireType: number; data: Uint8Array }[] }): void {
  const unknown = m.$unknown;
  if (unknown === undefined) return;
  for (const { no, wireType, data } of unknown) {
    w.rawVarint32(tagOf(no, wireType));
    w.raw(data);
  }
}

// ---- decoding -----------------------------------------------------------------------------------

/**
 * Decodes the envelope in bytes[start, end) (what fromBinary(EnvelopeSchema, …) returns); byte fields are copies,
 * not views of `bytes`. Throws INVALID_ARGUMENT when the bytes are not an envelope.
 */
export function decodeEnvelope(bytes: Uint8Array, start = 0, end = bytes.length): Envelope {
  const r = reader;
  (r as { buf: Buffer }).buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  r.pos = start;
  r.end = end;
  try {
    return readEnvelope(r);
  } catch (err) {
    if (!(err instanceof NotFastPath) && !(err instanceof TypeError)) throw err;
    return decodeGeneral(bytes, start, end);
  }
}

/** Decodes with protobuf-es (unknown fields kept, repeated messages merged), from a copy of the bytes. */
function decodeGeneral(bytes: Uint8Array, start: number, end: number): Envelope {
  try {
    return fromBinary(EnvelopeSchema, copyOf(bytes, start, end));
  } catch (err) {
    throw new MeshError(Code.InvalidArgument, `malformed envelope (${end - start} bytes): ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

/** A plain Uint8Array copy of bytes[start, end) (Buffer's slice() would be a view). */
function copyOf(bytes: Uint8Array, start: number, end: number): Uint8Array {
  const out = new Uint8Array(end - start);
  out.set(bytes.subarray(start, end));
  return out;
}

/** Reads a nested message of the length that comes next with `read`. */
function nested<T>(r: ProtoReader, read: (r: ProtoReader) => T): T {
  const end = r.length();
  const outer = r.end;
  r.end = end;
  const value = read(r);
  if (r.pos !== end) throw new NotFastPath("nested message overran");
  r.end = outer;
  return value;
}

function readEnvelope(r: ProtoReader): Envelope {
  let messageId = "";
  let correlationId = "";
  let from = "";
  let to: Destination | undefined;
  let timestampMs = 0n;
  let hops = 0;
  let hopLimit = 0;
  let trace: TraceContext | undefined;
  let inReplyTo = "";
  let deadlineMs = 0n;
  let expectsReply = false;
  let bodyCase: BodyCase | undefined;
  let bodyValue: unknown;
  while (r.pos < r.end) {
    const tag = r.uint32();
    switch (tag) {
      case 0x0a:
        messageId = r.string();
        break;
      case 0x12:
        correlationId = r.string();
        break;
      case 0x1a:
        from = r.string();
        break;
      case 0x22:
        if (to !== undefined) throw new NotFastPath("repeated message field");
        to = nested(r, readDestination);
        break;
      case 0x28:
        timestampMs = r.int64();
        break;
      case 0x30:
        hops = r.uint32();
        break;
      case 0x38:
        hopLimit = r.uint32();
        break;
      case 0x42:
        if (trace !== undefined) throw new NotFastPath("repeated message field");
        trace = nested(r, readTrace);
        break;
      case 0x4a:
        inReplyTo = r.string();
        break;
      case 0x50:
        deadlineMs = r.int64();
        break;
      case 0x58:
        expectsReply = r.bool();
        break;
      default: {
        const field = BODY_BY_TAG.get(tag);
        if (field === undefined || field.case === bodyCase) throw new NotFastPath("unknown or repeated field");
        bodyCase = field.case;
        bodyValue = readBody(r, tag, field);
      }
    }
  }
  // Every field present (`to` and `trace` undefined when unset), in newEnvelope's order: one shape for all envelopes.
  return {
    $typeName: "agentmesh.v1.Envelope",
    messageId,
    correlationId,
    from,
    to,
    timestampMs,
    hops,
    hopLimit,
    trace,
    inReplyTo,
    deadlineMs,
    expectsReply,
    body: bodyCase === undefined ? { case: undefined } : { case: bodyCase, value: bodyValue },
  } as Envelope;
}

function readBody(r: ProtoReader, tag: number, field: BodyField): unknown {
  switch (tag) {
    case TAG_USER:
      return nested(r, readUser);
    case TAG_TASK_REQUEST:
      return nested(r, readTaskRequest);
    case TAG_TASK_RESULT:
      return nested(r, readTaskResult);
    case TAG_FAILURE:
      return nested(r, readFailure);
    case TAG_ACK:
      return nested(r, readAck);
    default: {
      const end = r.length();
      const start = r.pos;
      r.pos = end;
      // A copy, so the decoded body's byte fields do not keep the received chunk alive.
      return fromBinary(field.schema, copyOf(r.buf, start, end));
    }
  }
}

function readDestination(r: ProtoReader): Destination {
  let target: Destination["target"] = { case: undefined };
  while (r.pos < r.end) {
    switch (r.uint32()) {
      case 0x0a:
        target = { case: "agentId", value: r.string() };
        break;
      case 0x10:
        target = { case: "broadcast", value: r.bool() };
        break;
      case 0x1a:
        target = { case: "topic", value: r.string() };
        break;
      default:
        throw new NotFastPath("unknown field");
    }
  }
  return { $typeName: "agentmesh.v1.Destination", target } as Destination;
}

function readTrace(r: ProtoReader): TraceContext {
  let traceparent = "";
  let tracestate = "";
  let baggage = "";
  while (r.pos < r.end) {
    switch (r.uint32()) {
      case 0x0a:
        traceparent = r.string();
        break;
      case 0x12:
        tracestate = r.string();
        break;
      case 0x1a:
        baggage = r.string();
        break;
      default:
        throw new NotFastPath("unknown field");
    }
  }
  return { $typeName: "agentmesh.v1.TraceContext", traceparent, tracestate, baggage } as TraceContext;
}

function readUser(r: ProtoReader): UserMessage {
  let type = "";
  let payload: Payload | undefined;
  while (r.pos < r.end) {
    switch (r.uint32()) {
      case 0x0a:
        type = r.string();
        break;
      case 0x12:
        if (payload !== undefined) throw new NotFastPath("repeated message field");
        payload = nested(r, readPayload);
        break;
      default:
        throw new NotFastPath("unknown field");
    }
  }
  const m = { $typeName: "agentmesh.v1.UserMessage", type } as UserMessage;
  if (payload !== undefined) m.payload = payload;
  return m;
}

function readPayload(r: ProtoReader): Payload {
  let contentType = "";
  let data: Uint8Array | undefined;
  while (r.pos < r.end) {
    switch (r.uint32()) {
      case 0x0a:
        contentType = r.string();
        break;
      case 0x12:
        data = r.bytes();
        break;
      default:
        throw new NotFastPath("unknown field");
    }
  }
  return { $typeName: "agentmesh.v1.Payload", contentType, data: data ?? new Uint8Array(0) } as Payload;
}

function readAck(r: ProtoReader): Message {
  if (r.pos < r.end) throw new NotFastPath("unknown field");
  return { $typeName: "agentmesh.v1.Ack" } as Message;
}

function readFailure(r: ProtoReader): Failure {
  let code = 0;
  let message = "";
  let retryable = false;
  while (r.pos < r.end) {
    switch (r.uint32()) {
      case 0x08:
        code = r.uint32();
        break;
      case 0x12:
        message = r.string();
        break;
      case 0x18:
        retryable = r.bool();
        break;
      default:
        throw new NotFastPath("unknown field");
    }
  }
  return { $typeName: "agentmesh.v1.Failure", code, message, retryable } as Failure;
}

function readTaskRequest(r: ProtoReader): TaskRequest {
  let taskId = "";
  let capability = "";
  let input: Payload | undefined;
  let attempt = 0;
  const visited: string[] = [];
  let origin = "";
  while (r.pos < r.end) {
    switch (r.uint32()) {
      case 0x0a:
        taskId = r.string();
        break;
      case 0x12:
        capability = r.string();
        break;
      case 0x1a:
        if (input !== undefined) throw new NotFastPath("repeated message field");
        input = nested(r, readPayload);
        break;
      case 0x20:
        attempt = r.uint32();
        break;
      case 0x2a:
        visited.push(r.string());
        break;
      case 0x32:
        origin = r.string();
        break;
      default:
        throw new NotFastPath("unknown field");
    }
  }
  const m = { $typeName: "agentmesh.v1.TaskRequest", taskId, capability, attempt, visited, origin } as TaskRequest;
  if (input !== undefined) m.input = input;
  return m;
}

function readTaskResult(r: ProtoReader): TaskResult {
  let taskId = "";
  let agentId = "";
  let outcome: TaskResult["outcome"] = { case: undefined };
  let attempt = 0;
  let durationMs = 0;
  let workerLoad = 0;
  let workerCapacity = 0;
  while (r.pos < r.end) {
    switch (r.uint32()) {
      case 0x0a:
        taskId = r.string();
        break;
      case 0x12:
        agentId = r.string();
        break;
      case 0x1a:
        if (outcome.case === "output") throw new NotFastPath("repeated message field");
        outcome = { case: "output", value: nested(r, readPayload) };
        break;
      case 0x22:
        if (outcome.case === "failure") throw new NotFastPath("repeated message field");
        outcome = { case: "failure", value: nested(r, readFailure) };
        break;
      case 0x28:
        attempt = r.uint32();
        break;
      case 0x30:
        durationMs = r.uint32();
        break;
      case 0x38:
        workerLoad = r.uint32();
        break;
      case 0x40:
        workerCapacity = r.uint32();
        break;
      default:
        throw new NotFastPath("unknown field");
    }
  }
  return { $typeName: "agentmesh.v1.TaskResult", taskId, agentId, outcome, attempt, durationMs, workerLoad, workerCapacity } as TaskResult;
}
