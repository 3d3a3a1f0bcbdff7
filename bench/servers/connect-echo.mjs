/**
 * The node's server stack without the mesh: the same HTTP/2 server (startMeshServer) as an agent node, serving
 * AgentService.SubmitTask with a handler that answers with the input at once (no routing, no task runner, no
 * tracing). By default through the connect-node adapter; with `--raw`, plain gRPC through the raw routes of
 * grpc-unary.ts (as a node serves client calls), connect-node loaded only for other protocols. The gap between
 * this and a node's SubmitTask is the mesh's own cost; the gap between this and the grpc-js echo is the server
 * stack's. A bench helper: reports its port over IPC.
 */
import { create } from "@bufbuild/protobuf";
import { AgentService, SubmitTaskResponseSchema } from "../../dist/gen/agentmesh/v1/agent_service_pb.js";
import { defaultTransportConfig } from "../../dist/src/transport/config.js";
import { connectFallback } from "../../dist/src/transport/connect-fallback.js";
import { rawGrpcRoutes } from "../../dist/src/transport/grpc-unary.js";
import { startMeshServer } from "../../dist/src/transport/server.js";
import { serveHelper } from "../lib/helper.mjs";

const raw = process.argv.includes("--raw");
const services = [
  {
    service: AgentService,
    impl: { submitTask: (req) => create(SubmitTaskResponseSchema, { taskId: "t", correlationId: "c", agentId: "connect-echo", output: req.input }) },
  },
];
const { maxMessageBytes, flowControlWindowBytes } = defaultTransportConfig;
const server = await startMeshServer({
  host: "127.0.0.1",
  port: 0,
  ...(raw ? { rawRoutes: rawGrpcRoutes(services, { maxMessageBytes }), loadHandler: async () => connectFallback(services, { maxMessageBytes }) } : { handler: connectFallback(services, { maxMessageBytes }) }),
  flowControlWindowBytes,
});
serveHelper({ port: server.port }, {}, () => void server.close(0));
