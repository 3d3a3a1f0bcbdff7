/**
 * Across three real node processes (run `npm run build` first): with OTEL_EXPORTER_OTLP_ENDPOINT pointing at
 * an OTLP/HTTP receiver started here, a task sent to A, run by B (the built-in "delegate") and handed on to C arrives
 * there as one trace from three services — A and B sending OTLP/protobuf (the default protocol), C
 * OTLP/JSON (OTEL_EXPORTER_OTLP_TRACES_PROTOCOL=http/json); and `agent-mesh trace` prints the same task's
 * waterfall across the three nodes from their span rings — the same spans the collector got.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectToNode } from "../../src/cli/client.js";
import { Processes, type NodeProcess } from "../helpers/processes.js";
import { waitFor } from "../helpers/wait.js";
import { JSON_TYPE, PROTOBUF, startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from "./otlp-receiver.js";

/** Variables the node processes inherit (restored afterwards). */
const ENV_KEYS = ["OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_BSP_SCHEDULE_DELAY", "OTEL_SERVICE_NAME", "OTEL_TRACES_SAMPLER", "OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"] as const;

const processes = new Processes();
const saved = new Map<string, string | undefined>();
let receiver: OtlpReceiver;
let a: NodeProcess;
let b: NodeProcess;
let c: NodeProcess;
let correlationId = "";

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  for (const k of ENV_KEYS) saved.set(k, process.env[k]);
  process.env.OTEL_EXPORTER_OTLP_ENDPOINT = receiver.endpoint;
  process.env.OTEL_BSP_SCHEDULE_DELAY = "100";
  delete process.env.OTEL_SERVICE_NAME;
  delete process.env.OTEL_TRACES_SAMPLER;
  delete process.env.OTEL_EXPORTER_OTLP_PROTOCOL;
  delete process.env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL;
  a = await processes.startNode({ id: "trace-a", capabilities: ["echo"] });
  // B serves the built-in "delegate", which hands a task's input on to the capability it names, as the README shows.
  const startingB = processes.startNode({ id: "trace-b", capabilities: ["delegate"], seeds: [a.address] });
  // startNode spawns before its first await: C alone inherits the variable.
  process.env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL = "http/json";
  const startingC = processes.startNode({ id: "trace-c", capabilities: ["uppercase"], seeds: [a.address] });
  delete process.env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL;
  [b, c] = await Promise.all([startingB, startingC]);
  // A must know B has "delegate" and B must know C has "uppercase" before the task is sent.
  const knows = async (node: NodeProcess, id: string, capability: string) => {
    const client = connectToNode(node.address);
    try {
      const res = await client.service.listAgents({ capability }, { timeoutMs: 2000 });
      return res.agents.some((x) => x.id === id);
    } finally {
      client.close();
    }
  };
  await waitFor(async () => (await knows(a, "trace-b", "delegate")) && (await knows(b, "trace-c", "uppercase")), { timeoutMs: 20_000, what: "the three nodes to know each other" });
});

afterAll(async () => {
  await processes.stopAll();
  await receiver?.close();
  for (const [k, v] of saved) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

describe("traces across three node processes", () => {
  it("a delegated task's spans reach the OTLP receiver as one trace from three services", async () => {
    const submitted = await processes.run(["submit", "--to", a.address, "--capability", "delegate", "--input", '{"capability":"uppercase","input":"hello mesh"}', "--json"]);
    expect(submitted.code, submitted.stderr).toBe(0);
    const result = JSON.parse(submitted.stdout) as { output: string; agentId: string; correlationId: string };
    expect(result).toMatchObject({ output: "HELLO MESH", agentId: "trace-b" });
    correlationId = result.correlationId;
    expect(submitted.stderr).toContain(`correlation_id=${correlationId}`);

    // The CLI traced its call too (the endpoint is in its environment) and exported it before it exited.
    const mine = (s: ReceivedSpan) => s.attributes["agentmesh.correlation_id"] === correlationId;
    const spans = await waitFor(
      () => {
        const got = receiver.spans.filter(mine);
        const names = new Set(got.map((s) => `${s.serviceInstanceId} ${s.name}`));
        const all = ["agent-mesh-cli agentmesh.v1.AgentService/SubmitTask", "trace-a agentmesh.v1.AgentService/SubmitTask", "trace-b run delegate", "trace-c run uppercase"];
        return all.every((n) => names.has(n)) ? got : undefined;
      },
      { timeoutMs: 20_000, what: "the task's spans at the OTLP receiver" },
    );
    // A, B and the CLI export OTLP/protobuf by default; C, told http/json, OTLP/JSON — the receiver decodes both into one trace.
    expect(new Set(receiver.requests.map((r) => r.contentType))).toEqual(new Set([PROTOBUF, JSON_TYPE]));
    for (const s of spans) expect(`${s.serviceInstanceId} ${s.contentType}`).toBe(`${s.serviceInstanceId} ${s.serviceInstanceId === "trace-c" ? JSON_TYPE : PROTOBUF}`);
    expect(new Set(spans.map((s) => s.traceId)).size).toBe(1);
    expect(new Set(spans.map((s) => s.serviceInstanceId))).toEqual(new Set(["agent-mesh-cli", "trace-a", "trace-b", "trace-c"]));
    // Each agent is a service of its own (named for it), all in the mesh's namespace; so is the CLI.
    for (const s of spans) expect(s.serviceName).toBe(s.serviceInstanceId);
    expect(new Set(spans.map((s) => s.serviceNamespace))).toEqual(new Set(["agent-mesh"]));
    // Parent/child across processes: C's run is a child of B's request, B's of A's.
    const find = (agent: string, name: string) => {
      const found = spans.filter((s) => s.serviceInstanceId === agent && s.name === name);
      expect(found, `${agent} ${name}`).toHaveLength(1);
      return found[0];
    };
    const call = find("agent-mesh-cli", "agentmesh.v1.AgentService/SubmitTask");
    expect(call.attributes).toMatchObject({ "rpc.system": "grpc", "rpc.service": "agentmesh.v1.AgentService", "rpc.method": "SubmitTask" });
    const server = find("trace-a", "agentmesh.v1.AgentService/SubmitTask");
    const sendAB = find("trace-a", "send task_request");
    // A node that runs a peer's task handles the request in its "run" span (no separate "handle" span).
    const runDelegate = find("trace-b", "run delegate");
    const sendBC = find("trace-b", "send task_request");
    // The client call is the root; the node's span of it, its child.
    expect(call.parentSpanId).toBe("");
    expect(server.parentSpanId).toBe(call.spanId);
    expect(runDelegate.parentSpanId).toBe(sendAB.spanId);
    expect(find("trace-b", "route uppercase").parentSpanId).toBe(runDelegate.spanId);
    expect(find("trace-c", "run uppercase").parentSpanId).toBe(sendBC.spanId);
    expect(spans.filter((s) => s.name === "handle task_request")).toEqual([]);
    // Every span of the trace, whatever the node, carries the correlation id.
    await waitFor(() => receiver.spans.filter((s) => s.traceId === server.traceId).every(mine), { what: "every span of the trace to carry the correlation id" });
  });

  it("agent-mesh trace prints the same task's waterfall across the three nodes", async () => {
    expect(correlationId).not.toBe("");
    const text = await processes.run(["trace", "--to", c.address, correlationId]);
    expect(text.code, text.stderr).toBe(0);
    const lines = text.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^trace [0-9a-f]{32} {2}\d+ spans {2}3 agents \(trace-a, trace-b, trace-c\) {2}/);
    expect(lines[1]).toMatch(/^AGENT\s+SPAN\s+DURATION\s+STATUS\s+\|0 /);
    const rows = lines.slice(2).map((l) => l.split(/\s{2,}/).slice(0, 2).join(" ").replace(/\s+/g, " "));
    expect(rows.slice(0, 3)).toEqual(["trace-a agentmesh.v1.AgentService/SubmitTask", "trace-a route delegate", "trace-a send task_request → trace-b"]);
    expect(rows).toContain("trace-b run delegate");
    expect(rows).toContain("trace-b send task_request → trace-c");
    expect(rows.at(-1)).toBe("trace-c run uppercase");
    // Indentation grows along the delegation chain.
    const indent = (name: string) => lines.find((l) => l.includes(name))!.indexOf(name);
    expect(indent("route delegate")).toBeLessThan(indent("run delegate"));
    expect(indent("run delegate")).toBeLessThan(indent("run uppercase"));

    const json = await processes.run(["trace", "--to", a.address, correlationId, "--json"]);
    expect(json.code, json.stderr).toBe(0);
    const parsed = JSON.parse(json.stdout) as { traces: { traceId: string; agents: string[]; spans: { spanId: string; depth: number; status: string; events: unknown[]; links: unknown[] }[] }[] };
    expect(parsed.traces).toHaveLength(1);
    const [t] = parsed.traces;
    expect(t.agents).toEqual(["trace-a", "trace-b", "trace-c"]);
    // The rings hold the very spans the collector received from the nodes (the CLI keeps no ring: the waterfall's
    // root is the node's span of the call, whose parent, the CLI's, no node has).
    const exported = receiver.spans.filter((s) => s.traceId === t.traceId && s.serviceInstanceId !== "agent-mesh-cli").map((s) => s.spanId).sort();
    expect(t.spans.map((s) => s.spanId).sort()).toEqual(exported);
    expect(t.spans[0].depth).toBe(0);
    expect(Math.max(...t.spans.map((s) => s.depth))).toBe(t.spans.length - 1); // one chain, no fan-out
    // Nothing was queued, retried or reassigned: every span lists no events and no links.
    expect(t.spans.map((s) => [s.events, s.links])).toEqual(t.spans.map(() => [[], []]));
  });

  it("an unknown correlation id fails with exit 1 naming it; bad usage exits 2", async () => {
    const unknown = await processes.run(["trace", "--to", a.address, "no-such-task"]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('no spans with correlation id "no-such-task" on the 3 agents asked');
    const missing = await processes.run(["trace", "--to", a.address]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("missing CORRELATION_ID");
    const two = await processes.run(["trace", "--to", a.address, "x", "y"]);
    expect(two.code).toBe(2);
    const noTo = await processes.run(["trace", "abc"]);
    expect(noTo.code).toBe(2);
    expect(noTo.stderr).toContain("--to");
  });

  it("GetSpans refuses a request without filters and a malformed trace id", async () => {
    const client = connectToNode(a.address);
    try {
      await expect(client.service.getSpans({}, { timeoutMs: 5000 })).rejects.toThrow(/correlation_id, trace_id: set at least one/);
      await expect(client.service.getSpans({ traceId: "xyz" }, { timeoutMs: 5000 })).rejects.toThrow(/trace_id: expected 32 hex digits/);
      const res = await client.service.getSpans({ correlationId }, { timeoutMs: 5000 });
      expect(res.selfId).toBe("trace-a");
      expect(res.ringCapacity).toBe(4096);
      expect(res.spans.length).toBeGreaterThan(0);
    } finally {
      client.close();
    }
  });
});
