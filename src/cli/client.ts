/**
 * The gRPC client the commands use to talk to a node: AgentService over HTTP/2 cleartext, one session per
 * node, closed explicitly so a command exits as soon as it is done; each unary call in a CLIENT span when the
 * CLI traces (client-spans.ts).
 */
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { AgentService } from "../../gen/agentmesh/v1/agent_service_pb.js";
import { codeName } from "../protocol/errors.js";
import { clientSpans } from "./client-spans.js";

/** An AgentService client of one node. */
export interface NodeClient {
  /** The node's host:port. */
  readonly address: string;
  /** The AgentService stub. */
  readonly service: Client<typeof AgentService>;
  /** Closes the HTTP/2 session (calls in flight fail). */
  close(): void;
}

/** A client of the node at `address` (host:port). */
export function connectToNode(address: string): NodeClient {
  const baseUrl = `http://${address}`;
  const sessionManager = new Http2SessionManager(baseUrl);
  const service = createClient(AgentService, createGrpcTransport({ baseUrl, sessionManager, interceptors: [clientSpans] }));
  return { address, service, close: () => sessionManager.abort() };
}

/** Socket error codes that mean "nothing answers at that address". */
const UNREACHABLE = new Set(["ECONNREFUSED", "ECONNRESET", "EHOSTUNREACH", "ENETUNREACH", "ENOTFOUND", "EAI_AGAIN", "ETIMEDOUT", "EPIPE"]);

/** The socket error code behind a failed call, when the node could not be reached at all. */
function unreachableCause(err: ConnectError): string | undefined {
  const cause = err.cause as { code?: unknown } | undefined;
  if (typeof cause?.code === "string" && UNREACHABLE.has(cause.code)) return cause.code;
  return [...UNREACHABLE].find((c) => err.rawMessage.includes(c));
}

/**
 * A one-line description of a failed call to the node at `address`: "cannot reach a node at ..." when
 * nothing answers there, "no answer from ... within N ms" on a client deadline, else "CODE: message".
 */
export function describeCallError(err: unknown, address: string, timeoutMs?: number): string {
  const e = ConnectError.from(err);
  if (e.code === Code.Unavailable) {
    const cause = unreachableCause(e);
    if (cause !== undefined) return `cannot reach a node at ${address} (${cause})`;
  }
  if (e.code === Code.DeadlineExceeded && timeoutMs !== undefined && e.rawMessage.includes("the operation timed out")) {
    return `no answer from the node at ${address} within ${timeoutMs} ms`;
  }
  return `${codeName(e.code)}: ${e.rawMessage}`;
}
