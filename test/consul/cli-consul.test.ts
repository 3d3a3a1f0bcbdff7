/**
 * The acceptance run, as a new user would do it: three `agent-mesh node --discovery consul --consul-addr URL`
 * processes against the Consul double; `agent-mesh agents` on each lists all three; a task routes across them; a
 * killed process (SIGKILL) leaves the others' view once its gRPC check fails; a stopped one (SIGTERM) deregisters at
 * once; after Consul restarts empty, the nodes register again by themselves. Run `npm run build` first.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Processes, type NodeProcess } from "../helpers/processes.js";
import { waitFor } from "../helpers/wait.js";
import { ConsulDouble } from "./consul-double.js";

const procs = new Processes();
const consul = new ConsulDouble();
let n1: NodeProcess;
let n2: NodeProcess;
let n3: NodeProcess;

beforeAll(async () => {
  await consul.start();
  const args = ["--discovery", "consul", "--consul-addr", consul.url];
  [n1, n2, n3] = await Promise.all([
    procs.startNode({ id: "n1", capabilities: ["echo", "uppercase"], args }),
    procs.startNode({ id: "n2", capabilities: ["echo", "reverse"], args }),
    procs.startNode({ id: "n3", capabilities: ["keywords", "wordcount"], args }),
  ]);
});

afterAll(async () => {
  await procs.stopAll();
  await consul.stop();
});

async function agentIds(node: NodeProcess): Promise<string> {
  const r = await procs.run(["agents", "--to", node.address, "--json"]);
  expect(r.code, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as { id: string }[])
    .map((a) => a.id)
    .sort()
    .join(",");
}

describe("agent-mesh node --discovery consul", () => {
  it("registers each node with its capabilities and a gRPC check; agents on each lists all three; tasks route", async () => {
    for (const n of [n1, n2, n3]) {
      await waitFor(async () => (await agentIds(n)) === "n1,n2,n3", { what: `${n.id} to list n1,n2,n3`, timeoutMs: 30_000, intervalMs: 250 });
      const instance = consul.instance(n.id)!;
      expect([...instance.Tags].sort()).toEqual([...n.capabilities].sort());
      expect(instance.checks[0]).toMatchObject({ Type: "grpc", grpc: n.address, Status: "passing", intervalMs: 5000 });
    }
    const r = await procs.run(["submit", "--to", n1.address, "--capability", "wordcount", "--input", '"three little words"', "--json"]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ output: { words: 3 }, agentId: "n3", hops: 1 });
    const back = await procs.run(["submit", "--to", n3.address, "--capability", "reverse", "--input", '"abc"', "--json"]);
    expect(JSON.parse(back.stdout)).toMatchObject({ output: "cba", agentId: "n2" });
  });

  it("drops a killed node once its check fails, and deregisters a stopped one at once", async () => {
    procs.signal(n3, "SIGKILL");
    await n3.exited;
    await waitFor(() => consul.instance("n3")?.checks[0].Status === "critical", { what: "n3's check to fail", timeoutMs: 20_000 });
    expect(consul.instance("n3")).toBeDefined(); // killed: never deregistered
    for (const n of [n1, n2]) await waitFor(async () => (await agentIds(n)) === "n1,n2", { what: `${n.id} to drop n3`, timeoutMs: 20_000, intervalMs: 250 });

    procs.signal(n2, "SIGTERM");
    expect(await n2.exited).toEqual({ code: 0, signal: null });
    expect(consul.instance("n2")).toBeUndefined();
    await waitFor(async () => (await agentIds(n1)) === "n1", { what: "n1 to drop n2", timeoutMs: 20_000, intervalMs: 250 });
    expect(procs.unexpectedExits()).toEqual([]);
  });

  it("registers again by itself after Consul restarts empty", async () => {
    // Stop Consul while n1's watch waits in a blocking query (n1 is the last node), so the restart cuts it: had the
    // watch been between rounds, its next query would reach the restarted agent with the old index and be held for
    // the whole wait (30 s + wait/16), as a real agent does, and n1 would notice only then.
    await waitFor(() => consul.blockedQueries > 0, { what: "n1's watch to wait in a blocking query" });
    await consul.stop();
    await consul.start();
    await waitFor(() => consul.instance("n1")?.checks[0].Status === "passing", { what: "n1 to register again", timeoutMs: 30_000 });
    expect(n1.stderr()).toContain("lost Consul");
    expect(procs.unexpectedExits()).toEqual([]);
  });
});
