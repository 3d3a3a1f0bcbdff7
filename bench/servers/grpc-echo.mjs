/**
 * The RPC baseline: a raw @grpc/grpc-js server with one unary method, /bench.Echo/Echo, that answers every
 * request with its own bytes (no protobuf decoding: the cheapest unary call grpc-js can serve). A bench
 * helper: started by bench/main.mjs, reports its port over IPC.
 */
import * as grpc from "@grpc/grpc-js";
import { serveHelper } from "../lib/helper.mjs";
import { ECHO_SERVICE } from "../lib/wire.mjs";

const server = new grpc.Server();
server.addService(ECHO_SERVICE, { echo: (call, callback) => callback(null, call.request) });
server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, port) => {
  if (err) throw err;
  serveHelper({ port }, {}, () => server.forceShutdown());
});
