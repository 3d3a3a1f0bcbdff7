/**
 * The node's server stack without the mesh: the same HTTP/2 server (startMeshServer) and connect-node
 * adapter as an agent node, serving AgentService.SubmitTask with a handler that answers with the input at
 * once (no routing, no task runner, no tracing). The gap between this and a node's SubmitTask is the mesh's
 * own cost; the gap between this and the grpc-js echo is the server stack's. A bench helper: reports its
 * port over IPC.
 */
import { create } from "@bufbuild/protobuf";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { AgentService, SubmitTaskResponseSchema } from "../../dist/gen/agentmesh/v1/agent_service_pb.js";
import { defaultTransportConfig } from "../../dist/src/transport/config.js";
import { startMeshServer } from "../../dist/src/transport/server.js";
import { serveHelper } from "../lib/helper.mjs";

const handler = connectNodeAdapter({
  routes: (router) =>
    router.service(AgentService, {
      submitTask: (req) => create(SubmitTaskResponseSchema, { taskId: "t", correlationId: "c", agentId: "connect-echo", output: req.input }),
    }),
});
const server = await startMeshServer({ host: "127.0.0.1", port: 0, handler, flowControlWindowBytes: defaultTransportConfig.flowControlWindowBytes });
serveHelper({ port: server.port }, {}, () => void server.close(0));
