/**
 * A forwarding loop, with real processes: two nodes run the agent module agents/ping-pong.mjs, `ping` on one and
 * `pong` on the other; each handler delegates to the other capability (TaskContext.delegate), so a task bounces
 * between the nodes. The hop limit ends the loop: `agent-mesh submit` exits 1 at once with FAILED_PRECONDITION
 * naming the hop limit (not at the task's timeout), and both nodes keep serving. A bounded chain (a countdown)
 * through the same handlers completes, so it is the loop that the limit stops, not delegation itself.
 */
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import type { NodeProcess } from "../helpers/processes.js";
import { processMesh } from "./lifecycle.js";

const AGENT = fileURLToPath(new URL("./agents/ping-pong.mjs", import.meta.url));

const { procs, clients } = processMesh();
let pinger: NodeProcess;
let ponger: NodeProcess;

beforeAll(async () => {
  pinger = await procs.startNode({ id: "h1", capabilities: ["ping"], args: ["--agent", AGENT] });
  ponger = await procs.startNode({ id: "h2", capabilities: ["pong"], seeds: [pinger.address], args: ["--agent", AGENT] });
  await clients.allAlive([pinger, ponger], [pinger.id, ponger.id]);
});

describe("ping delegates pong, pong delegates ping", () => {
  it("a bounded chain through both nodes completes", async () => {
    const r = await procs.run(["submit", "--to", pinger.address, "--capability", "ping", "--input", '{"countdown":3}', "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { output: { stoppedAt: string; hops: number; countdown: number }; agentId: string };
    // ping@h1 → pong@h2 (2) → ping@h1 (1) → pong@h2 (0): the last delegation answers on h2.
    expect(out.output).toMatchObject({ stoppedAt: ponger.id, countdown: 0 });
    expect(out.agentId).toBe(pinger.id);
    expect(out.output.hops).toBeGreaterThanOrEqual(3);
  });

  it("the loop ends at the hop limit with FAILED_PRECONDITION, long before the task's timeout", async () => {
    const started = performance.now();
    const r = await procs.run(["submit", "--to", pinger.address, "--capability", "ping", "--input", "1"]);
    const ms = Math.round(performance.now() - started);
    console.log(`[hop-limit] submit exited ${r.code} after ${ms} ms: ${r.stderr.trim()}`);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain("FAILED_PRECONDITION");
    expect(r.stderr).toContain("hop limit");
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    // The node's default task timeout is 30 s; the loop must stop at the limit, not run until then.
    expect(ms).toBeLessThan(15_000);

    // Both nodes still serve: the bounded chain works again.
    const again = await procs.run(["submit", "--to", ponger.address, "--capability", "pong", "--input", '{"countdown":1}', "--json"]);
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ output: { stoppedAt: pinger.id, countdown: 0 }, agentId: ponger.id });
  });
});
