/**
 * A frozen agent, with real processes: SIGSTOP one of four nodes (the only one serving `reverse`) until every
 * other node lists it as dead; a `reverse` task submitted meanwhile waits for a capable agent. SIGCONT: the
 * node refutes its death with a higher incarnation, every node lists it alive again, the waiting task runs on
 * it, and new tasks reach it again.
 */
import { beforeAll, describe, expect, it } from "vitest";
import type { NodeProcess } from "../helpers/processes.js";
import { waitFor } from "../helpers/wait.js";
import { fromPayload, toPayload } from "../../src/protocol/payload.js";
import { agentsViaCli, checkDetection, statusViaCli } from "./observe.js";
import { processMesh } from "./lifecycle.js";

const { procs, clients } = processMesh();
let observers: NodeProcess[];
let frozen: NodeProcess;

beforeAll(async () => {
  const seed = await procs.startNode({ id: "z1", capabilities: ["echo"] });
  const seeds = [seed.address];
  const rest = await Promise.all([
    procs.startNode({ id: "z2", capabilities: ["sleep"], seeds }),
    procs.startNode({ id: "z3", capabilities: ["uppercase"], seeds }),
    procs.startNode({ id: "z4", capabilities: ["reverse"], seeds }),
  ]);
  observers = [seed, rest[0], rest[1]];
  frozen = rest[2];
  const all = [...observers, frozen];
  await clients.allAlive(all, all.map((n) => n.id));
});

/** Submits a `reverse` task through `node` and resolves with the agent that ran it and the output. */
async function reverse(node: NodeProcess, text: string, timeoutMs: number): Promise<{ agentId: string; output: unknown }> {
  const res = await clients.of(node).service.submitTask({ capability: "reverse", input: toPayload(text), timeoutMs }, { timeoutMs: timeoutMs + 5000 });
  return { agentId: res.agentId, output: fromPayload(res.output, "output") };
}

describe("SIGSTOP past the detection time, then SIGCONT", () => {
  it("is declared dead, refutes once resumed, is alive everywhere and receives tasks again", async () => {
    expect(await reverse(observers[0], "before", 10_000)).toEqual({ agentId: frozen.id, output: "erofeb" });
    const before = await statusViaCli(procs, frozen);

    const frozenAt = performance.now();
    procs.signal(frozen, "SIGSTOP");
    let waiting: Promise<{ agentId: string; output: unknown }> | undefined;
    try {
      const detection = await clients.timeUntil(observers, frozen.id, "dead", frozenAt, 15_000);
      checkDetection(`SIGSTOP of ${frozen.id}, seen dead by`, detection);
      for (const node of observers) {
        expect((await agentsViaCli(procs, node)).find((a) => a.id === frozen.id)?.status, `${node.id}'s view`).toBe("dead");
      }
      // Nobody else serves reverse: a task submitted now waits for a capable agent.
      waiting = reverse(observers[1], "while frozen", 30_000);
      await waitFor(async () => (await clients.waitingTasks(observers[1])) >= 1, { timeoutMs: 10_000, intervalMs: 50, what: `a task waiting on ${observers[1].id}` });
      expect((await statusViaCli(procs, observers[1])).waitingTasks).toBe(1);
    } finally {
      procs.signal(frozen, "SIGCONT");
    }
    const resumedAt = performance.now();

    const back = await clients.timeUntil(observers, frozen.id, "alive", resumedAt, 15_000);
    console.log(`[freeze] ${frozen.id} alive again after SIGCONT, as seen by: ${Object.entries(back).map(([id, ms]) => `${id} ${ms} ms`).join(", ")}`);
    const after = await statusViaCli(procs, frozen);
    expect(after.incarnation, "it refuted its death with a higher incarnation").toBeGreaterThan(before.incarnation);
    // Every node, the resumed one included, lists all four alive. On an overloaded machine a member (the one
    // just resumed, busy catching up, most of all) may be suspected again for a moment and refute: that is no
    // failure, so each view is polled until it settles, and what was seen on the way is printed.
    const seen = new Set<string>();
    for (const node of [...observers, frozen]) {
      const lastView: string[] = [];
      await waitFor(
        async () => {
          const view = (await agentsViaCli(procs, node)).map((a) => `${a.id}:${a.status}`);
          if (view.join() === "z1:alive,z2:alive,z3:alive,z4:alive") return true;
          seen.add(`${node.id} saw ${view.join(" ")}`);
          lastView.splice(0, lastView.length, ...view);
          return false;
        },
        { timeoutMs: 15_000, intervalMs: 100, what: `${node.id} to list z1–z4 alive` },
      ).catch((err: Error) => {
        throw new Error(`${err.message}; last view: ${lastView.join(" ")}; transient views: ${[...seen].join("; ")}`);
      });
    }
    if (seen.size > 0) console.log(`[freeze] transient views after SIGCONT: ${[...seen].join("; ")}`);

    expect(await waiting).toEqual({ agentId: frozen.id, output: "nezorf elihw" });
    for (const node of observers) {
      expect(await reverse(node, `via ${node.id}`, 10_000)).toEqual({ agentId: frozen.id, output: [...`via ${node.id}`].reverse().join("") });
    }
    // And through the CLI, as a user would.
    const r = await procs.run(["submit", "--to", observers[2].address, "--capability", "reverse", "--input", '"again"', "--json"]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ output: "niaga", agentId: frozen.id });
  });

  it("rejoins after a freeze longer than dead members still hear gossip (5 s at the defaults)", async () => {
    const target = observers[2]; // z3, the only one serving uppercase
    const rest = [observers[0], observers[1], frozen];
    const frozenAt = performance.now();
    procs.signal(target, "SIGSTOP");
    try {
      const detection = await clients.timeUntil(rest, target.id, "dead", frozenAt, 15_000);
      checkDetection(`SIGSTOP of ${target.id} (long freeze), seen dead by`, detection);
      // Stay frozen well past gossipToDeadMs, still listed dead by everyone.
      await waitFor(async () => performance.now() - frozenAt > 7000 && (await Promise.all(rest.map((n) => clients.statusOf(n, target.id)))).every((s) => s === "dead"), {
        timeoutMs: 15_000,
        intervalMs: 200,
        what: `${target.id} to stay dead for 7 s`,
      });
    } finally {
      procs.signal(target, "SIGCONT");
    }
    const resumedAt = performance.now();
    const back = await clients.timeUntil(rest, target.id, "alive", resumedAt, 15_000);
    console.log(`[freeze] ${target.id} alive again after a 7 s freeze and SIGCONT, as seen by: ${Object.entries(back).map(([id, ms]) => `${id} ${ms} ms`).join(", ")}`);
    await clients.allAlive([target], [...rest, target].map((n) => n.id));
    const r = await procs.run(["submit", "--to", observers[0].address, "--capability", "uppercase", "--input", '"back"', "--json"]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ output: "BACK", agentId: target.id });
  });
});
