import { describe, expect, it } from "vitest";
import { Code, MeshError } from "../../src/protocol/errors.js";
import {
  decodeGrpcMessageHeader,
  encodeGrpcMessage,
  encodeGrpcMessageHeader,
  formatGrpcTimeout,
  GrpcMessageReader,
  grpcStatusTrailers,
  listsEncoding,
  parseGrpcTimeout,
  statusFromHttp,
  statusFromRstCode,
  statusFromTrailers,
} from "../../src/transport/grpc-frame.js";

const bytes = (...values: number[]): Uint8Array => Uint8Array.from(values);

describe("gRPC framing", () => {
  it("prefixes a message with a zero flag and its big-endian length", () => {
    expect([...encodeGrpcMessage(bytes(7, 8, 9))]).toEqual([0, 0, 0, 0, 3, 7, 8, 9]);
    expect([...encodeGrpcMessage(new Uint8Array(0))]).toEqual([0, 0, 0, 0, 0]);
  });

  it("reads messages split at every byte boundary and several per chunk", () => {
    const wire = Buffer.concat([encodeGrpcMessage(bytes(1, 2, 3)), encodeGrpcMessage(new Uint8Array(0)), encodeGrpcMessage(bytes(4))]);
    for (let cut = 0; cut <= wire.length; cut++) {
      const reader = new GrpcMessageReader(100);
      const got = [...reader.push(wire.subarray(0, cut)), ...reader.push(wire.subarray(cut))].map((m) => [...m]);
      expect(got).toEqual([[1, 2, 3], [], [4]]);
      expect(reader.pendingBytes).toBe(0);
    }
    const byteWise = new GrpcMessageReader(100);
    const got: number[][] = [];
    for (const b of wire) got.push(...byteWise.push(Buffer.from([b])).map((m) => [...m]));
    expect(got).toEqual([[1, 2, 3], [], [4]]);
  });

  it("keeps a truncated message pending", () => {
    const reader = new GrpcMessageReader(100);
    expect(reader.push(encodeGrpcMessage(bytes(1, 2, 3)).subarray(0, 6))).toEqual([]);
    expect(reader.pendingBytes).toBe(6);
  });

  it("refuses messages over the limit and compressed messages", () => {
    const big = new GrpcMessageReader(2);
    expect(() => big.push(encodeGrpcMessage(bytes(1, 2, 3)))).toThrowError(expect.objectContaining({ code: Code.ResourceExhausted }));
    const compressed = Buffer.from([1, 0, 0, 0, 1, 5]);
    expect(() => new GrpcMessageReader(10).push(compressed)).toThrowError(expect.objectContaining({ code: Code.Internal }));
  });
});

describe("compressed messages", () => {
  it("go through the negotiated decompressor; uncompressed ones do not", () => {
    const reader = new GrpcMessageReader(100, (m) => Uint8Array.from([...m].reverse()));
    const wire = Buffer.concat([Buffer.from([1, 0, 0, 0, 3, 1, 2, 3]), encodeGrpcMessage(bytes(4, 5))]);
    for (let cut = 0; cut <= wire.length; cut++) {
      const r = new GrpcMessageReader(100, (m) => Uint8Array.from([...m].reverse()));
      expect([...r.push(wire.subarray(0, cut)), ...r.push(wire.subarray(cut))].map((m) => [...m])).toEqual([[3, 2, 1], [4, 5]]);
    }
    expect(reader.push(wire).length).toBe(2);
  });
});

describe("grpc-timeout", () => {
  it("parses every unit and formats milliseconds", () => {
    expect(parseGrpcTimeout(undefined)).toBeUndefined();
    expect(parseGrpcTimeout("2H")).toBe(7_200_000);
    expect(parseGrpcTimeout("3M")).toBe(180_000);
    expect(parseGrpcTimeout("5S")).toBe(5000);
    expect(parseGrpcTimeout("250m")).toBe(250);
    expect(parseGrpcTimeout("1500u")).toBe(1.5);
    expect(parseGrpcTimeout("2000000n")).toBe(2);
    expect(formatGrpcTimeout(1234.2)).toBe("1235m");
    expect(parseGrpcTimeout(formatGrpcTimeout(10 ** 9))).toBeGreaterThanOrEqual(10 ** 9);
  });

  it("rejects malformed values with INVALID_ARGUMENT", () => {
    for (const bad of ["", "10", "m", "123456789m", "1x", "-1S"]) {
      expect(() => parseGrpcTimeout(bad)).toThrowError(expect.objectContaining({ code: Code.InvalidArgument }));
    }
  });
});

describe("statuses without trailers", () => {
  it("map HTTP statuses as gRPC does", () => {
    expect(statusFromHttp(400).code).toBe(Code.Internal);
    expect(statusFromHttp(401).code).toBe(Code.Unauthenticated);
    expect(statusFromHttp(403).code).toBe(Code.PermissionDenied);
    expect(statusFromHttp(404).code).toBe(Code.Unimplemented);
    for (const s of [429, 502, 503, 504]) expect(statusFromHttp(s).code).toBe(Code.Unavailable);
    expect(statusFromHttp(500).code).toBe(Code.Unknown);
    expect(statusFromHttp(302).message).toContain("302");
  });

  it("map RST_STREAM codes as gRPC does", () => {
    expect(statusFromRstCode(7, "s").code).toBe(Code.Unavailable);
    expect(statusFromRstCode(8, "s").code).toBe(Code.Canceled);
    expect(statusFromRstCode(11, "s").code).toBe(Code.ResourceExhausted);
    expect(statusFromRstCode(12, "s").code).toBe(Code.PermissionDenied);
    for (const c of [1, 2, 3, 4, 6, 9, 10]) expect(statusFromRstCode(c, "s").code).toBe(Code.Internal);
    expect(statusFromRstCode(2, "the stream").message).toContain("the stream");
  });

  it("find an encoding in an accept list", () => {
    expect(listsEncoding("identity, deflate,GZIP", "gzip")).toBe(true);
    expect(listsEncoding(["identity", "gzip"], "gzip")).toBe(true);
    expect(listsEncoding("identity", "gzip")).toBe(false);
    expect(listsEncoding(undefined, "gzip")).toBe(false);
  });
});

describe("status trailers", () => {
  it("percent-encodes non-ASCII and % and decodes back", () => {
    const message = "capacité 100% — full";
    const encoded = encodeGrpcMessageHeader(message);
    expect(encoded).toMatch(/^[\x20-\x7e]*$/);
    expect(encoded).not.toContain("é");
    expect(decodeGrpcMessageHeader(encoded)).toBe(message);
    expect(encodeGrpcMessageHeader("plain text")).toBe("plain text");
  });

  it("round-trips a status through trailers", () => {
    expect(grpcStatusTrailers(0)).toEqual({ "grpc-status": "0" });
    const t = grpcStatusTrailers(Code.NotFound, "no agent has capability \"x\"");
    const err = statusFromTrailers(t["grpc-status"], t["grpc-message"]);
    expect(err).toBeInstanceOf(MeshError);
    expect(err?.code).toBe(Code.NotFound);
    expect(err?.message).toBe('no agent has capability "x"');
    expect(statusFromTrailers("0", undefined)).toBeUndefined();
    expect(statusFromTrailers(undefined, undefined)?.code).toBe(Code.Internal);
    expect(statusFromTrailers("99", undefined)?.code).toBe(Code.Unknown);
  });
});
