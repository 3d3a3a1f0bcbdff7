/**
 * A server for tests of the raw gRPC path: startMeshServer with raw routes for a test AgentService (and the
 * connect-node fallback, loaded on first use), whose handlers record what they saw and behave as the request's
 * capability says. Also a bare node:http2 client for requests no gRPC library would send.
 */
import * as http2 from "node:http2";
import { create } from "@bufbuild/protobuf";
import { ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import { AgentService, SubmitTaskResponseSchema, SubscribeResponseSchema } from "../../gen/agentmesh/v1/agent_service_pb.js";
import { EnvelopeSchema } from "../../gen/agentmesh/v1/envelope_pb.js";
import { PayloadSchema } from "../../gen/agentmesh/v1/payload_pb.js";
import { Code, MeshError } from "../../src/protocol/errors.js";
import { connectFallback } from "../../src/transport/connect-fallback.js";
import { serviceRegistration } from "../../src/transport/grpc-transport.js";
import { rawGrpcRoutes } from "../../src/transport/grpc-unary.js";
import { startMeshServer, type MeshServer } from "../../src/transport/server.js";

/** A call a handler saw. */
export interface SeenCall {
  /** The method's local name. */
  method: string;
  /** The context the handler received. */
  ctx: HandlerContext;
  /** Resolves with the signal's reason once it aborts. */
  aborted: Promise<unknown>;
  /** For streams: resolves once the implementation's iterator was closed. */
  closed?: Promise<void>;
}

/** A running test server. */
export interface RawWorld {
  /** The server. */
  server: MeshServer;
  /** "127.0.0.1:PORT". */
  address: string;
  /** Calls seen, in arrival order. */
  calls: SeenCall[];
  /** How many times the fallback handler was loaded. */
  fallbackLoads(): number;
  /** Resolves with the next call a handler sees. */
  nextCall(): Promise<SeenCall>;
  /** Stops the server. */
  close(): Promise<void>;
}

/** Largest message of the test server. */
export const MAX_BYTES = 64 * 1024;

/** Resolves with the reason once `signal` aborts. */
function abortedReason(signal: AbortSignal): Promise<unknown> {
  return signal.aborted ? Promise.resolve(signal.reason) : new Promise((resolve) => signal.addEventListener("abort", () => resolve(signal.reason), { once: true }));
}

/** Starts a test server (raw routes unless `raw` is false). */
export async function startRawWorld({ raw = true }: { raw?: boolean } = {}): Promise<RawWorld> {
  const calls: SeenCall[] = [];
  const waiters: ((c: SeenCall) => void)[] = [];
  const see = (method: string, ctx: HandlerContext, closed?: Promise<void>): SeenCall => {
    const call: SeenCall = { method, ctx, aborted: abortedReason(ctx.signal), closed };
    calls.push(call);
    waiters.shift()?.(call);
    return call;
  };
  const impl: Partial<ServiceImpl<typeof AgentService>> = {
    submitTask: async (req, ctx) => {
      see("submitTask", ctx);
      const reply = (data: Uint8Array) => create(SubmitTaskResponseSchema, { taskId: "t1", agentId: "raw", correlationId: req.correlationId, output: create(PayloadSchema, { contentType: "application/octet-stream", data }) });
      switch (req.capability) {
        case "echo":
          return reply(req.input?.data ?? new Uint8Array(0));
        case "init": // a plain init object, not a message
          return { taskId: "t-init", agentId: "raw" };
        case "wait": // until the signal aborts (deadline, cancel)
          await abortedReason(ctx.signal);
          throw new MeshError(Code.Unavailable, "gave up");
        case "metadata":
          ctx.responseHeader.set("x-answer", "42");
          ctx.responseTrailer.set("x-trailer", "done");
          return reply(new TextEncoder().encode(ctx.requestHeader.get("x-question") ?? ""));
        case "bad-metadata": // a header value HTTP/2 refuses
          ctx.responseHeader.set("x bad", "a space in the name");
          return reply(new Uint8Array(0));
        case "mesh-error":
          throw new MeshError(Code.NotFound, 'no agent has capability "dragon" — ünïcode 100%');
        case "connect-error":
          throw new ConnectError("not yours", Code.PermissionDenied);
        case "plain-error":
          throw new Error("boom");
        case "big":
          return reply(new Uint8Array(MAX_BYTES + 1));
        default:
          throw new MeshError(Code.InvalidArgument, `capability: unknown "${req.capability}"`);
      }
    },
    async *subscribe(req, ctx) {
      let closedResolve!: () => void;
      see("subscribe", ctx, new Promise<void>((r) => (closedResolve = r)));
      try {
        const [mode, count] = req.topic.split(":");
        for (let i = 0; i < Number(count); i++) yield create(SubscribeResponseSchema, { envelope: create(EnvelopeSchema, { messageId: `m${i}`, correlationId: "x".repeat(mode === "bulk" ? 8192 : 1) }) });
        if (mode === "hold") await abortedReason(ctx.signal);
        if (mode === "fail") throw new MeshError(Code.Aborted, "the topic went away");
      } finally {
        closedResolve();
      }
    },
  };
  const services = [serviceRegistration(AgentService, impl)];
  let loads = 0;
  const server = await startMeshServer({
    host: "127.0.0.1",
    port: 0,
    rawRoutes: raw ? rawGrpcRoutes(services, { maxMessageBytes: MAX_BYTES }) : new Map(),
    loadHandler: async () => {
      loads++;
      return connectFallback(services, { maxMessageBytes: MAX_BYTES });
    },
    flowControlWindowBytes: 1024 * 1024,
  });
  return {
    server,
    address: `127.0.0.1:${server.port}`,
    calls,
    fallbackLoads: () => loads,
    nextCall: () => new Promise((resolve) => waiters.push(resolve)),
    close: () => server.close(0),
  };
}

/** What a bare HTTP/2 request received. */
export interface RawReply {
  /** Response headers (with trailers-only responses, the status is here). */
  headers: http2.IncomingHttpHeaders;
  /** Trailers, if any came. */
  trailers: http2.IncomingHttpHeaders;
  /** The response body. */
  body: Buffer;
  /** grpc-status from the trailers or, for a trailers-only response, the headers. */
  status: string | undefined;
  /** grpc-message, as sent (percent-encoded). */
  message: string | undefined;
}

/**
 * Sends one POST with `body` (already framed, or not: the test decides) on a fresh connection; resolves when the
 * stream closes. With `endRequest` false the request stays open after the body (a stalled client).
 */
export async function rawRequest(address: string, path: string, body: Buffer, headers: http2.OutgoingHttpHeaders = {}, { endRequest = true } = {}): Promise<RawReply> {
  const session = http2.connect(`http://${address}`);
  try {
    return await new Promise<RawReply>((resolve, reject) => {
      const req = session.request({ ":method": "POST", ":path": path, "content-type": "application/grpc", te: "trailers", ...headers });
      let got: http2.IncomingHttpHeaders = {};
      let trailers: http2.IncomingHttpHeaders = {};
      const chunks: Buffer[] = [];
      req.on("response", (h) => (got = h));
      req.on("trailers", (t) => (trailers = t));
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("error", reject);
      req.on("close", () => {
        const pick = (name: string) => (trailers[name] ?? got[name]) as string | undefined;
        resolve({ headers: got, trailers, body: Buffer.concat(chunks), status: pick("grpc-status"), message: pick("grpc-message") });
      });
      if (endRequest) req.end(body);
      else req.write(body);
    });
  } finally {
    session.close();
  }
}
