/**
 * Five (or more) AgentNodes on one fault-injecting MemoryNetwork, with helpers that read each node's SWIM
 * view: who it holds alive, suspect, dead or left, and every registry leave it fired.
 */
import { MemberStatus } from "../../gen/agentmesh/v1/membership_pb.js";
import type { EmbeddedDiscovery } from "../../src/discovery/embedded.js";
import type { AgentNode } from "../../src/node/agent-node.js";
import type { AgentNodeConfig } from "../../src/node/config.js";
import type { TaskHandler } from "../../src/node/task-runner.js";
import { MemoryNetwork, type MemoryNetworkOptions } from "../../src/transport/memory-transport.js";
import { memoryNode, waitForConvergence } from "../helpers/memory-mesh.js";

/** A running cluster. */
export interface Cluster {
  network: MemoryNetwork;
  nodes: AgentNode[];
  /** The node with `id`. */
  node(id: string): AgentNode;
  /** The status `viewer` holds for `id` (undefined: not listed, e.g. forgotten). */
  statusOf(viewer: AgentNode, id: string): MemberStatus | undefined;
  /** True when every node of `viewers` holds every node of `subjects` as `status`. */
  allSee(viewers: AgentNode[], subjects: AgentNode[], status: MemberStatus): boolean;
  /** Registry leaves fired so far, as "viewer:left" strings. */
  leaves: string[];
  /** Stops every node. */
  stop(): Promise<void>;
}

/** Starts nodes n1..n{count} seeded with n1, each with `handlers(id)` and `config` overrides, and waits until all know all. */
export async function startCluster(
  count: number,
  {
    handlers = () => ({}),
    network: networkOptions = {},
    config,
  }: { handlers?: (id: string) => Record<string, TaskHandler>; network?: MemoryNetworkOptions; config?: Partial<AgentNodeConfig> } = {},
): Promise<Cluster> {
  const network = new MemoryNetwork(networkOptions);
  const nodes: AgentNode[] = [];
  const leaves: string[] = [];
  const cluster: Cluster = {
    network,
    nodes,
    leaves,
    node: (id) => {
      const n = nodes.find((x) => x.id === id);
      if (n === undefined) throw new Error(`no node ${id}`);
      return n;
    },
    statusOf: (viewer, id) => (viewer.discovery as EmbeddedDiscovery).allMembers().find((m) => m.id === id)?.status,
    allSee: (viewers, subjects, status) =>
      viewers.every((v) => subjects.every((s) => s === v || cluster.statusOf(v, s.id) === status)),
    stop: async () => {
      await Promise.all(nodes.map((n) => n.stop()));
    },
  };
  try {
    let seed = "";
    for (let i = 1; i <= count; i++) {
      const id = `n${i}`;
      const node = memoryNode(network, { id, handlers: handlers(id), config }, seed === "" ? [] : [seed]);
      nodes.push(node);
      node.registry.onAgentLeave((left) => leaves.push(`${id}:${left}`));
      await node.start();
      if (seed === "") seed = node.address;
    }
    await waitForConvergence(nodes, 15_000);
  } catch (err) {
    await cluster.stop();
    throw err;
  }
  return cluster;
}
