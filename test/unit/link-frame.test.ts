/**
 * Link frames: a frame written from envelopes encoded one by one is the LinkRequest protobuf-es writes for
 * them (behind the 5-byte gRPC prefix), batches over the size limit are split in order, and reading gives the
 * envelopes back — frames with fields a newer peer might add included. A transport refuses, at send, an
 * envelope no frame can carry.
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { afterEach, describe, expect, it } from "vitest";
import { LinkRequestSchema, LinkResponseSchema } from "../../gen/agentmesh/v1/mesh_service_pb.js";
import { encodeEnvelope } from "../../src/protocol/envelope-codec.js";
import { Code } from "../../src/protocol/errors.js";
import { GrpcTransport } from "../../src/transport/grpc-transport.js";
import { decodeLinkFrame, encodeLinkFrames, framedSize, maxEnvelopeBytes } from "../../src/transport/link-frame.js";
import { note, startPeer } from "../helpers/link-host.js";
import { waitFor } from "../helpers/wait.js";

const started: GrpcTransport[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((t) => t.stop()));
});

const varint = (n: number): number[] => (n < 0x80 ? [n] : [(n & 0x7f) | 0x80, ...varint(n >>> 7)]);
const notes = (n: number, size = 10) => Array.from({ length: n }, (_, i) => note("a", "b", { i, text: "t".repeat(size + (i % 7) * 40) }));

describe("link frames", () => {
  it("write what protobuf-es writes for a LinkRequest, behind the gRPC prefix", () => {
    const envelopes = notes(40);
    const [frame, ...rest] = encodeLinkFrames(envelopes.map(encodeEnvelope), 4 * 1024 * 1024);
    expect(rest).toEqual([]);
    const reference = toBinary(LinkRequestSchema, create(LinkRequestSchema, { envelopes }));
    expect(frame[0]).toBe(0);
    expect(frame.readUInt32BE(1)).toBe(reference.length);
    expect(Buffer.from(frame.subarray(5)).equals(Buffer.from(reference))).toBe(true);
  });

  it("read back the envelopes, as LinkRequest and LinkResponse", () => {
    const envelopes = notes(25, 200);
    const bytes = toBinary(LinkResponseSchema, create(LinkResponseSchema, { envelopes }));
    expect(decodeLinkFrame(bytes)).toEqual(fromBinary(LinkResponseSchema, bytes).envelopes);
    expect(decodeLinkFrame(new Uint8Array(0))).toEqual([]);
  });

  it("split a batch larger than the limit into several frames, in order, each within it", () => {
    const encoded = notes(100, 300).map(encodeEnvelope);
    const limit = 2000;
    const frames = encodeLinkFrames(encoded, limit);
    expect(frames.length).toBeGreaterThan(10);
    const back = frames.flatMap((f) => {
      expect(f.length - 5).toBeLessThanOrEqual(limit);
      return decodeLinkFrame(f.subarray(5));
    });
    expect(back.map((e) => e.messageId)).toEqual(encoded.map((e) => decodeLinkFrame(Buffer.concat([Buffer.from([0x0a, ...varint(e.length)]), e]))[0].messageId));
    expect(frames.reduce((n, f) => n + f.length - 5, 0)).toBe(encoded.reduce((n, e) => n + framedSize(e.length), 0));
  });

  it("skip fields other than envelopes (a newer peer's) and refuse garbage with INVALID_ARGUMENT", () => {
    const envelopes = notes(3);
    const bytes = Buffer.concat([toBinary(LinkRequestSchema, create(LinkRequestSchema, { envelopes })), Buffer.from([0x10, 0x01])]);
    expect(decodeLinkFrame(bytes).map((e) => e.messageId)).toEqual(envelopes.map((e) => e.messageId));
    for (const bad of [[0x0a], [0x0a, 0x05, 0x01], [0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01], [0x12]]) {
      expect(() => decodeLinkFrame(Uint8Array.from(bad))).toThrowError(expect.objectContaining({ code: Code.InvalidArgument }));
    }
  });

  it("have room for an envelope of maxEnvelopeBytes in a frame of maxMessageBytes", () => {
    for (const max of [100, 127, 128, 16_384, 4 * 1024 * 1024]) expect(framedSize(maxEnvelopeBytes(max))).toBeLessThanOrEqual(max);
  });

  it("are refused at send, with RESOURCE_EXHAUSTED, for an envelope larger than a frame may be", async () => {
    const t = new GrpcTransport({ port: 0, config: { maxMessageBytes: 4096 } });
    started.push(t);
    const b = new GrpcTransport({ port: 0 });
    started.push(b);
    const pb = await startPeer("b", b);
    await startPeer("a", t);
    const link = t.linkTo("b", b.address);
    expect(() => link.send(note("a", "b", "x".repeat(5000)))).toThrowError(expect.objectContaining({ code: Code.ResourceExhausted, message: expect.stringContaining("maxMessageBytes 4096") }));
    link.send(note("a", "b", "fits"));
    await waitFor(() => pb.notes().length === 1, { what: "the note that fits" });
    expect(pb.notes()).toEqual(["fits"]);
  });
});
