/**
 * Capacity and self-organizing distribution, with real processes: three nodes (c1, c2, c3) serve `sleep` with
 * capacity 2, from the agent module agents/counting-sleep.mjs, which counts each node's own concurrent runs. A
 * library client (connect-node, in this process) submits 100 `sleep` tasks of 50 ms to c1 alone, 20 at a time:
 * every task completes once, no node ever runs more than 2 at once, and each of the three runs at least 10.
 */
import { fileURLToPath } from "node:url";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { beforeAll, describe, expect, it } from "vitest";
import { AgentService } from "../../gen/agentmesh/v1/agent_service_pb.js";
import { fromPayload, toPayload } from "../../src/protocol/payload.js";
import type { NodeProcess } from "../helpers/processes.js";
import { waitFor } from "../helpers/wait.js";
import { processMesh } from "./lifecycle.js";

const AGENT = fileURLToPath(new URL("./agents/counting-sleep.mjs", import.meta.url));
const CAPACITY = 2;
const TASKS = 100;
const CONCURRENCY = 20;

const { procs, clients } = processMesh();
let nodes: NodeProcess[];

/** Starts a node serving `sleep` and its own `sleep_stats.<id>` from the counting agent module, with capacity 2. */
function startSleeper(id: string, seeds?: string[]): Promise<NodeProcess> {
  return procs.startNode({ id, capabilities: ["sleep", `sleep_stats.${id}`], seeds, args: ["--agent", AGENT, "--capacity", String(CAPACITY)] });
}

beforeAll(async () => {
  const entry = await startSleeper("c1");
  nodes = [entry, ...(await Promise.all([startSleeper("c2", [entry.address]), startSleeper("c3", [entry.address])]))];
  await clients.allAlive(nodes, nodes.map((n) => n.id));
  // The entry node knows all three serve sleep, with capacity 2.
  await waitFor(
    async () => {
      const { agents } = await clients.of(nodes[0]).service.listAgents({}, { timeoutMs: 2000 });
      return nodes.every((n) => agents.some((a) => a.id === n.id && a.capabilities.includes("sleep") && a.capacity === CAPACITY));
    },
    { timeoutMs: 15_000, intervalMs: 100, what: "c1 to list c1, c2 and c3 serving sleep with capacity 2" },
  );
});

interface Stats {
  agent: string;
  ran: number;
  max: number;
  running: number;
}

describe("100 sleep tasks submitted to one node of capacity 2, three nodes serving sleep", () => {
  it("all complete, no node runs more than its capacity, and the work is spread across the three", async () => {
    const entry = nodes[0];
    const baseUrl = `http://${entry.address}`;
    const sessionManager = new Http2SessionManager(baseUrl);
    const client = createClient(AgentService, createGrpcTransport({ baseUrl, sessionManager }));
    const results: { i: number; agentId: string; output: unknown; attempt: number }[] = [];
    const errors: string[] = [];
    const started = performance.now();
    try {
      let next = 0;
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          for (let i = next++; i < TASKS; i = next++) {
            try {
              const res = await client.submitTask({ capability: "sleep", input: toPayload({ ms: 50 }), correlationId: `cap-${i}`, timeoutMs: 30_000 }, { timeoutMs: 35_000 });
              results.push({ i, agentId: res.agentId, output: fromPayload(res.output, "output"), attempt: res.attempt });
            } catch (err) {
              errors.push(`task ${i}: ${String(err)}`);
            }
          }
        }),
      );
    } finally {
      sessionManager.abort();
    }
    const ms = Math.round(performance.now() - started);

    const perAgent = Object.fromEntries(nodes.map((n) => [n.id, results.filter((r) => r.agentId === n.id).length]));
    const stats: Stats[] = [];
    for (const node of nodes) {
      const res = await clients.of(node).service.submitTask({ capability: `sleep_stats.${node.id}`, input: toPayload(null) }, { timeoutMs: 10_000 });
      expect(res.agentId).toBe(node.id);
      stats.push(fromPayload(res.output, "output") as Stats);
    }
    console.log(
      `[capacity] ${results.length}/${TASKS} done in ${ms} ms; per agent (results) ${JSON.stringify(perAgent)}; ` +
        `per agent (own count: ran/max at once) ${stats.map((s) => `${s.agent} ${s.ran}/${s.max}`).join(", ")}; ` +
        `reassigned ${results.filter((r) => r.attempt > 1).length}`,
    );

    // Every task completed, once.
    expect(errors).toEqual([]);
    expect(results).toHaveLength(TASKS);
    expect(new Set(results.map((r) => r.i)).size).toBe(TASKS);
    for (const r of results) expect(r.output).toMatchObject({ slept: 50, agent: r.agentId });
    // Each node ran what the results say it ran, and no more: no task ran twice.
    expect(stats.map((s) => s.ran)).toEqual(nodes.map((n) => perAgent[n.id]));
    expect(stats.reduce((n, s) => n + s.ran, 0)).toBe(TASKS);
    // Never beyond capacity, on any node, at any moment (each run also saw at most 2 running, itself included).
    for (const s of stats) expect(s.max, `${s.agent}: most sleeps at once`).toBeLessThanOrEqual(CAPACITY);
    for (const r of results) expect((r.output as { running: number }).running).toBeLessThanOrEqual(CAPACITY);
    // The entry node was saturated (the limit was actually reached there), and nothing runs now.
    expect(stats[0].max).toBe(CAPACITY);
    expect(stats.map((s) => s.running)).toEqual([0, 0, 0]);
    // Spread across the three.
    for (const node of nodes) expect(perAgent[node.id], `tasks run by ${node.id}`).toBeGreaterThanOrEqual(10);
  });
});
