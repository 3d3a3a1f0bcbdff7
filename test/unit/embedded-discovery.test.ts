import { afterEach, describe, expect, it } from "vitest";
import { localSwimConfig } from "../../src/membership/config.js";
import { AgentNode } from "../../src/node/agent-node.js";
import { MemoryNetwork } from "../../src/transport/memory-transport.js";
import { memoryNode, waitForConvergence } from "../helpers/memory-mesh.js";
import { waitFor } from "../helpers/wait.js";

const running: AgentNode[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((n) => n.stop()));
});

/** Five nodes, each seeded only with node 1, recording every registry event. */
async function fiveNodes() {
  const network = new MemoryNetwork();
  const events = new Map<string, string[]>();
  const nodes: AgentNode[] = [];
  let seed = "";
  for (let i = 1; i <= 5; i++) {
    const id = `n${i}`;
    const node = memoryNode(network, { id, handlers: { [`skill-${i}`]: () => id } }, seed === "" ? [] : [seed]);
    const log: string[] = [];
    events.set(id, log);
    node.registry.watch((kind, agent) => log.push(`${kind}:${agent.id}`));
    running.push(node);
    nodes.push(node);
    await node.start();
    if (seed === "") seed = node.address;
  }
  return { network, nodes, events };
}

describe("EmbeddedDiscovery", () => {
  it("brings five nodes seeded only with node 1 to everyone knowing everyone, with capabilities and addresses", async () => {
    const { nodes, events } = await fiveNodes();
    await waitForConvergence(nodes);
    for (const viewer of nodes) {
      expect(viewer.registry.all().map((a) => a.id).sort()).toEqual(["n1", "n2", "n3", "n4", "n5"]);
      for (const n of nodes) {
        expect(viewer.registry.get(n.id)?.address).toBe(n.address);
        expect(viewer.registry.withCapability(n.capabilities[0]).map((a) => a.id)).toEqual([n.id]);
      }
      // Each other agent joined once in each registry.
      const joins = (events.get(viewer.id) ?? []).filter((e) => e.startsWith("join:") && e !== `join:${viewer.id}`);
      expect([...joins].sort()).toEqual(nodes.filter((n) => n !== viewer).map((n) => `join:${n.id}`));
      expect((await viewer.discoverPeers()).map((a) => a.id).sort()).toEqual(nodes.filter((n) => n !== viewer).map((n) => n.id));
    }
  });

  it("spreads a capability announced later to every node", async () => {
    const { nodes } = await fiveNodes();
    await waitForConvergence(nodes);
    nodes[4].announceCapability("late-skill", () => "late");
    await waitFor(() => nodes.every((n) => n.registry.withCapability("late-skill").map((a) => a.id).join() === "n5"), {
      what: "every node to learn late-skill",
    });
    nodes[4].withdrawCapability("late-skill");
    await waitFor(() => nodes.every((n) => n.registry.withCapability("late-skill").length === 0), { what: "every node to forget late-skill" });
    expect(nodes[4].capabilities).toEqual(["skill-5"]);
  });

  it("makes the others fire leave for a node that stops gracefully, and it does not come back", async () => {
    const { nodes, events } = await fiveNodes();
    await waitForConvergence(nodes);
    const leaving = nodes[2];
    const others = nodes.filter((n) => n !== leaving);
    const left = new Map<string, string[]>(others.map((n) => [n.id, []]));
    const sawDraining = new Set<string>();
    for (const n of others) {
      n.registry.onAgentLeave((id) => left.get(n.id)?.push(id));
      n.registry.onAgentUpdate((a) => a.id === "n3" && a.draining && sawDraining.add(n.id));
    }
    await leaving.stop();
    expect(leaving.state.status).toBe("stopped");
    await waitFor(() => others.every((n) => left.get(n.id)?.join() === "n3"), { what: "every other node to see n3 leave" });
    // Before it left, the others heard it was draining.
    expect([...sawDraining].sort()).toEqual(others.map((n) => n.id));
    for (const n of others) {
      const log = events.get(n.id) ?? [];
      expect(log.lastIndexOf("leave:n3")).toBeGreaterThan(log.lastIndexOf("update:n3"));
    }
    // Later gossip (proved by a new capability reaching everyone) does not revive it.
    others[0].announceCapability("after-leave", () => 1);
    await waitFor(() => others.every((n) => n.registry.withCapability("after-leave").length === 1), { what: "gossip after the leave" });
    for (const n of others) {
      expect(n.registry.get("n3")).toBeUndefined();
      expect(n.registry.size).toBe(4);
      expect(left.get(n.id)).toEqual(["n3"]);
    }
  });

  it("lets a node join through a seed that started after it", async () => {
    const network = new MemoryNetwork();
    const seedTransportAddress = "mem:seed";
    const early = memoryNode(network, { id: "early", handlers: { x: () => 1 } }, [seedTransportAddress]);
    running.push(early);
    await early.start();
    const seed = new AgentNode({ id: "seed", transportImpl: network.transport({ address: seedTransportAddress }), membership: localSwimConfig });
    running.push(seed);
    await seed.start();
    await waitForConvergence([early, seed]);
    expect(seed.registry.get("early")?.capabilities).toEqual(["x"]);
  });
});
