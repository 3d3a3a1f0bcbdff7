/**
 * Three node processes joined by seeds over real gRPC on loopback, driven through the CLI as a user would:
 * membership via `agents --json`, routing to the only capable node via `submit --json`, task errors.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Processes, type NodeProcess } from "../helpers/processes.js";
import { waitFor } from "../helpers/wait.js";

const procs = new Processes();
let n1: NodeProcess;
let n2: NodeProcess;
let n3: NodeProcess;

beforeAll(async () => {
  n1 = await procs.startNode({ id: "n1", capabilities: ["echo", "uppercase"] });
  [n2, n3] = await Promise.all([
    procs.startNode({ id: "n2", capabilities: ["echo", "sleep", "fail"], seeds: [n1.address] }),
    procs.startNode({ id: "n3", capabilities: ["keywords", "reverse"], seeds: [n1.address] }),
  ]);
});

afterAll(async () => {
  await procs.stopAll();
});

interface Agent {
  id: string;
  address: string;
  capabilities: string[];
  load: number;
  capacity: number;
  status: string;
  draining: boolean;
}

async function listAgents(node: NodeProcess): Promise<Agent[]> {
  const r = await procs.run(["agents", "--to", node.address, "--json"]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Agent[];
}

describe("a mesh of three node processes", () => {
  it("lists all three agents on every node within 5 s", async () => {
    const views = await Promise.all(
      [n1, n2, n3].map((node) =>
        waitFor(
          async () => {
            const agents = await listAgents(node);
            return agents.length === 3 && agents.every((a) => a.status === "alive") ? agents : undefined;
          },
          { timeoutMs: 5000, intervalMs: 100, what: `node ${node.id} to list three alive agents` },
        ),
      ),
    );
    for (const agents of views) {
      expect(agents.map((a) => a.id)).toEqual(["n1", "n2", "n3"]);
      const byId = new Map(agents.map((a) => [a.id, a]));
      expect(byId.get("n3")).toMatchObject({ address: n3.address, capabilities: ["keywords", "reverse"], capacity: 4, draining: false });
      expect(byId.get("n1")?.address).toBe(n1.address);
      expect(typeof byId.get("n2")?.load).toBe("number");
    }
  });

  it("prints a table without --json", async () => {
    const r = await procs.run(["agents", "--to", n2.address]);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^ID\s+ADDRESS\s+CAPABILITIES\s+LOAD\s+STATUS\s+DRAINING$/);
    expect(lines.slice(1).map((l) => l.split(/\s+/)[0])).toEqual(["n1", "n2", "n3"]);
    expect(r.stdout).toContain("keywords,reverse");
  });

  it("routes a task submitted to node 1 to node 3, the only one with the capability", async () => {
    const text = "gossip carries membership; gossip carries load; routing reads load";
    const r = await procs.run(["submit", "--to", n1.address, "--capability", "keywords", "--input", JSON.stringify(text), "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout) as { output: unknown; agentId: string; taskId: string; correlationId: string; hops: number; durationMs: number };
    expect(result.agentId).toBe("n3");
    expect(result.output).toEqual(["carries", "gossip", "load", "membership", "reads"]);
    expect(result.hops).toBe(1);
    expect(result.taskId).not.toBe("");
    expect(r.stderr).toContain(`correlation_id=${result.correlationId} agent=n3`);
  });

  it("prints just the output without --json", async () => {
    const r = await procs.run(["submit", "--to", n1.address, "--capability", "reverse", "--input", '"mesh"']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toBe("hsem");
    expect(r.stderr).toMatch(/^correlation_id=\S+ agent=n3$/m);
  });

  it("fails an unknown capability with NOT_FOUND naming it", async () => {
    const r = await procs.run(["submit", "--to", n1.address, "--capability", "translate-to-klingon", "--input", '"hello"']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/^agent-mesh: NOT_FOUND: .*"translate-to-klingon"/m);
  });

  it("turns a handler that throws into a task error, and the node keeps serving", async () => {
    const r = await procs.run(["submit", "--to", n1.address, "--capability", "fail", "--input", '{"code":"FAILED_PRECONDITION","message":"the widget is not ready"}']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("agent-mesh: FAILED_PRECONDITION: the widget is not ready");
    expect(n2.alive()).toBe(true);
    const again = await procs.run(["submit", "--to", n2.address, "--capability", "echo", "--input", '{"still":"here"}', "--json"]);
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ output: { still: "here" } });
  });

  it("reports a task that runs out of time as DEADLINE_EXCEEDED", async () => {
    const r = await procs.run(["submit", "--to", n2.address, "--capability", "sleep", "--input", '{"ms":5000}', "--timeout", "300"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^agent-mesh: DEADLINE_EXCEEDED: /m);
  });

  it("exits 1 naming the address when no node answers there", async () => {
    const r = await procs.run(["agents", "--to", "127.0.0.1:1", "--json"]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain("cannot reach a node at 127.0.0.1:1");
  });

  it("exits 1 with a one-line message when the port is in use", async () => {
    const port = n1.address.split(":").pop()!;
    const r = await procs.run(["node", "--id", "clash", "--port", port, "--capabilities", "echo", "--log-level", "silent"]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(`agent-mesh: cannot start agent clash: port ${port} on 127.0.0.1 is already in use`);
  });

  it("drains and exits 0 on SIGTERM, and the others see it leave", async () => {
    const extra = await procs.startNode({ id: "n4", capabilities: ["echo"], seeds: [n1.address] });
    await waitFor(async () => (await listAgents(n1)).some((a) => a.id === "n4"), { timeoutMs: 10_000, intervalMs: 100, what: "n1 to learn n4" });
    process.kill(extra.pid, "SIGTERM");
    expect(await extra.exited).toEqual({ code: 0, signal: null });
    await waitFor(async () => !(await listAgents(n1)).some((a) => a.id === "n4" && a.status === "alive" && !a.draining), {
      timeoutMs: 10_000,
      intervalMs: 100,
      what: "n1 to see n4 leave",
    });
  });
});
