/**
 * Reading and writing Link frames on a raw node:http2 stream, for both ends (link-client.ts dials,
 * link-server.ts accepts): DATA chunks become batches of decoded envelopes; batches of encoded envelopes become
 * gRPC messages written with backpressure (the writer waits for 'drain', so a slow peer makes envelopes wait in
 * the link's bounded queue). gzip is supported in both directions when negotiated; nothing else is.
 */
import type * as http2 from "node:http2";
import { promisify } from "node:util";
import * as zlib from "node:zlib";
import type { Envelope } from "../../gen/agentmesh/v1/envelope_pb.js";
import { Code, MeshError } from "../protocol/errors.js";
import { GRPC_PREFIX_BYTES, GrpcMessageReader } from "./grpc-frame.js";
import { decodeLinkFrame, encodeLinkFrames } from "./link-frame.js";

/** The path of MeshService.Link. */
export const LINK_PATH = "/agentmesh.v1.MeshService/Link";

const gzip = promisify(zlib.gzip);

/** A decompressor for gzip messages that refuses output over `maxBytes` with RESOURCE_EXHAUSTED. */
function gunzipUpTo(maxBytes: number): (message: Uint8Array) => Uint8Array {
  return (message) => {
    try {
      return zlib.gunzipSync(message, { maxOutputLength: maxBytes });
    } catch (err) {
      if (err instanceof RangeError || (err as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE") {
        throw new MeshError(Code.ResourceExhausted, `received a compressed message of more than ${maxBytes} bytes`);
      }
      throw new MeshError(Code.Internal, `cannot decompress a gzip message: ${(err as Error).message}`);
    }
  };
}

/** Turns the DATA chunks of a Link stream into batches of envelopes. */
export class LinkFrameReader {
  private readonly messages: GrpcMessageReader;

  /** A reader refusing frames over `maxMessageBytes`; with `gzip`, compressed frames are gzip. */
  constructor(maxMessageBytes: number, gzip: boolean) {
    this.messages = new GrpcMessageReader(maxMessageBytes, gzip ? gunzipUpTo(maxMessageBytes) : undefined);
  }

  /** Bytes of an incomplete frame held (non-zero at the end of the stream: a truncated frame). */
  get pendingBytes(): number {
    return this.messages.pendingBytes;
  }

  /** The batches `chunk` completes, in order (usually one). Throws a MeshError for a malformed frame. */
  push(chunk: Buffer): Envelope[][] {
    const messages = this.messages.push(chunk);
    if (messages.length === 1) return [decodeLinkFrame(messages[0])];
    return messages.map(decodeLinkFrame);
  }
}

/** Options of writeLinkFrames. */
export interface LinkWriteOptions {
  /** Largest gRPC message to write, bytes (a batch larger than this is split). */
  maxMessageBytes: number;
  /** gzip frames of at least `compressMinBytes` (the peer accepts gzip and compression is wanted). */
  gzip: boolean;
  /** Smallest frame worth compressing, bytes. */
  compressMinBytes: number;
}

/**
 * Writes every batch of `outgoing` (encoded envelopes) to `stream` as Link frames, waiting for 'drain' when
 * the stream's buffer is full. Resolves when `outgoing` ends or the stream can no longer be written to.
 */
export async function writeLinkFrames(stream: http2.Http2Stream, outgoing: AsyncIterable<Uint8Array[]>, options: LinkWriteOptions): Promise<void> {
  // One 'drain' and one 'close' listener for the stream's life (adding and removing them per full buffer cost more).
  let wake: ((writable: boolean) => void) | undefined;
  const onDrain = () => {
    const w = wake;
    wake = undefined;
    w?.(true);
  };
  const onClose = () => {
    const w = wake;
    wake = undefined;
    w?.(false);
  };
  stream.on("drain", onDrain);
  stream.on("close", onClose);
  try {
    for await (const batch of outgoing) {
      for (let frame of encodeLinkFrames(batch, options.maxMessageBytes)) {
        if (options.gzip && frame.length - GRPC_PREFIX_BYTES >= options.compressMinBytes) frame = await gzipFrame(frame);
        if (!writable(stream)) return;
        if (!stream.write(frame) && !(await new Promise<boolean>((resolve) => (wake = resolve)))) return;
      }
    }
  } finally {
    stream.off("drain", onDrain);
    stream.off("close", onClose);
  }
}

/** True while data can still be written to `stream`. */
export function writable(stream: http2.Http2Stream): boolean {
  return !stream.destroyed && !stream.closed && !stream.writableEnded;
}

/** A frame with its payload gzipped and the compressed flag set. */
async function gzipFrame(frame: Buffer): Promise<Buffer> {
  const packed = await gzip(frame.subarray(GRPC_PREFIX_BYTES));
  const out = Buffer.allocUnsafe(GRPC_PREFIX_BYTES + packed.length);
  out[0] = 1;
  out.writeUInt32BE(packed.length, 1);
  packed.copy(out, GRPC_PREFIX_BYTES);
  return out;
}
