/**
 * How the mesh bus answers requests (mesh-bus.ts): a handler that answers synchronously is answered within the
 * same receive() call, its reply sent with its encoding; the dedupe window keeps a copy of that encoding and
 * answers a duplicate with the same bytes without running the handler again; a handler's promise is waited for, and
 * duplicates arriving meanwhile get the reply once it is ready.
 */
import { describe, expect, it } from "vitest";
import type { Envelope } from "../../gen/agentmesh/v1/envelope_pb.js";
import { MeshMessageBus } from "../../src/bus/mesh-bus.js";
import { decodeEnvelope, encodeEnvelope } from "../../src/protocol/envelope-codec.js";
import { newEnvelope, toAgent } from "../../src/protocol/envelope.js";
import { Code, MeshError } from "../../src/protocol/errors.js";
import { envelopeToMessage, messageToBody } from "../../src/protocol/message.js";
import type { Link, Transport } from "../../src/transport/transport.js";

/** A link that records what is sent on it, with the encoding given. */
function recordingLink(): Link & { sent: { env: Envelope; encoded: Uint8Array | undefined }[] } {
  const sent: { env: Envelope; encoded: Uint8Array | undefined }[] = [];
  return {
    id: 1,
    direction: "inbound",
    remoteAddress: "a:1",
    peer: undefined,
    state: { t: "ready" },
    usable: true,
    queued: 0,
    sent,
    send: (env: Envelope, encoded?: Uint8Array) => void sent.push({ env, encoded }),
    onState: () => () => {},
    close: () => {},
  };
}

function busB(): MeshMessageBus {
  const transport = { address: "b:1", linkTo: () => { throw new Error("no dialing here"); } } as unknown as Transport;
  return new MeshMessageBus({ selfId: "b", transport, directory: { addressOf: () => undefined, peerIds: () => [] } });
}

function request(id: string, payload: unknown): Envelope {
  return newEnvelope({ from: "a", to: toAgent("b"), messageId: id, body: messageToBody("q", payload), expectsReply: true });
}

describe("MeshMessageBus answering", () => {
  it("answers a synchronous handler within receive(), with the reply's encoding, and a duplicate with the same bytes", () => {
    const bus = busB();
    let calls = 0;
    bus.attach("b", (m) => {
      calls++;
      return { echo: m.payload };
    });
    const link = recordingLink();
    bus.receive(request("r1", 5), link);
    expect(link.sent).toHaveLength(1); // no await: the reply is already on the link
    const [first] = link.sent;
    expect(first.env.inReplyTo).toBe("r1");
    expect(envelopeToMessage(first.env)?.payload).toEqual({ echo: 5 });
    expect(Buffer.from(first.encoded ?? []).equals(Buffer.from(encodeEnvelope(first.env)))).toBe(true);

    bus.receive(request("r1", 5), link); // a retry of the same request
    expect(calls).toBe(1);
    expect(link.sent).toHaveLength(2);
    expect(Buffer.from(link.sent[1].encoded ?? []).equals(Buffer.from(first.encoded ?? []))).toBe(true);
    expect(link.sent[1].env).toEqual(decodeEnvelope(first.encoded as Uint8Array));
  });

  it("waits for a handler's promise; duplicates that arrive meanwhile get the reply when it is ready", async () => {
    const bus = busB();
    let release!: (v: unknown) => void;
    let calls = 0;
    bus.attach("b", () => {
      calls++;
      return new Promise((r) => (release = r));
    });
    const link = recordingLink();
    bus.receive(request("r2", 1), link);
    bus.receive(request("r2", 1), link);
    expect(link.sent).toHaveLength(0);
    release("done");
    await new Promise((r) => setImmediate(r));
    expect(calls).toBe(1);
    expect(link.sent.map((s) => s.env.inReplyTo)).toEqual(["r2", "r2"]);
    expect(link.sent.map((s) => envelopeToMessage(s.env)?.payload)).toEqual(["done", "done"]);
  });

  it("asks the next handler when one resolves to undefined, and fails the request when a handler throws", async () => {
    const bus = busB();
    bus.attach("b", async () => undefined);
    bus.attach("b", (m) => (m.payload === "boom" ? Promise.reject(new MeshError(Code.FailedPrecondition, "no")) : "second"));
    const link = recordingLink();
    bus.receive(request("r3", "x"), link);
    bus.receive(request("r4", "boom"), link);
    await new Promise((r) => setImmediate(r));
    const byId = new Map(link.sent.map((s) => [s.env.inReplyTo, s.env]));
    expect(envelopeToMessage(byId.get("r3") as Envelope)?.payload).toBe("second");
    const failed = byId.get("r4");
    expect(failed?.body.case).toBe("failure");
    expect(failed?.body.case === "failure" && failed.body.value.code).toBe(Code.FailedPrecondition);
  });

  it("rejects (does not throw) a request whose message cannot be made", async () => {
    const bus = busB();
    const result = bus.request("a", { type: "", payload: null });
    expect(result).toBeInstanceOf(Promise);
    await expect(result).rejects.toMatchObject({ code: Code.InvalidArgument });
  });
});
