/**
 * SWIM membership of five real AgentNodes over a fault-injecting MemoryNetwork: a crash, a partition and its
 * healing, and a lossy, duplicating, reordering network. Deadlines are generous (several times what an idle
 * machine needs) so the tests hold on a loaded two-core machine; each test logs what it measured.
 */
import { afterEach, describe, expect, it } from "vitest";
import { MemberStatus } from "../../gen/agentmesh/v1/membership_pb.js";
import type { EmbeddedDiscovery } from "../../src/discovery/embedded.js";
import type { TaskHandler } from "../../src/node/task-runner.js";
import { Code, MeshError } from "../../src/protocol/errors.js";
import { waitForConvergence } from "../helpers/memory-mesh.js";
import { waitFor } from "../helpers/wait.js";
import { startCluster, type Cluster } from "./cluster.js";

const { ALIVE, DEAD } = MemberStatus;

let cluster: Cluster | undefined;
afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
});

const ids = (nodes: { id: string }[]) => nodes.map((n) => n.id).sort();

describe("membership over a faulty network (five AgentNodes)", () => {
  it("marks a crashed node dead on every survivor, which drops it from its registry, and nobody else", async () => {
    const c = (cluster = await startCluster(5));
    const victim = c.node("n3");
    const survivors = c.nodes.filter((n) => n !== victim);
    const started = Date.now();
    c.network.crash(victim.address); // no leave is said: its streams break and it can no longer reach anyone
    await waitFor(() => c.allSee(survivors, [victim], DEAD), { what: "every survivor to mark n3 dead", timeoutMs: 8000 });
    const detectedMs = Date.now() - started;
    await waitFor(() => survivors.every((n) => n.registry.get("n3") === undefined), { what: "n3 to leave every registry", timeoutMs: 2000 });
    console.log(`crash of n3 detected by all four survivors in ${detectedMs} ms`);
    expect([...c.leaves].sort()).toEqual(["n1:n3", "n2:n3", "n4:n3", "n5:n3"]);
    expect(c.allSee(survivors, survivors, ALIVE)).toBe(true);
    for (const n of survivors) expect(ids(n.registry.all())).toEqual(ids(survivors));
  });

  it("splits {n1, n2} | {n3, n4, n5}: each side marks the other dead; after healing everyone is alive everywhere", async () => {
    const c = (cluster = await startCluster(5, { handlers: (id) => ({ [`skill-${id}`]: () => id }) }));
    const left = [c.node("n1"), c.node("n2")];
    const right = [c.node("n3"), c.node("n4"), c.node("n5")];
    const incarnationsBefore = c.nodes.map((n) => n.localInfo().incarnation);
    let started = Date.now();
    c.network.partitionGroups(
      left.map((n) => n.address),
      right.map((n) => n.address),
    );
    await waitFor(() => c.allSee(left, right, DEAD) && c.allSee(right, left, DEAD), { what: "each side to mark the other dead", timeoutMs: 10_000 });
    const splitMs = Date.now() - started;
    await waitFor(() => left.every((n) => n.registry.size === 2) && right.every((n) => n.registry.size === 3), {
      what: "each side's registries to hold only that side",
      timeoutMs: 2000,
    });
    for (const n of left) expect(ids(n.registry.all())).toEqual(["n1", "n2"]);
    for (const n of right) expect(ids(n.registry.all())).toEqual(["n3", "n4", "n5"]);
    // Nobody was declared dead within its own side.
    expect(c.allSee(left, left, ALIVE) && c.allSee(right, right, ALIVE)).toBe(true);
    expect(c.leaves.filter((l) => ["n1", "n2"].includes(l.split(":")[0]) === ["n1", "n2"].includes(l.split(":")[1]))).toEqual([]);

    started = Date.now();
    c.network.healAll();
    await waitFor(() => c.allSee(c.nodes, c.nodes, ALIVE), { what: "everyone alive everywhere after healing", timeoutMs: 15_000 });
    const mergedMs = Date.now() - started;
    await waitForConvergence(c.nodes, 5000); // registries hold everyone again, capabilities included
    console.log(`partition seen by both sides in ${splitMs} ms; merged ${mergedMs} ms after healing`);
    for (const n of c.nodes) expect(ids(n.registry.all())).toEqual(["n1", "n2", "n3", "n4", "n5"]);
    // Each side learned the other had died and refuted it: every incarnation went up.
    c.nodes.forEach((n, i) => expect(n.localInfo().incarnation).toBeGreaterThan(incarnationsBefore[i]));
    // Tasks flow across the former split.
    expect((await c.node("n1").submit("skill-n5", null, { timeoutMs: 5000 })).output).toBe("n5");
    expect((await c.node("n5").submit("skill-n2", null, { timeoutMs: 5000 })).output).toBe("n2");
  });

  it("declares nobody dead under 2 % drop, duplication and reordering of every frame, and a routed task never yields two results", async () => {
    const runs = new Map<number, number>();
    const c = (cluster = await startCluster(5, {
      handlers: (id): Record<string, TaskHandler> => (id === "n4" ? { work: (x: number) => (runs.set(x, (runs.get(x) ?? 0) + 1), x * 2) } : {}),
      network: { seed: 7 },
    }));
    const suspicionsBefore = c.nodes.reduce((s, n) => s + ((n.discovery as EmbeddedDiscovery).protocol?.stats.suspicions ?? 0), 0);
    const before = { ...c.network.frames };
    // A held frame waits up to 250 ms for a later one of its stream: longer than the gap between frames.
    c.network.setFaults({ dropRate: 0.02, duplicateRate: 0.02, reorderRate: 0.02, reorderWindowMs: 250 });
    // Tasks from n1 to the capability only n4 has, one after the other while the faults last.
    const outcomes: { input: number; output?: unknown; error?: MeshError }[] = [];
    let stopTasks = false;
    const tasks = (async () => {
      for (let i = 0; !stopTasks; i++) {
        try {
          outcomes.push({ input: i, output: (await c.node("n1").submit("work", i, { timeoutMs: 2000 })).output });
        } catch (err) {
          outcomes.push({ input: i, error: MeshError.from(err) });
        }
      }
    })();
    // "A few seconds" of faults, measured in traffic: 700 frames (about five seconds of five idle nodes).
    await waitFor(() => c.network.frames.sent - before.sent >= 700 && outcomes.length >= 10, { what: "700 frames through the faults", timeoutMs: 30_000 });
    stopTasks = true;
    await tasks;
    c.network.clearFaults();
    const f = { dropped: c.network.frames.dropped - before.dropped, duplicated: c.network.frames.duplicated - before.duplicated, reordered: c.network.frames.reordered - before.reordered };
    const suspicions = c.nodes.reduce((s, n) => s + ((n.discovery as EmbeddedDiscovery).protocol?.stats.suspicions ?? 0), 0) - suspicionsBefore;
    const failed = outcomes.filter((o) => o.error !== undefined);
    console.log(
      `faults: ${JSON.stringify(f)} over ${c.network.frames.sent - before.sent} frames; ${outcomes.length} tasks, ${failed.length} timed out; ${suspicions} suspicions, ${c.leaves.length} deaths`,
    );
    expect(f.dropped).toBeGreaterThan(0);
    expect(f.duplicated).toBeGreaterThan(0);
    expect(f.reordered).toBeGreaterThan(0);
    // No false deaths: nobody left any registry, everyone still alive everywhere.
    expect(c.leaves).toEqual([]);
    await waitFor(() => c.allSee(c.nodes, c.nodes, ALIVE), { what: "everyone alive everywhere", timeoutMs: 5000 });
    // Each task ended once: with its result, from a handler that ran once (duplicated requests are
    // delivered once), or — when the frame carrying its request or result was lost; the bus resends only
    // when a link breaks — with DEADLINE_EXCEEDED, the handler having run at most once.
    for (const o of outcomes) {
      if (o.error === undefined) {
        expect(o.output).toBe(o.input * 2);
        expect(runs.get(o.input)).toBe(1);
      } else {
        expect([o.error.code, o.error.message]).toEqual([Code.DeadlineExceeded, expect.stringContaining("n4")]);
        expect(runs.get(o.input) ?? 0).toBeLessThanOrEqual(1);
      }
    }
    expect(outcomes.length - failed.length).toBeGreaterThanOrEqual(Math.ceil(outcomes.length / 2));
    // With the faults gone a routed task returns its one result.
    const after = await c.node("n1").submit("work", 1000, { timeoutMs: 5000 });
    expect([after.output, after.agentId, runs.get(1000)]).toEqual([2000, "n4", 1]);
  });
});
