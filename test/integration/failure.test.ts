/**
 * A crashed agent, with real processes: five nodes, two of which serve `sleep`; a client keeps `sleep` tasks
 * flowing through a node without it (so every task is routed over a peer link); one of the two sleepers is
 * killed with SIGKILL while it runs tasks. Every task still ends in exactly one result, none is lost or fails,
 * and every survivor lists the killed agent as dead within the detection goal (measured and printed).
 */
import { beforeAll, describe, expect, it } from "vitest";
import type { NodeProcess } from "../helpers/processes.js";
import { waitFor } from "../helpers/wait.js";
import { agentsViaCli, checkDetection, TaskStream } from "./observe.js";
import { processMesh } from "./lifecycle.js";

const { procs, clients } = processMesh();
let entry: NodeProcess;
let sleeperA: NodeProcess;
let victim: NodeProcess;
let others: NodeProcess[];

beforeAll(async () => {
  entry = await procs.startNode({ id: "f1", capabilities: ["echo"] });
  const seeds = [entry.address];
  [sleeperA, victim, ...others] = await Promise.all([
    procs.startNode({ id: "f2", capabilities: ["sleep", "echo"], seeds }),
    procs.startNode({ id: "f3", capabilities: ["sleep", "reverse"], seeds }),
    procs.startNode({ id: "f4", capabilities: ["uppercase"], seeds }),
    procs.startNode({ id: "f5", capabilities: ["wordcount"], seeds }),
  ]);
  const all = [entry, sleeperA, victim, ...others];
  await clients.allAlive(all, all.map((n) => n.id));
});

describe("SIGKILL of one of two agents serving sleep, while sleep tasks flow", () => {
  it("loses no task, answers each once, and every survivor lists the agent dead within the goal", async () => {
    const stream = new TaskStream({ entry: clients.of(entry), capability: "sleep", input: { ms: 300 }, concurrency: 4, timeoutMs: 20_000 });
    try {
      // Both sleepers take tasks before the kill, and the victim has some running when it dies.
      await waitFor(() => stream.ok.some((r) => r.agentId === sleeperA.id) && stream.ok.some((r) => r.agentId === victim.id), {
        timeoutMs: 15_000,
        what: "both sleepers to run tasks",
      });
      await waitFor(async () => (await clients.of(victim).service.getStatus({}, { timeoutMs: 2000 })).load >= 2, {
        timeoutMs: 10_000,
        intervalMs: 10,
        what: `${victim.id} to run two tasks at once`,
      });
      const killedAt = performance.now();
      procs.signal(victim, "SIGKILL");
      const survivors = [entry, sleeperA, ...others];
      const detection = await clients.timeUntil(survivors, victim.id, "dead", killedAt, 15_000);

      // Keep tasks flowing for another 1.5 s once every survivor knows, then let the last ones finish.
      const knownAt = performance.now();
      await waitFor(() => performance.now() - knownAt >= 1500 && stream.ok.filter((r) => r.submittedAt > knownAt).length >= 8, {
        timeoutMs: 15_000,
        what: "tasks to keep flowing after the death",
      });
      const records = await stream.stop();

      const failed = records.filter((r) => r.error !== undefined);
      expect(failed.map((r) => `${r.correlationId}: ${r.error}`)).toEqual([]);
      expect(records.length).toBe(stream.submitted);
      const perCorrelation = new Map<string, number>();
      for (const r of records) perCorrelation.set(r.correlationId, (perCorrelation.get(r.correlationId) ?? 0) + 1);
      expect([...perCorrelation.values()].every((n) => n === 1)).toBe(true);
      expect(new Set(records.map((r) => r.taskId)).size).toBe(records.length);
      expect(records.every((r) => (r.output as { slept?: number }).slept === 300)).toBe(true);
      // Tasks submitted after the kill ran on the surviving sleeper; tasks the victim was running (or that were sent
      // to it before it was known dead) were reassigned to the survivor with a higher attempt number.
      expect(records.filter((r) => r.submittedAt > killedAt).every((r) => r.agentId === sleeperA.id)).toBe(true);
      const reassigned = records.filter((r) => (r.attempt ?? 1) > 1);
      expect(reassigned.length).toBeGreaterThanOrEqual(1);
      expect(reassigned.every((r) => r.agentId === sleeperA.id)).toBe(true);
      console.log(
        `[failure] ${records.length} sleep tasks, ${records.filter((r) => r.agentId === victim.id).length} run by ${victim.id} before it died, ` +
          `${reassigned.length} reassigned (attempt > 1), 0 failed`,
      );
      checkDetection(`SIGKILL of ${victim.id}, seen dead by`, detection);

      // What a user sees: `agent-mesh agents --json` on every survivor lists the killed agent as dead.
      for (const node of survivors) {
        const agents = await agentsViaCli(procs, node);
        expect(agents.find((a) => a.id === victim.id)?.status, `${node.id}'s view`).toBe("dead");
        // No false death; on an overloaded machine a survivor may be suspected for a moment, which is no failure.
        const others = agents.filter((a) => a.id !== victim.id);
        expect(others.map((a) => `${a.id}:${a.status === "suspect" ? "alive" : a.status}`), `${node.id}'s view`).toEqual(survivors.map((n) => `${n.id}:alive`).sort());
        const suspected = others.filter((a) => a.status === "suspect").map((a) => a.id);
        if (suspected.length > 0) console.log(`[failure] ${node.id} suspected ${suspected.join(", ")} at that moment`);
      }
    } finally {
      await stream.stop();
    }
  });
});
