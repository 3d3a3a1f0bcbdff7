/**
 * Raw routes for the client-facing calls: unary and server-streaming methods of the node's services served
 * straight from node:http2 streams (plain gRPC with protobuf) instead of through connect-node. The request is
 * decoded with protobuf-es, the same service implementation runs with a HandlerContext-compatible context
 * (grpc-call.ts), and the response message(s) and status trailers are written to the stream. Client- and
 * bidi-streaming methods, unimplemented methods and every other protocol (Connect, gRPC-Web) stay on
 * connect-node.
 */
import type * as http2 from "node:http2";
import { create, fromBinary, isMessage, toBinary, type DescMessage, type DescMethod, type MessageShape } from "@bufbuild/protobuf";
import type { HandlerContext } from "@connectrpc/connect";
import { systemClock, type Clock } from "../protocol/clock.js";
import { Code, MeshError } from "../protocol/errors.js";
import { silentLogger, type Logger } from "../protocol/logger.js";
import { RawGrpcCall, type RawCallOptions } from "./grpc-call.js";
import { GrpcMessageReader, parseGrpcTimeout } from "./grpc-frame.js";
import type { ServiceRegistration } from "./grpc-transport.js";
import type { RawStreamHandler } from "./server.js";

/** Options of the raw routes. */
export interface RawGrpcRouteOptions {
  /** Largest request or response message, bytes; larger gets RESOURCE_EXHAUSTED. */
  maxMessageBytes: number;
  /** Timers (deadlines). Default: the system clock. */
  clock?: Clock;
  /** Where unexpected handler errors are logged. Default: nowhere. */
  logger?: Logger;
}

/** A unary implementation as the raw path calls it. */
type UnaryFn = (request: unknown, ctx: HandlerContext) => unknown;
/** A server-streaming implementation as the raw path calls it. */
type StreamFn = (request: unknown, ctx: HandlerContext) => AsyncIterable<unknown>;

/** One routed method: its descriptor and bound implementation. */
interface Route {
  method: DescMethod;
  unary?: UnaryFn;
  serverStream?: StreamFn;
}

/** The request path of a method, as gRPC names it: "/package.Service/Method". */
export function grpcMethodPath(method: DescMethod): string {
  return `/${method.parent.typeName}/${method.name}`;
}

/**
 * Raw routes (request path → stream handler) for every implemented unary and server-streaming method of
 * `services`; other methods are left out, so connect-node serves them.
 */
export function rawGrpcRoutes(services: readonly ServiceRegistration[], options: RawGrpcRouteOptions): Map<string, RawStreamHandler> {
  const callOptions: RawCallOptions = { clock: options.clock ?? systemClock, logger: options.logger ?? silentLogger };
  const routes = new Map<string, RawStreamHandler>();
  for (const { service, impl } of services) {
    for (const method of service.methods) {
      const fn = (impl as Record<string, unknown>)[method.localName];
      if (typeof fn !== "function") continue;
      let route: Route;
      if (method.methodKind === "unary") route = { method, unary: fn.bind(impl) as UnaryFn };
      else if (method.methodKind === "server_streaming") route = { method, serverStream: fn.bind(impl) as StreamFn };
      else continue;
      routes.set(grpcMethodPath(method), (stream, headers) => serve(route, stream, headers, options.maxMessageBytes, callOptions));
    }
  }
  return routes;
}

/** Serves one call of `route`: reads the single request message, then runs the implementation; false: not taken. */
function serve(route: Route, stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, maxBytes: number, options: RawCallOptions): false | void {
  // Compressed requests and methods other than POST are connect-node's to negotiate or refuse.
  const encoding = headers["grpc-encoding"];
  if ((encoding !== undefined && encoding !== "identity") || headers[":method"] !== "POST") return false;
  let timeoutMs: number | undefined;
  let timeoutError: unknown;
  try {
    timeoutMs = parseGrpcTimeout(headers["grpc-timeout"]);
  } catch (err) {
    timeoutError = err;
  }
  const call = new RawGrpcCall(stream, headers, route.method, options, timeoutMs);
  if (timeoutError !== undefined) return call.fail(timeoutError);
  const reader = new GrpcMessageReader(maxBytes);
  let request: Uint8Array | undefined;
  call.listen("data", (chunk: Buffer) => {
    if (call.ended) return;
    try {
      for (const message of reader.push(chunk)) {
        if (request !== undefined) throw new MeshError(Code.InvalidArgument, `${route.method.name} takes one request message; received more`);
        request = message;
      }
    } catch (err) {
      call.fail(err);
    }
  });
  call.listen("end", () => {
    if (call.ended) return;
    if (reader.pendingBytes > 0) return call.fail(new MeshError(Code.InvalidArgument, "the request ended inside a message"));
    if (request === undefined) return call.fail(new MeshError(Code.InvalidArgument, `${route.method.name} takes one request message; received none`));
    let input: MessageShape<DescMessage>;
    try {
      input = fromBinary(route.method.input, request);
    } catch (err) {
      return call.fail(new MeshError(Code.InvalidArgument, `cannot decode the ${route.method.input.typeName} request: ${err instanceof Error ? err.message : String(err)}`));
    }
    if (route.unary !== undefined) void runUnary(call, route.unary, input, maxBytes);
    else if (route.serverStream !== undefined) void runServerStream(call, route.serverStream, input, maxBytes);
  });
}

/** The implementation's output as the method's response message (handlers may return an init object). */
function encodeOutput(method: DescMethod, output: unknown, maxBytes: number): Uint8Array {
  const schema = method.output;
  const message = isMessage(output, schema) ? output : create(schema, output as Parameters<typeof create>[1]);
  const bytes = toBinary(schema, message);
  if (bytes.length > maxBytes) throw new MeshError(Code.ResourceExhausted, `the ${schema.typeName} response is ${bytes.length} bytes; the limit is ${maxBytes}`);
  return bytes;
}

/** Runs a unary implementation and sends its response or its error. */
async function runUnary(call: RawGrpcCall, fn: UnaryFn, input: unknown, maxBytes: number): Promise<void> {
  try {
    const output = await fn(input, call);
    if (call.ended) return;
    call.succeed(encodeOutput(call.method, output, maxBytes));
  } catch (err) {
    call.fail(err);
  }
}

/** Runs a server-streaming implementation: writes each message (waiting while the stream is full), then the status. */
async function runServerStream(call: RawGrpcCall, fn: StreamFn, input: unknown, maxBytes: number): Promise<void> {
  try {
    for await (const output of fn(input, call)) {
      if (call.ended) break;
      if (!(await call.write(encodeOutput(call.method, output, maxBytes)))) break;
    }
    call.succeed();
  } catch (err) {
    call.fail(err);
  }
}
