/**
 * A capability whose only holder died, with real processes and the CLI: a task for it waits in the queue of the
 * node it was submitted to and completes once a node with the capability joins; a task with a short timeout
 * fails at its deadline with DEADLINE_EXCEEDED naming the capability.
 */
import { beforeAll, describe, expect, it } from "vitest";
import type { NodeProcess } from "../helpers/processes.js";
import { waitFor } from "../helpers/wait.js";
import { agentsViaCli, statusViaCli } from "./observe.js";
import { processMesh } from "./lifecycle.js";

const { procs, clients } = processMesh();
let entry: NodeProcess;
let holder: NodeProcess;
let other: NodeProcess;

beforeAll(async () => {
  entry = await procs.startNode({ id: "w1", capabilities: ["echo"] });
  [holder, other] = await Promise.all([
    procs.startNode({ id: "w2", capabilities: ["uppercase"], seeds: [entry.address] }),
    procs.startNode({ id: "w3", capabilities: ["reverse"], seeds: [entry.address] }),
  ]);
  const all = [entry, holder, other];
  await clients.allAlive(all, all.map((n) => n.id));
});

describe("a task for a capability only a dead agent had", () => {
  it("waits, and completes on a capable node that joins; a short timeout fails naming the capability", async () => {
    const before = await procs.run(["submit", "--to", entry.address, "--capability", "uppercase", "--input", '"first"', "--json"]);
    expect(before.code, before.stderr).toBe(0);
    expect(JSON.parse(before.stdout)).toMatchObject({ output: "FIRST", agentId: holder.id });

    procs.signal(holder, "SIGKILL");
    await clients.timeUntil([entry, other], holder.id, "dead", performance.now(), 15_000);
    expect((await agentsViaCli(procs, entry)).find((a) => a.id === holder.id)?.status).toBe("dead");

    let patientDone = false;
    const patient = procs.run(["submit", "--to", entry.address, "--capability", "uppercase", "--input", '"hello after the crash"', "--timeout", "20000", "--json"]);
    const markDone = () => (patientDone = true);
    patient.then(markDone, markDone);
    await waitFor(async () => (await clients.waitingTasks(entry)) >= 1, { timeoutMs: 10_000, intervalMs: 50, what: `the task to wait on ${entry.id}` });
    expect((await statusViaCli(procs, entry)).waitingTasks).toBe(1);

    const hasty = await procs.run(["submit", "--to", entry.address, "--capability", "uppercase", "--input", '"too soon"', "--timeout", "1500"]);
    expect(hasty.code).toBe(1);
    expect(hasty.stdout).toBe("");
    expect(hasty.stderr).toMatch(/^agent-mesh: DEADLINE_EXCEEDED: .*no agent with capability "uppercase" became available/m);

    expect(patientDone, "the first task still waits while no node has uppercase").toBe(false);
    const joinedAt = performance.now();
    const newcomer = await procs.startNode({ id: "w4", capabilities: ["uppercase"], seeds: [other.address] });
    const r = await patient;
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ output: "HELLO AFTER THE CRASH", agentId: newcomer.id });
    expect((await statusViaCli(procs, entry)).waitingTasks).toBe(0);
    console.log(`[capability-wait] the waiting task completed ${Math.round(performance.now() - joinedAt)} ms after ${newcomer.id} was started`);
  });
});
