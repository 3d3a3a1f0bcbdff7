/**
 * `agent-mesh status` against real node processes: one node's view as text and JSON; `--all` on a settled
 * three-node mesh reports every node and `converged: yes`; a member that does not answer is listed as
 * unreachable without failing the command; a node that does not answer at all exits 1.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import type { OutStream } from "../../src/cli/io.js";
import type { NodeProcess } from "../helpers/processes.js";
import { waitFor } from "../helpers/wait.js";
import { processMesh } from "./lifecycle.js";

const { procs, clients } = processMesh();
let nodes: NodeProcess[];

beforeAll(async () => {
  const seed = await procs.startNode({ id: "s1", capabilities: ["echo"] });
  nodes = [
    seed,
    ...(await Promise.all([
      procs.startNode({ id: "s2", capabilities: ["uppercase"], seeds: [seed.address] }),
      procs.startNode({ id: "s3", capabilities: ["reverse", "sleep"], seeds: [seed.address] }),
    ])),
  ];
  await clients.allAlive(nodes, nodes.map((n) => n.id));
});

/** Runs the agent-mesh command in this process, capturing what it writes. */
async function runInProcess(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = { stdout: "", stderr: "" };
  const stream = (key: "stdout" | "stderr") => ({ write: (chunk: string) => ((out[key] += chunk), true) }) as unknown as OutStream;
  const code = await main(argv, { stdout: stream("stdout"), stderr: stream("stderr") });
  return { code, ...out };
}

interface StatusJson {
  id: string;
  address: string;
  lifecycle: string;
  load: number;
  capacity: number;
  queued: number;
  stateHash: string;
  stateEntries: number;
  stateClock: number;
  gossipRounds: number;
  members: { alive: number; suspect: number; dead: number; left: number };
  incarnation: number;
  health: number;
  waitingTasks: number;
}

describe("agent-mesh status", () => {
  it("prints one node's view as labelled lines", async () => {
    const r = await procs.run(["status", "--to", nodes[1].address]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^node\\s+s2 at ${nodes[1].address.replace(/\./g, "\\.")}$`, "m"));
    expect(r.stdout).toMatch(/^lifecycle\s+ready$/m);
    expect(r.stdout).toMatch(/^load\s+0\/4 running, 0 queued$/m);
    expect(r.stdout).toMatch(/^state\s+hash [0-9a-f]+, \d+ entries, clock \d+$/m);
    expect(r.stdout).toMatch(/^gossip\s+\d+ rounds$/m);
    expect(r.stdout).toMatch(/^members\s+3 alive, 0 suspect, 0 dead, 0 left$/m);
    expect(r.stdout).toMatch(/^incarnation\s+\d+$/m);
    expect(r.stdout).toMatch(/^health\s+\d+/m);
    expect(r.stdout).toMatch(/^waiting\s+0 tasks for a capable agent$/m);
  });

  it("prints one node's view as JSON with --json", async () => {
    const r = await procs.run(["status", "--to", nodes[0].address, "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout) as StatusJson;
    expect(s).toMatchObject({ id: "s1", address: nodes[0].address, lifecycle: "ready", capacity: 4, members: { alive: 3, suspect: 0, dead: 0, left: 0 }, waitingTasks: 0 });
    expect(s.stateHash).toMatch(/^[0-9a-f]+$/);
    expect(s.stateEntries).toBeGreaterThanOrEqual(3); // each agent's load at least
    expect(s.gossipRounds).toBeGreaterThan(0);
  });

  it("reports converged: yes with --all on a settled mesh", async () => {
    const r = await waitFor(
      async () => {
        const run = await procs.run(["status", "--to", nodes[2].address, "--all"]);
        expect(run.code, run.stderr).toBe(0);
        return run.stdout.trimEnd().endsWith("converged: yes") ? run : undefined;
      },
      { timeoutMs: 15_000, intervalMs: 200, what: "status --all to report converged: yes" },
    );
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^ID\s+ADDRESS\s+LIFECYCLE\s+LOAD\s+QUEUED\s+STATE HASH\s+ENTRIES\s+CLOCK\s+ROUNDS\s+A\/S\/D\/L\s+INC\s+HEALTH\s+WAITING$/);
    expect(lines.slice(1, -1).map((l) => l.split(/\s+/)[0])).toEqual(["s3", "s1", "s2"]);
    expect(lines.slice(1, -1).every((l) => /\sready\s/.test(l) && /\s3\/0\/0\/0\s/.test(l))).toBe(true);
    expect(new Set(lines.slice(1, -1).map((l) => l.split(/\s+/)[5])).size).toBe(1);
    console.log(`[status] agent-mesh status --to s3 --all:\n${r.stdout}`);

    const json = await procs.run(["status", "--to", nodes[0].address, "--all", "--json"]);
    expect(json.code, json.stderr).toBe(0);
    const all = JSON.parse(json.stdout) as { nodes: StatusJson[]; unreachable: unknown[]; converged: boolean; distinctDigests: number };
    expect(all.nodes.map((n) => n.id)).toEqual(["s1", "s2", "s3"]);
    expect(all.unreachable).toEqual([]);
    expect(all.converged).toBe(new Set(all.nodes.map((n) => n.stateHash)).size === 1);
    expect(all.distinctDigests).toBe(new Set(all.nodes.map((n) => n.stateHash)).size);
  });

  it("lists a member that does not answer as unreachable and still exits 0", async () => {
    // Run in this process, right after the freeze, so the frozen member is most likely still listed alive.
    procs.signal(nodes[1], "SIGSTOP");
    try {
      const r = await runInProcess(["status", "--to", nodes[0].address, "--all", "--timeout", "1000"]);
      expect(r.code, r.stderr).toBe(0);
      const frozenRow = r.stdout.split("\n").find((l) => l.startsWith("s2 "));
      // s2 is still listed alive (and does not answer), or, on a slow run, already suspected and not asked.
      if (frozenRow !== undefined) {
        expect(frozenRow).toMatch(new RegExp(`^s2\\s+${nodes[1].address.replace(/\./g, "\\.")}\\s+unreachable(\\s+-)+$`));
        expect(r.stdout).toContain(`s2 (${nodes[1].address}) is unreachable: no answer from the node at ${nodes[1].address} within 1000 ms\n`);
      }
      else console.log("[status] s2 was suspected before status --all asked it; the unreachable row was not exercised");
      expect(r.stdout).toMatch(/^s1\s/m);
      expect(r.stdout).toMatch(/^s3\s/m);
      expect(r.stdout.trimEnd().split("\n").at(-1)).toMatch(/^converged: (yes|no \(\d+ distinct digests\))$/);
    } finally {
      procs.signal(nodes[1], "SIGCONT");
    }
    await clients.allAlive(nodes, nodes.map((n) => n.id));
  });

  it("exits 1 naming the address when the node does not answer", async () => {
    const r = await procs.run(["status", "--to", "127.0.0.1:1", "--all"]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr.trim()).toBe("agent-mesh: cannot reach a node at 127.0.0.1:1 (ECONNREFUSED)");
  });
});
