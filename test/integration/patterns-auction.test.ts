/**
 * Task auctions, with real processes: one coordinator (a0, no `sleep`) and five bidders (b1..b5, built-in `sleep`).
 * - `agent-mesh auction` closes bidding as soon as the fifth bid arrives (far below the bidding deadline) and the
 *   winner runs the task; the winner's recorded performance (its run's latency) then lowers its next bid's score.
 * - The winner of a long `sleep` is killed (SIGKILL) while it runs it: the runner-up is awarded the task and
 *   completes it, and the command prints exactly one result.
 * The coordinator bids on nothing, so the winner is never the node the command talks to.
 */
import { beforeAll, describe, expect, it } from "vitest";
import type { NodeProcess } from "../helpers/processes.js";
import { waitFor } from "../helpers/wait.js";
import { processMesh } from "./lifecycle.js";

const { procs, clients } = processMesh();
let coordinator: NodeProcess;
let bidders: NodeProcess[];

beforeAll(async () => {
  coordinator = await procs.startNode({ id: "a0", capabilities: ["echo"] });
  bidders = await Promise.all(
    ["b1", "b2", "b3", "b4", "b5"].map((id) => procs.startNode({ id, capabilities: ["sleep", "echo"], seeds: [coordinator.address] })),
  );
  const all = [coordinator, ...bidders];
  await clients.allAlive(all, all.map((n) => n.id));
});

/** An auction as `agent-mesh auction --json` prints it. */
interface AuctionJson {
  winner: string;
  output: unknown;
  bids: { agent: string; score: number; load: number; capacity: number }[];
  declined: { agent: string; reason: string }[];
  awards: { agent: string; outcome: string }[];
  taskId: string;
  correlationId: string;
  biddingMs: number;
  durationMs: number;
}

function auctionArgs(ms: number, deadlineMs: number): string[] {
  return ["auction", "--to", coordinator.address, "--capability", "sleep", "--input", JSON.stringify({ ms }), "--deadline", String(deadlineMs), "--json"];
}

describe("auction among five bidders", () => {
  it("closes as soon as the last bid arrives and the winner runs the task", async () => {
    const deadlineMs = 5000;
    const r = await procs.run(auctionArgs(10, deadlineMs));
    expect(r.code, r.stderr).toBe(0);
    const a = JSON.parse(r.stdout) as AuctionJson;
    console.log(`[auction] 5 bids in ${a.biddingMs} ms (deadline ${deadlineMs} ms), winner ${a.winner}, ${a.durationMs} ms in all`);
    expect(a.bids.map((b) => b.agent).sort()).toEqual(bidders.map((b) => b.id));
    expect(a.declined).toEqual([]);
    expect(a.biddingMs).toBeLessThan(1000);
    expect(a.durationMs).toBeLessThan(deadlineMs);
    // Best bid first; it won, ran the task and was the only award.
    const scores = a.bids.map((b) => b.score);
    expect(scores).toEqual([...scores].sort((x, y) => y - x));
    expect(a.winner).toBe(a.bids[0].agent);
    expect(a.awards).toEqual([{ agent: a.winner, outcome: "completed" }]);
    expect(a.output).toEqual({ slept: 10 });

    // Past performance is recorded: the winner now bids with its run's latency, so it scores below the bidders that
    // never ran (all idle, with no record: a perfect score) and the next auction goes to another.
    const again = await procs.run(auctionArgs(10, deadlineMs));
    expect(again.code, again.stderr).toBe(0);
    const b = JSON.parse(again.stdout) as AuctionJson;
    console.log(`[auction] again: bids ${b.bids.map((x) => `${x.agent} ${x.score}`).join(", ")}; winner ${b.winner}`);
    expect(b.bids).toHaveLength(5);
    const previous = b.bids.find((x) => x.agent === a.winner)!;
    const fresh = b.bids.filter((x) => x.agent !== a.winner);
    expect(previous.score).toBeLessThan(Math.min(...fresh.map((x) => x.score)));
    expect(b.winner).not.toBe(a.winner);
    expect(b.awards).toEqual([{ agent: b.winner, outcome: "completed" }]);
  });

  it("gives the task to the runner-up when the winner is killed mid-task, and prints one result", async () => {
    const ms = 4000;
    const { proc } = procs.spawn(auctionArgs(ms, 5000));
    let stdout = "";
    let stderr = "";
    proc.stdout!.setEncoding("utf8").on("data", (c: string) => (stdout += c));
    proc.stderr!.setEncoding("utf8").on("data", (c: string) => (stderr += c));
    const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => proc.once("close", (code, signal) => resolve({ code, signal })));

    // The winner is the one bidder that runs a task.
    let mostRunning = 0;
    const winner = await waitFor(
      async () => {
        const loads = await Promise.all(bidders.map(async (b) => ({ b, load: (await clients.of(b).service.getStatus({}, { timeoutMs: 2000 })).load })));
        const running = loads.filter((x) => x.load > 0);
        mostRunning = Math.max(mostRunning, running.length);
        return running[0]?.b;
      },
      { timeoutMs: 15_000, intervalMs: 20, what: "the auction's winner to start the task" },
    );
    expect(mostRunning, "bidders running the task at once").toBe(1);
    const killedAt = performance.now();
    procs.signal(winner, "SIGKILL");

    const exit = await Promise.race([
      closed,
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`auction command still running 30 s after the kill; stderr: ${stderr}`)), 30_000)),
    ]).finally(() => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGKILL");
    });
    const afterKillMs = Math.round(performance.now() - killedAt);
    expect(exit.code, stderr).toBe(0);
    const lines = stdout.trim().split("\n");
    expect(lines, "results printed").toHaveLength(1);
    const a = JSON.parse(lines[0]) as AuctionJson;
    console.log(`[auction] killed ${winner.id} mid-task; awards ${JSON.stringify(a.awards)}; result ${afterKillMs} ms after the kill`);
    expect(a.bids.map((b) => b.agent).sort()).toEqual(bidders.map((b) => b.id));
    expect(a.bids[0].agent).toBe(winner.id);
    const runnerUp = a.bids[1].agent;
    expect(a.awards).toHaveLength(2);
    expect(a.awards[0].agent).toBe(winner.id);
    expect(a.awards[0].outcome).not.toBe("completed");
    expect(a.awards[1]).toEqual({ agent: runnerUp, outcome: "completed" });
    expect(a.winner).toBe(runnerUp);
    expect(a.output).toEqual({ slept: ms });
    expect(stderr.match(/correlation_id=/g), "result lines on stderr").toHaveLength(1);
    // The runner-up started over: the result came at least a full task's time after the kill.
    expect(afterKillMs).toBeGreaterThanOrEqual(ms - 500);
  });
});
