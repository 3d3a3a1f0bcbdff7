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
import type { FrameSource } from "./link-base.js";
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
 * the stream's buffer is full. Resolves when `outgoing` ends or the stream can no longer be written to; rejects
 * when `outgoing` fails. A link's FrameSource is written from its wake-up callback, with no promise per frame
 * (gzip excepted: compressing is asynchronous).
 */
export function writeLinkFrames(stream: http2.Http2Stream, outgoing: AsyncIterable<Uint8Array[]> | FrameSource<Uint8Array>, options: LinkWriteOptions): Promise<void> {
  if (!options.gzip && isFrameSource(outgoing)) return pumpLinkFrames(stream, outgoing, options.maxMessageBytes);
  return iterateLinkFrames(stream, outgoing, options);
}

function isFrameSource<Q>(x: AsyncIterable<Q[]> | FrameSource<Q>): x is FrameSource<Q> {
  return typeof (x as Partial<FrameSource<Q>>).poll === "function";
}

/**
 * Writes the frames of `source` as they come: everything it has is written at once; when it has nothing it is
 * asked to call back (the link's wake-up, see link-base.ts); when the stream's buffer is full, the frames left
 * wait for 'drain'.
 */
function pumpLinkFrames(stream: http2.Http2Stream, source: FrameSource<Uint8Array>, maxMessageBytes: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let finished = false;
    /** Frames of the current batch not yet written (the stream's buffer was full). */
    let pending: Buffer[] | undefined;
    let next = 0;
    const finish = (err?: unknown) => {
      if (finished) return;
      finished = true;
      stream.off("drain", flush);
      stream.off("close", onClose);
      source.done();
      if (err === undefined) resolve();
      else reject(err);
    };
    const onClose = () => finish();
    /** Writes frames until the source has none (it calls back) or the stream's buffer is full ('drain' does). */
    function flush(): void {
      if (finished) return;
      try {
        for (;;) {
          if (!writable(stream)) return finish();
          if (pending !== undefined) {
            const frames = pending;
            while (next < frames.length) {
              const ok = stream.write(frames[next++]);
              if (!writable(stream)) return finish();
              if (!ok) break;
            }
            if (next < frames.length) return;
            pending = undefined;
          }
          if (stream.writableNeedDrain) return;
          const batch = source.poll();
          if (batch === null) return finish();
          if (batch === undefined) return source.notify(flush);
          pending = encodeLinkFrames(batch, maxMessageBytes);
          next = 0;
        }
      } catch (err) {
        finish(err);
      }
    }
    stream.on("drain", flush);
    stream.on("close", onClose);
    flush();
  });
}

/** writeLinkFrames for any async iterable of batches, and with gzip. */
async function iterateLinkFrames(stream: http2.Http2Stream, outgoing: AsyncIterable<Uint8Array[]>, options: LinkWriteOptions): Promise<void> {
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
