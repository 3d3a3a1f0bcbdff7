/**
 * Link frames on the wire: each gRPC message of a Link stream is a LinkRequest (from the dialer) or a
 * LinkResponse (from the acceptor), both `repeated Envelope envelopes = 1`. Envelopes are encoded once, when
 * they are sent (envelope-codec.ts); a frame is their bytes, each behind the field's tag (0x0a) and its length —
 * exactly what protobuf-es writes for the message — in one buffer with the 5-byte gRPC prefix. Reading splits a
 * message into its envelopes the same way and decodes each.
 */
import { fromBinary } from "@bufbuild/protobuf";
import type { Envelope } from "../../gen/agentmesh/v1/envelope_pb.js";
import { LinkRequestSchema } from "../../gen/agentmesh/v1/mesh_service_pb.js";
import { decodeEnvelope } from "../protocol/envelope-codec.js";
import { Code, MeshError } from "../protocol/errors.js";
import { varintSize } from "../protocol/proto-writer.js";
import { GRPC_PREFIX_BYTES } from "./grpc-frame.js";

/** The tag of `envelopes` (field 1, length-delimited) in LinkRequest and LinkResponse. */
const ENVELOPES_TAG = 0x0a;

/** Bytes a frame spends on one envelope of `length` bytes: the tag, the length varint, the envelope. */
export function framedSize(length: number): number {
  return 1 + varintSize(length) + length;
}

/** The largest encoded envelope a frame of at most `maxMessageBytes` (a gRPC message) can carry. */
export function maxEnvelopeBytes(maxMessageBytes: number): number {
  return maxMessageBytes - 1 - varintSize(maxMessageBytes);
}

/**
 * The gRPC messages (5-byte prefix included) carrying `envelopes`, encoded envelopes, in order: one message
 * unless they exceed `maxMessageBytes` together. Each envelope must fit alone (see maxEnvelopeBytes).
 */
export function encodeLinkFrames(envelopes: readonly Uint8Array[], maxMessageBytes: number): Buffer[] {
  const frames: Buffer[] = [];
  let first = 0;
  let size = 0;
  for (let i = 0; i < envelopes.length; i++) {
    const add = framedSize(envelopes[i].length);
    if (size + add > maxMessageBytes && i > first) {
      frames.push(encodeFrame(envelopes, first, i, size));
      first = i;
      size = 0;
    }
    size += add;
  }
  frames.push(encodeFrame(envelopes, first, envelopes.length, size));
  return frames;
}

/** One gRPC message of `size` payload bytes holding envelopes[from, to). */
function encodeFrame(envelopes: readonly Uint8Array[], from: number, to: number, size: number): Buffer {
  const out = Buffer.allocUnsafe(GRPC_PREFIX_BYTES + size);
  out[0] = 0;
  out.writeUInt32BE(size, 1);
  let pos = GRPC_PREFIX_BYTES;
  for (let i = from; i < to; i++) {
    const env = envelopes[i];
    out[pos++] = ENVELOPES_TAG;
    let n = env.length;
    while (n > 0x7f) {
      out[pos++] = (n & 0x7f) | 0x80;
      n >>>= 7;
    }
    out[pos++] = n;
    out.set(env, pos);
    pos += env.length;
  }
  return out;
}

/** The envelopes of one LinkRequest or LinkResponse message. Throws INVALID_ARGUMENT for a malformed message. */
export function decodeLinkFrame(message: Uint8Array): Envelope[] {
  const buf = Buffer.isBuffer(message) ? message : Buffer.from(message.buffer, message.byteOffset, message.byteLength);
  const out: Envelope[] = [];
  const end = buf.length;
  let pos = 0;
  while (pos < end) {
    if (buf[pos] !== ENVELOPES_TAG) return decodeGeneral(message); // another field: a newer peer's; protobuf-es skips it
    pos++;
    let length = 0;
    let shift = 0;
    let b: number;
    do {
      if (pos >= end || shift > 28) throw malformed(message.length, "bad envelope length");
      b = buf[pos++];
      length += (b & 0x7f) * 2 ** shift;
      shift += 7;
    } while (b >= 0x80);
    if (pos + length > end) throw malformed(message.length, "envelope runs past the end of the frame");
    out.push(decodeEnvelope(buf, pos, pos + length));
    pos += length;
  }
  return out;
}

/** Decodes a frame with protobuf-es (for frames with fields the fast path does not know). */
function decodeGeneral(message: Uint8Array): Envelope[] {
  try {
    return fromBinary(LinkRequestSchema, new Uint8Array(message)).envelopes; // a copy: views must not pin the chunk
  } catch (err) {
    throw malformed(message.length, err instanceof Error ? err.message : String(err));
  }
}

function malformed(bytes: number, why: string): MeshError {
  return new MeshError(Code.InvalidArgument, `malformed link frame (${bytes} bytes): ${why}`);
}
