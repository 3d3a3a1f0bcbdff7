import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { EnvelopeSchema, type Envelope } from "../../gen/agentmesh/v1/envelope_pb.js";
import { newEnvelope, toAgent, toBroadcast, toTopic, type BodyCase } from "../../src/protocol/envelope.js";
import { Code, MeshError } from "../../src/protocol/errors.js";
import { envelopeToMessage, messageToBody, type MessageType } from "../../src/protocol/message.js";

/** Encodes a message as an envelope, sends it through the wire format, and decodes it again. */
function roundTrip(type: MessageType, payload: unknown, to = toAgent("b")) {
  const body = messageToBody(type, payload);
  const env = newEnvelope({ from: "a", to, body, messageId: "m-1", correlationId: "c-1", hops: 2, timestampMs: 1_700_000_000_000 });
  const wire: Envelope = fromBinary(EnvelopeSchema, toBinary(EnvelopeSchema, env));
  return { bodyCase: body.case, message: envelopeToMessage(wire) };
}

function invalidArgument(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(MeshError);
    expect((err as MeshError).code).toBe(Code.InvalidArgument);
    return (err as MeshError).message;
  }
  throw new Error("expected INVALID_ARGUMENT, nothing was thrown");
}

describe("message ↔ envelope", () => {
  it.each<{ type: MessageType; payload: unknown; bodyCase: BodyCase; back: unknown }>([
    {
      type: "task_request",
      payload: { capability: "summarize", input: { text: "long" }, taskId: "t-1" },
      bodyCase: "taskRequest",
      back: { capability: "summarize", input: { text: "long" }, taskId: "t-1" },
    },
    { type: "task_result", payload: { summary: "short" }, bodyCase: "taskResult", back: { summary: "short" } },
    { type: "task_result", payload: "plain", bodyCase: "taskResult", back: "plain" },
    {
      type: "collaboration_invite",
      payload: { teamId: "team-1", goal: "write a report", role: "editor", capabilities: ["edit", "review"], context: { due: "friday" } },
      bodyCase: "collaborationInvite",
      back: { teamId: "team-1", goal: "write a report", role: "editor", capabilities: ["edit", "review"], context: { due: "friday" } },
    },
    {
      type: "collaboration_reply",
      payload: { teamId: "team-1", accepted: true, reason: "" },
      bodyCase: "collaborationReply",
      back: { teamId: "team-1", accepted: true, reason: "" },
    },
    { type: "collaboration_reply", payload: { accepted: false, reason: "busy" }, bodyCase: "collaborationReply", back: { teamId: "", accepted: false, reason: "busy" } },
    { type: "capability_query", payload: { capability: "ocr" }, bodyCase: "capabilityQuery", back: { capability: "ocr" } },
    { type: "capability_answer", payload: { capability: "ocr", canHandle: true }, bodyCase: "capabilityAnswer", back: { capability: "ocr", canHandle: true } },
    {
      type: "heartbeat",
      payload: { agentId: "a", load: 2, capacity: 4, seq: 17 },
      bodyCase: "heartbeat",
      back: { agentId: "a", load: 2, capacity: 4, seq: 17 },
    },
    { type: "heartbeat", payload: {}, bodyCase: "heartbeat", back: { agentId: "", load: 0, capacity: 0, seq: 0 } },
    {
      type: "consensus_vote",
      payload: { question: "lunch?", options: ["pizza", "sushi"] },
      bodyCase: "voteRequest",
      back: { question: "lunch?", options: ["pizza", "sushi"] },
    },
    {
      type: "consensus_vote",
      payload: { choice: "sushi", weight: 2.5, rationale: "fresh" },
      bodyCase: "vote",
      back: { choice: "sushi", weight: 2.5, rationale: "fresh" },
    },
    { type: "consensus_vote", payload: { choice: "pizza" }, bodyCase: "vote", back: { choice: "pizza", weight: 1, rationale: "" } },
    { type: "note", payload: { text: "hi", n: [1, 2] }, bodyCase: "user", back: { text: "hi", n: [1, 2] } },
    { type: "plan_ready", payload: null, bodyCase: "user", back: null },
  ])("$type $payload travels as $bodyCase", ({ type, payload, bodyCase, back }) => {
    const { bodyCase: got, message } = roundTrip(type, payload);
    expect(got).toBe(bodyCase);
    expect(message).toBeDefined();
    expect(message?.type).toBe(type);
    expect(message?.payload).toEqual(back);
  });

  it("keeps the envelope's fields on the message", () => {
    const { message } = roundTrip("note", { x: 1 });
    expect(message).toEqual({
      id: "m-1",
      type: "note",
      from: "a",
      to: "b",
      topic: undefined,
      payload: { x: 1 },
      timestamp: new Date(1_700_000_000_000),
      correlationId: "c-1",
      hops: 2,
    });
  });

  it.each([
    [toAgent("b"), "b", undefined],
    [toTopic("news"), "news", "news"],
    [toBroadcast(), "broadcast", undefined],
  ])("maps destination %# to `to` and `topic`", (dest, to, topic) => {
    const { message } = roundTrip("note", 1, dest);
    expect(message?.to).toBe(to);
    expect(message?.topic).toBe(topic);
  });

  it("gives a task request without an id a fresh one", () => {
    const a = roundTrip("task_request", { capability: "x" }).message?.payload as { taskId: string };
    const b = roundTrip("task_request", { capability: "x" }).message?.payload as { taskId: string };
    expect(a.taskId).toMatch(/^[0-9a-f-]{36}$/);
    expect(a.taskId).not.toBe(b.taskId);
  });

  it("gives an invitation without a team id a fresh one", () => {
    const p = roundTrip("collaboration_invite", { goal: "g" }).message?.payload as { teamId: string };
    expect(p.teamId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("decodes a failed task result as {error}", () => {
    const env = newEnvelope({
      from: "b",
      body: { case: "taskResult", value: { $typeName: "agentmesh.v1.TaskResult", taskId: "t", agentId: "b", attempt: 1, durationMs: 0, workerLoad: 0, workerCapacity: 1, outcome: { case: "failure", value: new MeshError(Code.NotFound, "nope").toFailure() } } },
    });
    expect(envelopeToMessage(env)?.payload).toEqual({ error: { code: Code.NotFound, message: "nope" } });
  });

  it("is undefined for envelopes that are not messages", () => {
    const env = newEnvelope({ from: "a", body: { case: "membershipSync", value: { $typeName: "agentmesh.v1.MembershipSync", members: [], replyWanted: false } } });
    expect(envelopeToMessage(env)).toBeUndefined();
  });

  it.each([
    ["task_request", {}, "task_request.payload.capability: must be a non-empty string"],
    ["task_request", { capability: "" }, "task_request.payload.capability: must be a non-empty string"],
    ["task_request", null, "task_request.payload.capability: must be a non-empty string"],
    ["capability_query", { capability: 7 }, "capability_query.payload.capability: must be a non-empty string"],
    ["consensus_vote", { options: ["a"] }, "consensus_vote.payload.question: must be a non-empty string"],
    ["", {}, "message.type: must not be empty"],
  ])("refuses %s %j with INVALID_ARGUMENT naming the field", (type, payload, message) => {
    expect(invalidArgument(() => messageToBody(type, payload))).toBe(message);
  });

  it.each([
    ["load", { load: 2 ** 32 }],
    ["capacity", { capacity: 5e9 }],
    ["load", { load: -1 }],
    ["capacity", { capacity: 1.5 }],
    ["seq", { seq: 2 ** 64 }],
  ])("refuses a heartbeat whose %s does not fit its field, naming it", (field, payload) => {
    expect(invalidArgument(() => messageToBody("heartbeat", payload))).toMatch(new RegExp(`^heartbeat\\.payload\\.${field}: `));
  });

  it("refuses a message whose payload is not valid JSON on the wire, naming the field", () => {
    const env = newEnvelope({ from: "a", body: messageToBody("note", { x: 1 }) });
    if (env.body.case !== "user" || env.body.value.payload === undefined) throw new Error("expected a user body");
    env.body.value.payload.data = new TextEncoder().encode("{broken");
    expect(invalidArgument(() => envelopeToMessage(env))).toMatch(/^payload: not valid JSON/);
  });
});
