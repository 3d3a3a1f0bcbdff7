/**
 * Lean idle (src/cli/lean-idle.ts), on real `agent-mesh node` processes: a node starts with V8's young generation
 * held at its initial size and TurboFan and Sparkplug off, stays so while idle, and gets V8's defaults back the
 * first time it is busy; AGENT_MESH_LEAN_IDLE=false and a V8 option of the user's own leave V8 alone; a malformed
 * variable is a usage error. The agent module agents/lean-probe.mjs reports the node's state and spins the CPU.
 */
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import type { LeanIdleState } from "../../src/cli/lean-idle.js";
import { Processes, type NodeProcess } from "../helpers/processes.js";
import { waitFor } from "../helpers/wait.js";

const AGENT = fileURLToPath(new URL("./agents/lean-probe.mjs", import.meta.url));
/** V8's initial young generation: two semi-spaces of 1 MiB. */
const INITIAL_NEW_SPACE = 2 * 1024 * 1024;

const procs = new Processes();

afterAll(async () => {
  await procs.stopAll();
});

type Probe = LeanIdleState & { newSpaceBytes: number };

/** Starts a node serving the probe's capabilities with `env`. */
function startProbe(id: string, env: Record<string, string> = {}): Promise<NodeProcess> {
  return procs.startNode({ id, capabilities: ["lean_state", "spin"], args: ["--agent", AGENT, "--log-level", "debug"], env });
}

/** Runs `capability` on `node` through `agent-mesh submit` and returns its result. */
async function submit<T>(node: NodeProcess, capability: string, input: unknown): Promise<T> {
  const r = await procs.run(["submit", "--to", node.address, "--capability", capability, "--input", JSON.stringify(input), "--json"]);
  expect(r.code, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as { output: T }).output;
}

describe("lean idle", () => {
  it("a node starts lean, stays lean while idle, and gets V8's defaults back once busy", async () => {
    const node = await startProbe("lean1");
    await new Promise((resolve) => setTimeout(resolve, 1500)); // a check or more while idle
    const idle = await submit<Probe>(node, "lean_state", null);
    expect(idle).toMatchObject({ phase: "idle", youngGeneration: true, compilers: true });
    expect(idle.restoredBecause).toBeUndefined();
    expect(idle.newSpaceBytes).toBeLessThanOrEqual(INITIAL_NEW_SPACE);
    expect(node.stderr()).toMatch(/"msg":"lean idle: V8 defaults held back until the node is busy"/);

    await submit(node, "spin", { ms: 1500 }); // a whole check's worth of CPU
    await waitFor(async () => (await submit<Probe>(node, "lean_state", null)).phase === "off", { timeoutMs: 10_000, intervalMs: 200, what: "lean idle to end" });
    expect(await submit<Probe>(node, "lean_state", null)).toMatchObject({ phase: "off", youngGeneration: false, compilers: false, restoredBecause: "busy" });
    expect(node.stderr()).toMatch(/"msg":"lean idle: the node is busy, V8 defaults restored"/);
  });

  it("AGENT_MESH_LEAN_IDLE=false: the node starts with V8's defaults, and its young generation grows while it starts", async () => {
    const node = await startProbe("lean2", { AGENT_MESH_LEAN_IDLE: "false" });
    const state = await submit<Probe>(node, "lean_state", null);
    expect(state).toMatchObject({ phase: "off", youngGeneration: false, compilers: false });
    expect(state.restoredBecause).toBeUndefined();
    expect(state.newSpaceBytes).toBeGreaterThan(INITIAL_NEW_SPACE);
  });

  it("a young-generation option of the user's own (NODE_OPTIONS) leaves the young generation alone, not the compilers", async () => {
    const node = await startProbe("lean3", { NODE_OPTIONS: "--max-semi-space-size=4" });
    expect(await submit<Probe>(node, "lean_state", null)).toMatchObject({ phase: "idle", youngGeneration: false, compilers: true });
  });

  it("a malformed AGENT_MESH_LEAN_IDLE_BUSY is a usage error naming the variable", async () => {
    const r = await procs.run(["node", "--id", "lean4", "--port", "0", "--capabilities", "echo"], 30_000, { AGENT_MESH_LEAN_IDLE_BUSY: "lots" });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/^agent-mesh node: AGENT_MESH_LEAN_IDLE_BUSY: expected a fraction of one core above 0 and at most 64, got "lots"$/m);
  });
});
