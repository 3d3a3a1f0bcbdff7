import { ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { Code, codeName, MeshError } from "../../src/protocol/errors.js";

describe("codeName", () => {
  it.each([
    [Code.Canceled, "CANCELLED"],
    [Code.Unknown, "UNKNOWN"],
    [Code.InvalidArgument, "INVALID_ARGUMENT"],
    [Code.DeadlineExceeded, "DEADLINE_EXCEEDED"],
    [Code.NotFound, "NOT_FOUND"],
    [Code.AlreadyExists, "ALREADY_EXISTS"],
    [Code.PermissionDenied, "PERMISSION_DENIED"],
    [Code.ResourceExhausted, "RESOURCE_EXHAUSTED"],
    [Code.FailedPrecondition, "FAILED_PRECONDITION"],
    [Code.Aborted, "ABORTED"],
    [Code.OutOfRange, "OUT_OF_RANGE"],
    [Code.Unimplemented, "UNIMPLEMENTED"],
    [Code.Internal, "INTERNAL"],
    [Code.Unavailable, "UNAVAILABLE"],
    [Code.DataLoss, "DATA_LOSS"],
    [Code.Unauthenticated, "UNAUTHENTICATED"],
    [99 as Code, "CODE_99"],
  ])("code %i is %s (the canonical gRPC name)", (code, name) => {
    expect(codeName(code)).toBe(name);
  });

  it("is what MeshError.codeName says", () => {
    expect(new MeshError(Code.ResourceExhausted, "full").codeName).toBe("RESOURCE_EXHAUSTED");
  });
});

describe("MeshError", () => {
  it.each([
    [Code.Unavailable, true],
    [Code.Aborted, true],
    [Code.NotFound, false],
    [Code.DeadlineExceeded, false],
    [Code.Internal, false],
    [Code.ResourceExhausted, false],
  ])("code %i is retryable by default: %s", (code, retryable) => {
    expect(new MeshError(code, "x").retryable).toBe(retryable);
  });

  it("lets the thrower choose retryable", () => {
    expect(new MeshError(Code.ResourceExhausted, "queue full", { retryable: true }).retryable).toBe(true);
    expect(new MeshError(Code.Unavailable, "gone for good", { retryable: false }).retryable).toBe(false);
  });

  it("is an Error with its name, message and cause", () => {
    const cause = new Error("root");
    const e = new MeshError(Code.NotFound, "agent x is not known", { cause });
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe("MeshError");
    expect(e.message).toBe("agent x is not known");
    expect(e.cause).toBe(cause);
  });
});

describe("MeshError.from", () => {
  it("returns a MeshError unchanged", () => {
    const e = new MeshError(Code.PermissionDenied, "no");
    expect(MeshError.from(e)).toBe(e);
  });

  it("keeps a ConnectError's code and raw message", () => {
    const e = MeshError.from(new ConnectError("capability x is unknown", Code.NotFound));
    expect(e.code).toBe(Code.NotFound);
    expect(e.message).toBe("capability x is unknown");
    expect(e.cause).toBeInstanceOf(ConnectError);
  });

  it("turns an AbortError into CANCELLED", () => {
    const abort = new AbortController();
    abort.abort();
    const reason = abort.signal.reason as Error;
    expect(reason.name).toBe("AbortError");
    expect(MeshError.from(reason).code).toBe(Code.Canceled);
  });

  it.each([
    ["an Error, by default", new Error("boom"), undefined, Code.Internal, "boom"],
    ["an Error, with a fallback", new TypeError("bad type"), Code.Unknown, Code.Unknown, "bad type"],
    ["a string", "plain text", undefined, Code.Internal, "plain text"],
    ["a number", 42, Code.Unavailable, Code.Unavailable, "42"],
    ["undefined", undefined, undefined, Code.Internal, "undefined"],
  ])("wraps %s", (_what, thrown, fallback, code, message) => {
    const e = MeshError.from(thrown, fallback);
    expect(e).toBeInstanceOf(MeshError);
    expect(e.code).toBe(code);
    expect(e.message).toBe(message);
  });
});

describe("failure round trip", () => {
  it.each([
    new MeshError(Code.NotFound, "no agent can handle capability \"ocr\""),
    new MeshError(Code.Unavailable, "agent b unreachable"),
    new MeshError(Code.ResourceExhausted, "queue full", { retryable: true }),
    new MeshError(Code.Unavailable, "stopped", { retryable: false }),
  ])("keeps code, message and retryable: $message", (e) => {
    const back = MeshError.fromFailure(e.toFailure());
    expect(back.code).toBe(e.code);
    expect(back.message).toBe(e.message);
    expect(back.retryable).toBe(e.retryable);
  });

  it("maps an unknown wire code to UNKNOWN", () => {
    const failure = new MeshError(Code.Internal, "x").toFailure();
    failure.code = 0;
    expect(MeshError.fromFailure(failure).code).toBe(Code.Unknown);
    failure.code = 77;
    expect(MeshError.fromFailure(failure).code).toBe(Code.Unknown);
  });

  it("becomes a ConnectError with the same code for clients", () => {
    const c = new MeshError(Code.InvalidArgument, "capability: must not be empty").toConnectError();
    expect(c).toBeInstanceOf(ConnectError);
    expect(c.code).toBe(Code.InvalidArgument);
    expect(c.rawMessage).toBe("capability: must not be empty");
  });
});
