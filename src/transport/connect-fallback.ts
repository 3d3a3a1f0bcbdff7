/**
 * The server's fallback handler: connect-node serving every registered service over Connect, gRPC-Web and
 * gRPC (the requests the raw routes do not take). GrpcTransport imports this module on the first such
 * request, so connect-node and its dependencies (undici, through the fetch `Headers` global) stay unloaded
 * on nodes that only see plain gRPC.
 */
import { connectNodeAdapter } from "@connectrpc/connect-node";
import type { ServiceRegistration } from "./grpc-transport.js";
import type { NodeHandlerFn } from "./server.js";

/** Options of the fallback handler. */
export interface ConnectFallbackOptions {
  /** Largest message read or written, bytes. */
  maxMessageBytes: number;
}

/** A connect-node request handler serving `services`. */
export function connectFallback(services: readonly ServiceRegistration[], options: ConnectFallbackOptions): NodeHandlerFn {
  return connectNodeAdapter({
    routes: (router) => {
      for (const { service, impl } of services) router.service(service, impl);
    },
    readMaxBytes: options.maxMessageBytes,
    writeMaxBytes: options.maxMessageBytes,
  });
}
