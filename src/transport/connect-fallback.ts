/**
 * The server's fallback handler: connect-node serving every registered service over Connect, gRPC-Web and
 * gRPC (the requests the raw routes do not take). GrpcTransport imports this module on the first such
 * request, so connect-node and its dependencies (undici, through the fetch `Headers` global) stay unloaded
 * on nodes that only see plain gRPC.
 */
import { ConnectError, type Interceptor } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { MeshError } from "../protocol/errors.js";
import type { ServiceRegistration } from "./grpc-transport.js";
import type { NodeHandlerFn } from "./server.js";

/** Options of the fallback handler. */
export interface ConnectFallbackOptions {
  /** Largest message read or written, bytes. */
  maxMessageBytes: number;
}

/** A MeshError as the ConnectError connect-node turns into a status (anything else is left as it is). */
function asStatus(err: unknown): unknown {
  return err instanceof MeshError ? new ConnectError(err.message, err.code, undefined, undefined, err) : err;
}

/** Re-throws MeshErrors of a response stream as ConnectErrors. */
async function* statusErrors<T>(messages: AsyncIterable<T>): AsyncIterable<T> {
  try {
    yield* messages;
  } catch (err) {
    throw asStatus(err);
  }
}

/**
 * Implementations may throw MeshError, as on the raw path: its code and message reach the client (connect-node
 * itself would answer INTERNAL for any error that is not a ConnectError).
 */
const meshErrorStatus: Interceptor = (next) => async (req) => {
  try {
    const res = await next(req);
    return res.stream ? { ...res, message: statusErrors(res.message) } : res;
  } catch (err) {
    throw asStatus(err);
  }
};

/** A connect-node request handler serving `services`. */
export function connectFallback(services: readonly ServiceRegistration[], options: ConnectFallbackOptions): NodeHandlerFn {
  return connectNodeAdapter({
    routes: (router) => {
      for (const { service, impl } of services) router.service(service, impl);
    },
    interceptors: [meshErrorStatus],
    readMaxBytes: options.maxMessageBytes,
    writeMaxBytes: options.maxMessageBytes,
  });
}
