/** Contract worlds of three AgentNodes whose MeshMessageBus the agents use. */
import { localSwimConfig } from "../../src/membership/config.js";
import { AgentNode } from "../../src/node/agent-node.js";
import type { AgentNodeConfig } from "../../src/node/config.js";
import { AGENTS, type AgentId, type BusWorld } from "./bus-contract.js";
import { waitFor } from "../helpers/wait.js";

/**
 * Starts agents a, b and c (a first, the others seeded with a's address), waits until every registry knows
 * all three, and returns them as a contract world. `config(id)` gives each node its transport and the like.
 */
export async function nodeWorld(config: (id: AgentId) => Partial<AgentNodeConfig>): Promise<BusWorld> {
  const nodes = new Map<AgentId, AgentNode>();
  try {
    const base = (id: AgentId): AgentNodeConfig => ({
      id,
      membership: localSwimConfig,
      transport: { reconnectInitialMs: 20, reconnectMaxMs: 200, closeGraceMs: 500 },
      drainTimeoutMs: 500,
      ...config(id),
    });
    const first = await AgentNode.start(base("a"));
    nodes.set("a", first);
    for (const id of ["b", "c"] as const) nodes.set(id, await AgentNode.start({ ...base(id), seeds: [first.address] }));
    await waitFor(() => [...nodes.values()].every((n) => n.registry.size === AGENTS.length), { what: "every node to know all three", timeoutMs: 10_000 });
  } catch (err) {
    await Promise.all([...nodes.values()].map((n) => n.stop()));
    throw err;
  }
  const node = (id: AgentId) => {
    const n = nodes.get(id);
    if (n === undefined) throw new Error(`no node ${id}`);
    return n;
  };
  return {
    bus: (id) => node(id).bus,
    register: (id, handler) => node(id).onMessage(handler),
    cleanup: async () => {
      await Promise.all([...nodes.values()].map((n) => n.stop()));
    },
  };
}
