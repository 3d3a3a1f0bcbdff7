/**
 * The hand-written envelope codec against protobuf-es, the reference: the same bytes out for every body case
 * and every kind of field value, the same message back from any bytes (unknown fields, merged repeats and
 * malformed input included), and clear INVALID_ARGUMENT errors.
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { EnvelopeSchema, UserMessageSchema, type Envelope } from "../../gen/agentmesh/v1/envelope_pb.js";
import { PayloadSchema } from "../../gen/agentmesh/v1/payload_pb.js";
import { decodeEnvelope, encodeEnvelope } from "../../src/protocol/envelope-codec.js";
import { newEnvelope, toAgent } from "../../src/protocol/envelope.js";
import { Code, MeshError } from "../../src/protocol/errors.js";
import { messageToBody } from "../../src/protocol/message.js";
import { seededRandom } from "../../src/protocol/random.js";
import { RandomValues } from "../helpers/random-message.js";

const bodyCases = EnvelopeSchema.fields.filter((f) => f.oneof?.localName === "body").map((f) => f.localName);
const reference = (env: Envelope) => toBinary(EnvelopeSchema, env);

/** Random envelopes with body `bodyCase` (undefined: no body). */
function envelopes(bodyCase: string | undefined, count: number, seed: number): Envelope[] {
  const rv = new RandomValues(seededRandom(seed));
  return Array.from({ length: count }, () => {
    const env = rv.message<Envelope>(EnvelopeSchema, 4);
    if (bodyCase === undefined) env.body = { case: undefined };
    else if (env.body.case !== bodyCase) {
      const field = EnvelopeSchema.fields.find((f) => f.localName === bodyCase);
      if (field?.fieldKind !== "message") throw new Error(bodyCase);
      env.body = { case: bodyCase, value: rv.message(field.message, 3) } as Envelope["body"];
    }
    return env;
  });
}

/** The codec's outcome and protobuf-es's for `bytes`: both the same message, or both an error. */
function expectSameDecode(bytes: Uint8Array): void {
  let expected: Envelope | undefined;
  try {
    expected = fromBinary(EnvelopeSchema, bytes);
  } catch {
    expected = undefined;
  }
  if (expected === undefined) {
    expect(() => decodeEnvelope(bytes)).toThrowError(expect.objectContaining({ code: Code.InvalidArgument }));
    return;
  }
  expect(decodeEnvelope(bytes)).toEqual(expected);
}

describe("envelope codec", () => {
  it("covers every body case of the schema", () => {
    expect(bodyCases.length).toBeGreaterThanOrEqual(22);
    expect(bodyCases).toEqual(expect.arrayContaining(["user", "taskRequest", "taskResult", "ack", "failure", "hello", "gossipUpdates", "probeAck"]));
  });

  for (const bodyCase of [...bodyCases, undefined]) {
    it(`encodes and decodes like protobuf-es: body ${bodyCase ?? "unset"}`, () => {
      for (const env of envelopes(bodyCase, 60, 7 + bodyCases.indexOf(bodyCase ?? ""))) {
        const bytes = reference(env);
        expect(Buffer.from(encodeEnvelope(env)).equals(Buffer.from(bytes))).toBe(true);
        const decoded = decodeEnvelope(bytes);
        expect(decoded).toEqual(fromBinary(EnvelopeSchema, bytes));
        expect(Buffer.from(encodeEnvelope(decoded)).equals(Buffer.from(bytes))).toBe(true);
      }
    });
  }

  it("encodes the envelopes the bus builds", () => {
    const request = newEnvelope({ from: "a", to: toAgent("b"), body: messageToBody("bench.echo", "x".repeat(62)), expectsReply: true, hopLimit: 8, deadlineMs: Date.now() + 30_000 });
    request.trace = { $typeName: "agentmesh.v1.TraceContext", traceparent: `00-${"1".repeat(32)}-${"2".repeat(16)}-01`, tracestate: "", baggage: "" };
    const task = newEnvelope({ from: "a", body: messageToBody("task_request", { capability: "echo", input: { n: 1 } }) });
    const result = newEnvelope({ from: "b", body: messageToBody("task_result", ["ok"]), inReplyTo: request.messageId, hops: 3 });
    for (const env of [request, task, result]) {
      const bytes = reference(env);
      expect(Buffer.from(encodeEnvelope(env)).equals(Buffer.from(bytes))).toBe(true);
      expect(decodeEnvelope(bytes)).toEqual(env);
    }
  });

  it("decodes a slice of a larger buffer, with byte fields copied out of it", () => {
    const env = newEnvelope({ from: "a", body: { case: "user", value: { $typeName: "agentmesh.v1.UserMessage", type: "t", payload: create(PayloadSchema, { contentType: "application/octet-stream", data: Uint8Array.of(1, 2, 3) }) } } });
    const bytes = reference(env);
    const big = Buffer.concat([Buffer.from([9, 9, 9]), bytes, Buffer.from([7])]);
    const decoded = decodeEnvelope(big, 3, 3 + bytes.length);
    expect(decoded).toEqual(env);
    big.fill(0);
    expect(decoded.body.case === "user" && [...(decoded.body.value.payload?.data ?? [])]).toEqual([1, 2, 3]);
  });

  it("decodes short strings right when they repeat and when they collide in the string cache", () => {
    const rv = new RandomValues(seededRandom(17));
    const words = Array.from({ length: 3000 }, (_, i) => (i % 3 === 0 ? `agent-${i}` : Array.from({ length: 1 + rv.int(32) }, () => String.fromCharCode(33 + rv.int(94))).join("")));
    for (let i = 0; i < 20_000; i++) {
      const from = rv.pick(words);
      const env = newEnvelope({ from, to: toAgent(rv.pick(words)), body: { case: "ack", value: { $typeName: "agentmesh.v1.Ack" } } });
      const decoded = decodeEnvelope(reference(env));
      expect(decoded.from).toBe(from);
      expect(decoded.to).toEqual(env.to);
    }
  });

  it("keeps unknown fields (a newer peer's) and writes them back", () => {
    const rv = new RandomValues(seededRandom(3));
    for (const env of envelopes("user", 20, 11)) {
      // field 99 (varint) and field 100 (bytes), appended at the envelope level
      const extra = Uint8Array.of(0x98, 0x06, 0x2a, 0xa2, 0x06, 0x02, rv.int(256), rv.int(256));
      const bytes = new Uint8Array(Buffer.concat([reference(env), extra]));
      const decoded = decodeEnvelope(bytes);
      expect(decoded).toEqual(fromBinary(EnvelopeSchema, bytes));
      expect(decoded.$unknown?.map((u) => u.no)).toEqual([99, 100]);
      expect(Buffer.from(encodeEnvelope(decoded)).equals(Buffer.from(bytes))).toBe(true);
    }
  });

  it("keeps unknown fields inside a hand-coded body", () => {
    const user = Buffer.concat([toBinary(UserMessageSchema, create(UserMessageSchema, { type: "t" })), Buffer.from([0x48, 0x01])]);
    const bytes = new Uint8Array(Buffer.concat([Buffer.from([0x1a, 0x01, 0x61, 0x82, 0x02, user.length]), user]));
    expectSameDecode(bytes);
    const decoded = decodeEnvelope(bytes);
    expect(decoded.body.case === "user" && decoded.body.value.$unknown?.[0]?.no).toBe(9);
    expect(Buffer.from(encodeEnvelope(decoded)).equals(Buffer.from(bytes))).toBe(true);
  });

  it("merges an envelope sent in two parts, as protobuf does", () => {
    const [a, b] = envelopes("taskResult", 2, 21);
    const bytes = new Uint8Array(Buffer.concat([reference(a), reference(b)]));
    expectSameDecode(bytes);
  });

  it("fails malformed input with INVALID_ARGUMENT, never with anything else", () => {
    const rv = new RandomValues(seededRandom(5));
    for (const env of envelopes("taskRequest", 10, 31)) {
      const bytes = reference(env);
      for (let cut = 0; cut < bytes.length; cut += 1 + rv.int(7)) expectSameDecode(bytes.subarray(0, cut));
      for (let i = 0; i < 40; i++) {
        const flipped = bytes.slice();
        flipped[rv.int(flipped.length)] = rv.int(256);
        expectSameDecode(flipped);
      }
    }
    const badUtf8 = Uint8Array.of(0x1a, 0x02, 0xff, 0x41); // from: invalid UTF-8
    expect(() => decodeEnvelope(badUtf8)).toThrowError(MeshError);
    expect(() => decodeEnvelope(badUtf8)).toThrowError(expect.objectContaining({ code: Code.InvalidArgument }));
  });

  it("refuses values that do not fit their fields, naming the field", () => {
    const env = newEnvelope({ from: "a", body: { case: "ack", value: { $typeName: "agentmesh.v1.Ack" } } });
    expect(() => encodeEnvelope({ ...env, hops: -1 })).toThrowError(expect.objectContaining({ code: Code.InvalidArgument, message: expect.stringContaining("envelope.hops") }));
    expect(() => encodeEnvelope({ ...env, hopLimit: 2 ** 32 })).toThrowError(expect.objectContaining({ message: expect.stringContaining("envelope.hop_limit") }));
    expect(() => encodeEnvelope({ ...env, deadlineMs: 2n ** 64n })).toThrowError(expect.objectContaining({ message: expect.stringContaining("envelope.deadline_ms") }));
    const failure = { case: "failure", value: { $typeName: "agentmesh.v1.Failure", code: 1.5, message: "", retryable: false } } as Envelope["body"];
    expect(() => encodeEnvelope({ ...env, body: failure })).toThrowError(expect.objectContaining({ code: Code.InvalidArgument, message: expect.stringContaining("failure") }));
    // The writer is usable after a refusal.
    expect(Buffer.from(encodeEnvelope(env)).equals(Buffer.from(reference(env)))).toBe(true);
  });
});
