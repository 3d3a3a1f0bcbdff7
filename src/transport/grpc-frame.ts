/**
 * Plain gRPC over HTTP/2, the parts the raw routes and raw clients share: the length-prefixed message framing
 * (a 5-byte prefix: a compressed flag and a big-endian length), the `grpc-timeout` header, and the status
 * trailers (`grpc-status`, percent-encoded `grpc-message`), as the gRPC over HTTP/2 protocol document defines them.
 */
import { Code, MeshError } from "../protocol/errors.js";

/** Bytes of the prefix in front of every gRPC message. */
export const GRPC_PREFIX_BYTES = 5;

/** One message with its 5-byte prefix (not compressed), in one buffer ready to write. */
export function encodeGrpcMessage(payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(GRPC_PREFIX_BYTES + payload.length);
  out[0] = 0;
  out.writeUInt32BE(payload.length, 1);
  out.set(payload, GRPC_PREFIX_BYTES);
  return out;
}

/**
 * Splits a stream of DATA chunks into gRPC messages. Messages larger than `maxMessageBytes` are refused with
 * RESOURCE_EXHAUSTED. Compressed messages go through `decompress` when an encoding was negotiated; without
 * one they are refused with INTERNAL, as the protocol asks.
 */
export class GrpcMessageReader {
  private readonly chunks: Buffer[] = [];
  private buffered = 0;
  private expected = -1;
  private compressed = false;

  /** Creates a reader refusing messages over `maxMessageBytes`; `decompress` undoes the negotiated encoding. */
  constructor(
    private readonly maxMessageBytes: number,
    private readonly decompress?: (message: Uint8Array) => Uint8Array,
  ) {}

  /** Bytes received that do not yet make a whole message (non-zero at end of stream = truncated message). */
  get pendingBytes(): number {
    return this.buffered;
  }

  /** Adds a chunk; returns the messages it completes, in order (often none or one). Throws MeshError on bad input. */
  push(chunk: Buffer): Uint8Array[] {
    const out: Uint8Array[] = [];
    // The common case: one chunk holds exactly whole messages and nothing is buffered.
    let input = chunk;
    if (this.buffered > 0) {
      this.chunks.push(chunk);
      input = Buffer.concat(this.chunks, this.buffered + chunk.length);
      this.chunks.length = 0;
      this.buffered = 0;
    }
    let at = 0;
    while (input.length - at >= GRPC_PREFIX_BYTES) {
      if (this.expected < 0) {
        this.compressed = input[at] !== 0;
        if (this.compressed && this.decompress === undefined) {
          throw new MeshError(Code.Internal, "received a compressed gRPC message, but no message encoding was negotiated");
        }
        const length = input.readUInt32BE(at + 1);
        if (length > this.maxMessageBytes) {
          throw new MeshError(Code.ResourceExhausted, `received a message of ${length} bytes; the limit is ${this.maxMessageBytes}`);
        }
        this.expected = length;
      }
      if (input.length - at - GRPC_PREFIX_BYTES < this.expected) break;
      const start = at + GRPC_PREFIX_BYTES;
      const message = input.subarray(start, start + this.expected);
      out.push(this.compressed && this.decompress !== undefined ? this.decompress(message) : message);
      at = start + this.expected;
      this.expected = -1;
    }
    if (at < input.length) {
      const rest = input.subarray(at);
      this.chunks.push(rest);
      this.buffered = rest.length;
    }
    return out;
  }
}

const TIMEOUT_UNIT_MS: Readonly<Record<string, number>> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000001 };

/**
 * The `grpc-timeout` header ("<up to 8 digits><H|M|S|m|u|n>") in milliseconds; undefined when absent.
 * Throws INVALID_ARGUMENT for a malformed value.
 */
export function parseGrpcTimeout(value: string | string[] | undefined): number | undefined {
  if (value === undefined) return undefined;
  const text = Array.isArray(value) ? value[0] ?? "" : value;
  const match = /^(\d{1,8})([HMSmun])$/.exec(text);
  if (match === null) throw new MeshError(Code.InvalidArgument, `malformed grpc-timeout header: ${JSON.stringify(text)}`);
  return Number(match[1]) * (TIMEOUT_UNIT_MS[match[2] as string] as number);
}

/** A timeout in ms as a `grpc-timeout` header value (whole milliseconds, at most 8 digits). */
export function formatGrpcTimeout(ms: number): string {
  const whole = Math.max(0, Math.ceil(ms));
  return whole < 100_000_000 ? `${whole}m` : `${Math.min(99_999_999, Math.ceil(whole / 1000))}S`;
}

/** Percent-encodes a status message: bytes outside printable ASCII, and "%", become %XX (UTF-8). */
export function encodeGrpcMessageHeader(message: string): string {
  if (/^[\x20-\x24\x26-\x7e]*$/.test(message)) return message;
  let out = "";
  for (const byte of Buffer.from(message, "utf8")) {
    out += byte >= 0x20 && byte <= 0x7e && byte !== 0x25 ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/** Decodes a percent-encoded `grpc-message` value (malformed escapes are kept as they are). */
export function decodeGrpcMessageHeader(value: string | string[] | undefined): string {
  const text = Array.isArray(value) ? value.join(",") : value ?? "";
  if (!text.includes("%")) return text;
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const hex = text.slice(i + 1, i + 3);
    if (text[i] === "%" && /^[0-9a-fA-F]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else {
      for (const b of Buffer.from(text[i] as string, "utf8")) bytes.push(b);
    }
  }
  return Buffer.from(bytes).toString("utf8");
}

/** The trailers that end a gRPC response with `code` (and `message` when not OK). */
export function grpcStatusTrailers(code: Code | 0, message = ""): Record<string, string> {
  return code === 0 || message === "" ? { "grpc-status": String(code) } : { "grpc-status": String(code), "grpc-message": encodeGrpcMessageHeader(message) };
}

/** The error a response's `grpc-status`/`grpc-message` describe, or undefined for status 0 (OK). */
export function statusFromTrailers(status: string | string[] | undefined, message: string | string[] | undefined): MeshError | undefined {
  const text = Array.isArray(status) ? status[0] : status;
  if (text === "0") return undefined;
  if (text === undefined) return new MeshError(Code.Internal, "the response ended without a grpc-status");
  const code = Number(text);
  const known = Number.isInteger(code) && code > 0 && code <= 16;
  return new MeshError(known ? (code as Code) : Code.Unknown, decodeGrpcMessageHeader(message) || `gRPC status ${text}`);
}

/** The error an HTTP status other than 200 stands for on a gRPC response (the gRPC HTTP-to-status mapping). */
export function statusFromHttp(status: number): MeshError {
  const code =
    status === 400 ? Code.Internal
    : status === 401 ? Code.Unauthenticated
    : status === 403 ? Code.PermissionDenied
    : status === 404 ? Code.Unimplemented
    : status === 429 || status === 502 || status === 503 || status === 504 ? Code.Unavailable
    : Code.Unknown;
  return new MeshError(code, `HTTP status ${status} instead of a gRPC response`);
}

/** HTTP/2 RST_STREAM codes that map to a gRPC status other than INTERNAL (the gRPC mapping). */
const RST_STATUS: Readonly<Record<number, Code>> = { 7: Code.Unavailable, 8: Code.Canceled, 11: Code.ResourceExhausted, 12: Code.PermissionDenied };

/** The error a stream reset with HTTP/2 error `rstCode` stands for (REFUSED_STREAM → UNAVAILABLE, CANCEL → CANCELLED, …). */
export function statusFromRstCode(rstCode: number, what: string): MeshError {
  return new MeshError(RST_STATUS[rstCode] ?? Code.Internal, `${what} was reset by the peer (HTTP/2 error ${rstCode})`);
}

/** True when the `grpc-accept-encoding` (or `grpc-encoding`) header value lists `encoding`. */
export function listsEncoding(header: string | string[] | undefined, encoding: string): boolean {
  if (header === undefined) return false;
  const text = Array.isArray(header) ? header.join(",") : header;
  return text.split(",").some((e) => e.trim().toLowerCase() === encoding);
}
