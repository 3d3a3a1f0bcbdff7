/**
 * The one error type of agent-mesh. Every failure that crosses a layer or the API boundary is a
 * MeshError with a gRPC status code; `retryable` tells callers (retries, reassignment) whether the same
 * request may succeed elsewhere or later.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { create } from "@bufbuild/protobuf";
import { FailureSchema, type Failure } from "../../gen/agentmesh/v1/payload_pb.js";

export { Code };

/** Codes that are retryable unless a MeshError says otherwise. */
const RETRYABLE_CODES: ReadonlySet<Code> = new Set([Code.Unavailable, Code.Aborted]);

/** Options of a MeshError. */
export interface MeshErrorOptions {
  /** Whether retrying may succeed; default: true for UNAVAILABLE and ABORTED. */
  retryable?: boolean;
  /** The underlying error. */
  cause?: unknown;
}

/** An error with a gRPC status code: the only error type agent-mesh throws. */
export class MeshError extends Error {
  /** The gRPC status code. */
  readonly code: Code;
  /** True when the same request may succeed if retried. */
  readonly retryable: boolean;

  /** Creates an error with a code and a message that names the offending field, capability or agent. */
  constructor(code: Code, message: string, options: MeshErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "MeshError";
    this.code = code;
    this.retryable = options.retryable ?? RETRYABLE_CODES.has(code);
  }

  /** Normalises anything thrown into a MeshError (ConnectErrors keep their code; others become INTERNAL). */
  static from(err: unknown, fallback: Code = Code.Internal): MeshError {
    if (err instanceof MeshError) return err;
    if (err instanceof ConnectError) return new MeshError(err.code, err.rawMessage, { cause: err });
    if (err instanceof Error) {
      if (err.name === "AbortError") return new MeshError(Code.Canceled, err.message, { cause: err });
      return new MeshError(fallback, err.message, { cause: err });
    }
    return new MeshError(fallback, String(err));
  }

  /** Rebuilds an error from its wire form. */
  static fromFailure(failure: Failure): MeshError {
    const code = failure.code in Code ? (failure.code as Code) : Code.Unknown;
    return new MeshError(code, failure.message, { retryable: failure.retryable });
  }

  /** The wire form of this error. */
  toFailure(): Failure {
    return create(FailureSchema, { code: this.code, message: this.message, retryable: this.retryable });
  }

  /** The form Connect handlers throw, so clients receive the gRPC status. */
  toConnectError(): ConnectError {
    return new ConnectError(this.message, this.code);
  }

  /** The code's gRPC name, e.g. "NOT_FOUND". */
  get codeName(): string {
    return codeName(this.code);
  }
}

/** The canonical gRPC name of a code, e.g. Code.NotFound → "NOT_FOUND". */
export function codeName(code: Code): string {
  if (code === Code.Canceled) return "CANCELLED"; // gRPC spells it with two Ls; the Connect enum does not
  const name = Code[code] as string | undefined;
  return name === undefined ? `CODE_${code}` : name.replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase();
}
