/**
 * The CLI as a traced client (src/cli/client-tracing.ts, client-spans.ts), against a real node process and an
 * OTLP/HTTP receiver started here: with an endpoint in its environment, `agent-mesh submit` exports a CLIENT
 * span of its call before it exits, and the node's span of the call is its child; a collector that cannot be
 * reached, or never answers, costs no result and no more than the flush wait; a malformed
 * AGENT_MESH_CLI_TRACE_FLUSH_MS is a usage error; inspection commands (agents) make no span. The node itself exports nothing here, so every span received is the CLI's.
 */
import { createServer } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectToNode } from "../../src/cli/client.js";
import { Processes, type NodeProcess } from "../helpers/processes.js";
import { startOtlpReceiver, type OtlpReceiver } from "./otlp-receiver.js";

const processes = new Processes();
let receiver: OtlpReceiver;
let node: NodeProcess;

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  node = await processes.startNode({ id: "cli-node", capabilities: ["echo"] });
});

afterAll(async () => {
  await processes.stopAll();
  await receiver?.close();
});

/** A loopback port nothing listens on (taken, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe("agent-mesh submit as a traced client", () => {
  it("exports the CLIENT span of its call before it exits; the node's span of the call is its child", async () => {
    const before = receiver.spans.length;
    const res = await processes.run(["submit", "--to", node.address, "--capability", "echo", "--input", '"hi"', "--json"], 30_000, {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
    });
    expect(res.code, res.stderr).toBe(0);
    const { correlationId } = JSON.parse(res.stdout) as { correlationId: string };
    // No waiting: the command exported its span before it exited.
    const mine = receiver.spans.slice(before);
    expect(mine.map((s) => `${s.serviceName} ${s.name}`)).toEqual(["agent-mesh-cli agentmesh.v1.AgentService/SubmitTask"]);
    const [call] = mine;
    expect(call).toMatchObject({ serviceNamespace: "agent-mesh", serviceInstanceId: "agent-mesh-cli", parentSpanId: "" });
    expect(call.attributes).toMatchObject({
      "rpc.system": "grpc",
      "rpc.service": "agentmesh.v1.AgentService",
      "rpc.method": "SubmitTask",
      "agentmesh.correlation_id": correlationId,
    });
    const client = connectToNode(node.address);
    try {
      const spans = (await client.service.getSpans({ correlationId }, { timeoutMs: 5000 })).spans;
      const server = spans.find((s) => s.name === "agentmesh.v1.AgentService/SubmitTask");
      expect(server).toMatchObject({ traceId: call.traceId, parentSpanId: call.spanId });
    } finally {
      client.close();
    }
  });

  it("traces agent-mesh vote the same way: its ReachConsensus call is the root of the round's trace", async () => {
    const before = receiver.spans.length;
    const res = await processes.run(["vote", "--to", node.address, "--question", "ship it?", "--options", "yes,no", "--json"], 30_000, {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
    });
    expect(res.code, res.stderr).toBe(0);
    const mine = receiver.spans.slice(before);
    expect(mine.map((s) => `${s.serviceName} ${s.name}`)).toEqual(["agent-mesh-cli agentmesh.v1.AgentService/ReachConsensus"]);
    expect(mine[0]).toMatchObject({ parentSpanId: "" });
    expect(mine[0].attributes["agentmesh.correlation_id"]).toMatch(/./);
  });

  it("still gives the task's result, exit 0, when the collector cannot be reached", async () => {
    const before = receiver.spans.length;
    const res = await processes.run(["submit", "--to", node.address, "--capability", "echo", "--input", '"still here"'], 30_000, {
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${await closedPort()}`,
      AGENT_MESH_CLI_TRACE_FLUSH_MS: "300",
    });
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout.trim()).toBe('"still here"');
    expect(receiver.spans.length).toBe(before);
  });

  it("gives up a collector that takes the request and never answers once its flush wait is over", async () => {
    const silent = createServer((socket) => socket.on("error", () => {})); // reads nothing, answers nothing
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = silent.address() as { port: number };
      // The request's own timeout is 50 s: only giving it up at the flush deadline ends the command within the 20 s allowed.
      const res = await processes.run(["submit", "--to", node.address, "--capability", "echo", "--input", '"on time"'], 20_000, {
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
        OTEL_EXPORTER_OTLP_TIMEOUT: "50000",
        AGENT_MESH_CLI_TRACE_FLUSH_MS: "300",
      });
      expect(res.code, res.stderr).toBe(0);
      expect(res.stdout.trim()).toBe('"on time"');
    } finally {
      silent.close();
    }
  });

  it("refuses a malformed AGENT_MESH_CLI_TRACE_FLUSH_MS with exit 2, naming it", async () => {
    const res = await processes.run(["submit", "--to", node.address, "--capability", "echo", "--input", '"x"'], 30_000, {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
      AGENT_MESH_CLI_TRACE_FLUSH_MS: "soon",
    });
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('AGENT_MESH_CLI_TRACE_FLUSH_MS: expected an integer from 0 to 60000, got "soon"');
    expect(res.stdout).toBe("");
  });

  it("makes no span for an inspection command (agents)", async () => {
    const before = receiver.spans.length;
    const res = await processes.run(["agents", "--to", node.address], 30_000, { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint });
    expect(res.code, res.stderr).toBe(0);
    expect(receiver.spans.length).toBe(before);
  });
});
