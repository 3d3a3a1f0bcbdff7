/**
 * Messages built directly instead of through create() (the hot path) must be exactly what create() makes:
 * every field present with its default. A field added to the proto later fails here until the builder sets it.
 */
import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { DestinationSchema, EnvelopeSchema, UserMessageSchema } from "../../gen/agentmesh/v1/envelope_pb.js";
import { PayloadSchema } from "../../gen/agentmesh/v1/payload_pb.js";
import { newEnvelope, toAgent } from "../../src/protocol/envelope.js";
import { messageToBody } from "../../src/protocol/message.js";
import { jsonTextToPayload, toPayload } from "../../src/protocol/payload.js";

/** The same fields as a plain object (create() returns a message given to it unchanged). */
function plain<T extends { $typeName: string }>(message: T): Omit<T, "$typeName"> {
  const { $typeName: _, ...fields } = message;
  return fields;
}

describe("direct builders match create()", () => {
  it("payloads", () => {
    for (const p of [toPayload({ a: 1 }), toPayload(Uint8Array.of(1, 2)), toPayload(undefined), jsonTextToPayload("[1]", "input")]) {
      expect(p).toEqual(create(PayloadSchema, plain(p)));
    }
  });

  it("user message bodies", () => {
    const body = messageToBody("x.y", { n: 1 });
    expect(body.case).toBe("user");
    expect(body.value).toEqual(create(UserMessageSchema, plain(body.value as { $typeName: string })));
  });

  it("envelopes and destinations", () => {
    const body = messageToBody("x.y", "z");
    const bare = newEnvelope({ from: "a", body });
    expect(bare).toEqual(create(EnvelopeSchema, plain(bare)));
    const full = newEnvelope({ from: "a", to: toAgent("b"), body, hops: 2, hopLimit: 8, inReplyTo: "m", deadlineMs: 5, expectsReply: true });
    expect(full).toEqual(create(EnvelopeSchema, plain(full)));
    expect(toAgent("b")).toEqual(create(DestinationSchema, plain(toAgent("b"))));
  });
});
