/** `agent-mesh demo` end to end: it finishes, reports who did what, and leaves no node process behind on any path. */
import { createInterface } from "node:readline";
import { afterEach, describe, expect, it } from "vitest";
import { pidAlive, Processes } from "../helpers/processes.js";
import { nextEvent, waitFor } from "../helpers/wait.js";

const procs = new Processes();

afterEach(async () => {
  await procs.stopAll();
});

interface DemoJson {
  nodes: { id: string; pid: number; address: string; capabilities: string[] }[];
  tasks: number;
  ok: number;
  failed: number;
  forwarded: number;
  agents: { id: string; accepted: number; ran: number; byCapability: Record<string, number>; forwarded: number; hops: number; p50Ms: number | null }[];
}

/** Starts the demo (not --json) and resolves with its node pids once it is submitting tasks. */
async function demoUnderWay(tasks: number) {
  const demo = procs.spawn(["demo", "--nodes", "3", "--tasks", String(tasks)]);
  let stderr = "";
  demo.proc.stderr!.setEncoding("utf8").on("data", (c: string) => (stderr += c));
  const pids: number[] = [];
  const lines = createInterface({ input: demo.proc.stdout! });
  const event = await nextEvent<"submitting" | "exited">(
    (deliver) => {
      lines.on("line", (line) => {
        const m = /pid (\d+)/.exec(line);
        if (m !== null) pids.push(Number(m[1]));
        if (line.startsWith("Submitting")) deliver("submitting");
      });
      void demo.exited.then(() => deliver("exited"));
    },
    40_000,
    "the demo to start submitting tasks",
  );
  if (event === "exited") throw new Error(`the demo exited before submitting tasks: ${stderr}`);
  expect(pids).toHaveLength(3);
  return { ...demo, pids, stderr: () => stderr };
}

describe("agent-mesh demo", () => {
  it("runs tasks across 3 nodes, exits 0 and leaves no process behind", async () => {
    const started = Date.now();
    const r = await procs.run(["demo", "--nodes", "3", "--tasks", "12", "--json"], 60_000);
    expect(r.code, r.stderr).toBe(0);
    expect(Date.now() - started).toBeLessThan(60_000);
    const out = JSON.parse(r.stdout) as DemoJson;
    expect(out.nodes.map((n) => n.id)).toEqual(["agent-1", "agent-2", "agent-3"]);
    expect(out).toMatchObject({ tasks: 12, ok: 12, failed: 0 });
    expect(out.agents.reduce((sum, a) => sum + a.ran, 0)).toBe(12);
    expect(out.agents.reduce((sum, a) => sum + a.accepted, 0)).toBe(12);
    // keywords runs only on the last node, sleep never on the first: some tasks must be forwarded.
    expect(out.agents[2].byCapability.keywords).toBeGreaterThan(0);
    expect(out.agents[0].byCapability.sleep).toBeUndefined();
    expect(out.forwarded).toBeGreaterThan(0);
    expect(r.stderr).toMatch(/^progress: 12\/12 tasks \(100%\), 0 failed$/m);
    for (const n of out.nodes) expect(pidAlive(n.pid), `node ${n.id} (pid ${n.pid}) still running`).toBe(false);
  });

  it("stops every node and exits 143 when it gets SIGTERM", async () => {
    const demo = await demoUnderWay(10_000);
    demo.proc.kill("SIGTERM");
    expect(await demo.exited).toEqual({ code: 143, signal: null });
    expect(demo.stderr()).toContain("demo interrupted by SIGTERM");
    for (const pid of demo.pids) expect(pidAlive(pid), `pid ${pid} still running`).toBe(false);
  });

  it("fails with exit 1 naming a node that dies, and stops the others", async () => {
    const demo = await demoUnderWay(10_000);
    process.kill(demo.pids[1], "SIGKILL");
    expect(await demo.exited).toEqual({ code: 1, signal: null });
    expect(demo.stderr()).toMatch(/node agent-2 \(pid \d+\) exited unexpectedly \(signal SIGKILL\)/);
    for (const pid of demo.pids) expect(pidAlive(pid), `pid ${pid} still running`).toBe(false);
  });

  it("takes its node processes down with it even when it is killed outright", async () => {
    const demo = await demoUnderWay(10_000);
    demo.proc.kill("SIGKILL");
    await demo.exited;
    // The nodes notice their parent is gone (IPC channel closed), drain and exit.
    await waitFor(() => demo.pids.every((pid) => !pidAlive(pid)), { timeoutMs: 20_000, intervalMs: 50, what: "the orphaned nodes to exit" });
  });
});
