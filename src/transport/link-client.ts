/**
 * The dialing end of MeshService.Link over plain gRPC with raw node:http2: one POST stream on the peer's
 * connection (peer-session.ts), the link's batches written as frames, the peer's frames read back. The stream
 * ends as gRPC says: trailers with grpc-status 0 end the received frames; a non-zero status, a trailers-only
 * response, an HTTP status other than 200, a reset (RST_STREAM), GOAWAY or a connection error fail them with a
 * MeshError of the matching code, and the link reconnects (outbound-link.ts).
 */
import * as http2 from "node:http2";
import type { Envelope } from "../../gen/agentmesh/v1/envelope_pb.js";
import type { Clock } from "../protocol/clock.js";
import { Code, MeshError } from "../protocol/errors.js";
import { Channel } from "./async-iter.js";
import type { TransportConfig } from "./config.js";
import type { Dialer } from "./dialer.js";
import { listsEncoding, statusFromHttp, statusFromRstCode, statusFromTrailers } from "./grpc-frame.js";
import { LINK_PATH, LinkFrameReader, writable, writeLinkFrames } from "./link-stream.js";
import type { PeerSession } from "./peer-session.js";

/** The dialer of Link streams over `session`. */
export function linkDialer(session: PeerSession, config: TransportConfig, clock: Clock): Dialer<Uint8Array> {
  const headers: http2.OutgoingHttpHeaders = {
    ":method": "POST",
    ":path": LINK_PATH,
    "content-type": "application/grpc",
    te: "trailers",
    "user-agent": "agent-mesh",
    // Without compressLinks, accept no compression: the peer then sends frames as they are.
    "grpc-accept-encoding": config.compressLinks ? "identity,gzip" : "identity",
  };
  return (outgoing, signal) => {
    const incoming = new Channel<Envelope[]>();
    let connection: http2.ClientHttp2Session;
    let stream: http2.ClientHttp2Stream;
    try {
      if (signal.aborted) throw new MeshError(Code.Canceled, `link to ${session.address} cancelled`);
      connection = session.get();
      stream = connection.request(headers, { endStream: false });
    } catch (err) {
      incoming.fail(MeshError.from(err, Code.Unavailable));
      return incoming;
    }
    const what = `the link stream to ${session.address}`;
    let reader: LinkFrameReader | undefined;
    let status: MeshError | null | undefined; // null: OK; undefined: not known yet
    let streamError: Error | undefined;
    let finished = false;
    const finish = (err: MeshError | undefined) => {
      if (finished) return;
      finished = true;
      dialTimer.cancel();
      signal.removeEventListener("abort", onAbort);
      if (err === undefined) incoming.end();
      else incoming.fail(err);
      // The peer ended its side (or failed): end ours too, so the stream and its resources go.
      if (!stream.closed && !stream.destroyed) stream.close(err === undefined ? http2.constants.NGHTTP2_NO_ERROR : http2.constants.NGHTTP2_CANCEL);
    };
    const onAbort = () => finish(new MeshError(Code.Canceled, `${what} was cancelled`));
    signal.addEventListener("abort", onAbort, { once: true });
    const dialTimer = clock.setTimeout(() => {
      session.abandonIfConnecting();
      finish(new MeshError(Code.Unavailable, `${session.address} did not answer within ${config.dialTimeoutMs} ms`));
    }, config.dialTimeoutMs);
    /** Why the stream closed when no status arrived: the connection's failure, the peer's reset, or neither. */
    const closedWithoutStatus = (): MeshError => {
      const code = (streamError as NodeJS.ErrnoException | undefined)?.code;
      const rst = stream.rstCode ?? http2.constants.NGHTTP2_NO_ERROR;
      if (code === "ERR_HTTP2_STREAM_ERROR" && rst !== http2.constants.NGHTTP2_NO_ERROR) return statusFromRstCode(rst, what);
      if (streamError !== undefined) {
        const cause = streamError instanceof MeshError ? streamError : streamError.cause;
        if (cause instanceof MeshError) return new MeshError(cause.code, `${what} failed: ${cause.message}`, { cause });
        const why = (cause as NodeJS.ErrnoException | undefined)?.code ?? (cause as Error | undefined)?.message ?? code ?? streamError.message;
        return new MeshError(Code.Unavailable, `${what} failed: ${why}`, { cause: streamError });
      }
      if (connection.destroyed) return new MeshError(Code.Unavailable, `the connection to ${session.address} closed`);
      if (rst !== http2.constants.NGHTTP2_NO_ERROR) return statusFromRstCode(rst, what);
      return new MeshError(Code.Internal, `${what} ended without a grpc-status`);
    };

    stream.on("response", (h) => {
      dialTimer.cancel();
      const httpStatus = Number(h[":status"]);
      if (httpStatus !== 200) return finish(statusFromHttp(httpStatus));
      if (!String(h["content-type"] ?? "").startsWith("application/grpc")) {
        return finish(new MeshError(Code.Unknown, `${what}: content-type ${String(h["content-type"])} is not gRPC`));
      }
      if (h["grpc-status"] !== undefined) {
        // Trailers-only: the whole answer is this status.
        status = statusFromTrailers(h["grpc-status"], h["grpc-message"]) ?? null;
        return finish(status ?? undefined);
      }
      const encoding = h["grpc-encoding"] ?? "identity";
      if (encoding !== "identity" && !(encoding === "gzip" && listsEncoding(headers["grpc-accept-encoding"] as string, "gzip"))) {
        return finish(new MeshError(Code.Internal, `${what}: the peer sends grpc-encoding ${String(encoding)}, which was not offered`));
      }
      reader = new LinkFrameReader(config.maxMessageBytes, encoding === "gzip");
    });
    stream.on("data", (chunk: Buffer) => {
      if (finished) return;
      if (reader === undefined) return finish(new MeshError(Code.Internal, `${what}: data before the response headers`));
      try {
        for (const batch of reader.push(chunk)) incoming.push(batch);
      } catch (err) {
        finish(MeshError.from(err));
      }
    });
    stream.on("trailers", (t) => {
      status = statusFromTrailers(t["grpc-status"], t["grpc-message"]) ?? null;
    });
    stream.on("end", () => {
      // No status yet: a reset may be what ended it, and that shows only on 'close' (just after).
      if (status === undefined) return void setImmediate(() => finish(closedWithoutStatus()));
      if (status === null && reader !== undefined && reader.pendingBytes > 0) {
        return finish(new MeshError(Code.Internal, `${what} ended inside a frame (${reader.pendingBytes} bytes of it received)`));
      }
      finish(status ?? undefined);
    });
    stream.on("error", (err) => {
      streamError = err;
    });
    stream.on("close", () => finish(status === undefined ? closedWithoutStatus() : (status ?? undefined)));

    void writeLinkFrames(stream, outgoing, { maxMessageBytes: config.maxMessageBytes, gzip: false, compressMinBytes: config.compressMinBytes })
      .then(() => {
        if (writable(stream)) stream.end();
      })
      .catch((err: unknown) => finish(MeshError.from(err)));
    return incoming;
  };
}
