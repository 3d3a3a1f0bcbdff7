/** AgentNodes on a fresh MemoryNetwork, for unit tests of discovery and routing. */
import { localSwimConfig } from "../../src/membership/config.js";
import { AgentNode } from "../../src/node/agent-node.js";
import type { AgentNodeConfig } from "../../src/node/config.js";
import type { TaskHandler } from "../../src/node/task-runner.js";
import { MemoryNetwork } from "../../src/transport/memory-transport.js";
import { waitFor } from "./wait.js";

/** One node to start: its id, capabilities with handlers, and any config overrides. */
export interface NodeSpec {
  id: string;
  handlers?: Record<string, TaskHandler>;
  config?: Partial<AgentNodeConfig>;
}

/** A mesh of in-memory nodes. */
export interface MemoryMesh {
  network: MemoryNetwork;
  nodes: AgentNode[];
  /** The node with `id`. */
  node(id: string): AgentNode;
  /** Stops every node that is still running. */
  stopAll(): Promise<void>;
}

/** Fast timers for tests: quick gossip and reconnects, short grace periods. */
export const fastNodeConfig: Partial<AgentNodeConfig> = {
  membership: localSwimConfig,
  drainTimeoutMs: 2000,
};

/** Creates (not starts) a node on `network` seeded with `seeds`. */
export function memoryNode(network: MemoryNetwork, spec: NodeSpec, seeds: string[]): AgentNode {
  const node = new AgentNode({
    id: spec.id,
    transportImpl: network.transport({ config: { reconnectInitialMs: 20, reconnectMaxMs: 200, closeGraceMs: 300 } }),
    seeds,
    ...fastNodeConfig,
    ...spec.config,
  });
  for (const [capability, handler] of Object.entries(spec.handlers ?? {})) node.announceCapability(capability, handler);
  return node;
}

/**
 * Starts one node per spec on a fresh network, all seeded with the first one's address, and (unless
 * `converge` is false) waits until every node knows every other with its capabilities.
 */
export async function startMemoryMesh(specs: NodeSpec[], { converge = true } = {}): Promise<MemoryMesh> {
  const network = new MemoryNetwork();
  const nodes: AgentNode[] = [];
  const mesh: MemoryMesh = {
    network,
    nodes,
    node: (id) => {
      const n = nodes.find((x) => x.id === id);
      if (n === undefined) throw new Error(`no node ${id}`);
      return n;
    },
    stopAll: async () => {
      await Promise.all(nodes.map((n) => n.stop()));
    },
  };
  try {
    let seed = "";
    for (const spec of specs) {
      const node = memoryNode(network, spec, seed === "" ? [] : [seed]);
      nodes.push(node);
      await node.start();
      if (seed === "") seed = node.address;
    }
    if (converge) await waitForConvergence(nodes);
  } catch (err) {
    await mesh.stopAll();
    throw err;
  }
  return mesh;
}

/** Waits until every node's registry holds every node with its current capabilities. */
export async function waitForConvergence(nodes: AgentNode[], timeoutMs = 10_000): Promise<void> {
  await waitFor(
    () =>
      nodes.every((viewer) =>
        nodes.every((n) => {
          const seen = viewer.registry.get(n.id);
          return seen !== undefined && [...seen.capabilities].sort().join() === n.capabilities.sort().join();
        }),
      ),
    { what: `${nodes.length} nodes to know each other`, timeoutMs },
  );
}
