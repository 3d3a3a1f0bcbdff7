/**
 * The accepting end of MeshService.Link over plain gRPC, served straight from node:http2's stream event (a raw
 * route of the server, see server.ts): headers at once, then the peer's frames into an InboundLink and the
 * link's batches back, and the status in trailers — OK when either side closed the link in order, the
 * MeshError's code otherwise. Connect and gRPC-Web clients of Link still reach connect-node.
 */
import type * as http2 from "node:http2";
import type { Envelope } from "../../gen/agentmesh/v1/envelope_pb.js";
import type { Clock } from "../protocol/clock.js";
import { Code, MeshError } from "../protocol/errors.js";
import { Channel } from "./async-iter.js";
import type { TransportConfig } from "./config.js";
import { grpcStatusTrailers, listsEncoding, parseGrpcTimeout } from "./grpc-frame.js";
import { RESPOND_AND_END, RESPOND_WITH_TRAILERS } from "./grpc-headers.js";
import type { InboundLink } from "./inbound-link.js";
import { LinkFrameReader, writable, writeLinkFrames } from "./link-stream.js";

/** What serving a Link stream needs from the transport. */
export interface LinkAcceptor {
  /** Limits. */
  readonly config: TransportConfig;
  /** Time source (the grpc-timeout of a stream). */
  readonly clock: Clock;
  /** Registers a new inbound link. */
  accept(): InboundLink<Uint8Array>;
}

/** Serves one plain-gRPC Link stream whose headers arrived; never throws (a stream that is already gone is dropped). */
export function serveLinkStream(acceptor: LinkAcceptor, stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): void {
  // Errors of the stream show as its closing without our trailers; the link then ends with CANCELLED.
  stream.on("error", () => {});
  try {
    serve(acceptor, stream, headers);
  } catch {
    // respond() throws only when the peer already reset the stream: nothing to answer
    stream.destroy();
  }
}

function serve(acceptor: LinkAcceptor, stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): void {
  const config = acceptor.config;
  const encoding = headers["grpc-encoding"] ?? "identity";
  if (encoding !== "identity" && encoding !== "gzip") {
    refuse(stream, new MeshError(Code.Unimplemented, `grpc-encoding ${encoding} is not supported (identity, gzip)`));
    return;
  }
  let timeoutMs: number | undefined;
  try {
    timeoutMs = parseGrpcTimeout(headers["grpc-timeout"]);
  } catch (err) {
    refuse(stream, MeshError.from(err));
    return;
  }
  const gzipOut = listsEncoding(headers["grpc-accept-encoding"], "gzip");
  stream.respond(
    { ":status": 200, "content-type": "application/grpc", "grpc-accept-encoding": "identity,gzip", ...(gzipOut ? { "grpc-encoding": "gzip" } : {}) },
    RESPOND_WITH_TRAILERS,
  );

  const incoming = new Channel<Envelope[]>();
  const reader = new LinkFrameReader(config.maxMessageBytes, encoding === "gzip");
  const abort = new AbortController();
  let failure: MeshError | undefined;
  let done = false;
  const fail = (err: MeshError) => {
    if (done) return;
    failure ??= err;
    incoming.fail(err);
    abort.abort(err);
  };
  stream.on("data", (chunk: Buffer) => {
    try {
      for (const batch of reader.push(chunk)) incoming.push(batch);
    } catch (err) {
      fail(MeshError.from(err));
    }
  });
  stream.on("end", () => {
    if (reader.pendingBytes > 0) fail(new MeshError(Code.Internal, `the peer ended the link inside a frame (${reader.pendingBytes} bytes of it received)`));
    else incoming.end();
  });
  stream.on("close", () => fail(new MeshError(Code.Canceled, "the peer reset the link's stream")));
  stream.on("wantTrailers", () => {
    try {
      stream.sendTrailers(grpcStatusTrailers(failure?.code ?? 0, failure?.message));
    } catch {
      // the stream was reset meanwhile
    }
  });
  const deadline =
    timeoutMs === undefined ? undefined : acceptor.clock.setTimeout(() => fail(new MeshError(Code.DeadlineExceeded, `the link's grpc-timeout of ${timeoutMs} ms passed`)), timeoutMs);

  const link = acceptor.accept();
  void writeLinkFrames(stream, link.serve(incoming, abort.signal), { maxMessageBytes: config.maxMessageBytes, gzip: gzipOut, compressMinBytes: config.compressMinBytes })
    .catch((err: unknown) => {
      failure ??= MeshError.from(err);
    })
    .finally(() => {
      done = true;
      deadline?.cancel();
      if (writable(stream)) stream.end();
    });
}

/** Ends a stream at once with `err` as its status (a trailers-only response). */
function refuse(stream: http2.ServerHttp2Stream, err: MeshError): void {
  stream.respond({ ":status": 200, "content-type": "application/grpc", ...grpcStatusTrailers(err.code, err.message) }, RESPOND_AND_END);
}
