/**
 * HybridDiscovery against the Consul double: agents find each other through Consul only (no seeds), and SWIM declares
 * a crashed agent dead within its own seconds bound, while Consul, whose check interval is long here, still lists it
 * as passing.
 */
import { afterEach, describe, expect, it } from "vitest";
import { MemberStatus } from "../../gen/agentmesh/v1/membership_pb.js";
import type { HybridDiscovery } from "../../src/discovery/consul-hybrid.js";
import type { AgentNode } from "../../src/node/agent-node.js";
import { waitFor } from "../helpers/wait.js";
import { ConsulWorld, registryIds, whoRan } from "./consul-world.js";

let world: ConsulWorld;

afterEach(async () => {
  await world?.close();
});


/** SWIM's member list of a node, for failure messages. */
function swimView(n: AgentNode): string {
  const d = n.discovery as HybridDiscovery;
  const members = d.embedded.allMembers().map((m) => `${m.id}:${MemberStatus[m.status]}:${m.incarnation}`).join(" ");
  const links = n.transport.links().map((l) => `${l.direction}:${l.peer?.id ?? l.remoteAddress}:${l.state.t}`).join(" ");
  return `members ${members}; links ${links}; swim ${JSON.stringify(d.embedded.protocol?.stats)}`;
}

describe("hybrid discovery (Consul finds peers, SWIM detects failures)", () => {
  it("joins agents through Consul alone and drops a crashed one long before Consul's check notices", async () => {
    world = new ConsulWorld();
    await world.consul.start();
    // A Consul check interval far longer than SWIM's detection bound (and a generous timeout, so that a loaded machine
    // does not fail the first check and keep an agent critical for a whole interval).
    const spec = (id: string, capability: string) => ({ id, mode: "hybrid" as const, handlers: { [capability]: whoRan() }, consul: { checkIntervalMs: 30_000, checkTimeoutMs: 10_000 } });
    const nodes = await Promise.all([world.start(spec("h1", "echo")), world.start(spec("h2", "ocr")), world.start(spec("h3", "translate"))]);
    for (const n of nodes) await waitFor(() => registryIds(n).join() === "h1,h2,h3", { what: `${n.id} to list all three`, timeoutMs: 30_000 });
    for (const n of nodes) {
      const swim = (n.discovery as HybridDiscovery).embedded;
      expect(swim.members().map((m) => m.id).sort()).toEqual(["h1", "h2", "h3"].filter((id) => id !== n.id));
      expect(world.consul.instance(n.id)?.checks[0]).toMatchObject({ Type: "grpc", Status: "passing" });
    }
    expect(await nodes[0].submit("translate", "bonjour")).toMatchObject({ agentId: "h3" });

    const crashedAt = Date.now();
    await world.crash(nodes[2]);
    for (const n of nodes.slice(0, 2)) {
      await waitFor(() => registryIds(n).join() === "h1,h2", { what: `${n.id} to drop h3 (${swimView(n)})`, timeoutMs: 15_000 });
    }
    const detectedInMs = Date.now() - crashedAt;
    // Consul has not noticed yet: its next check of h3 is 30 s after the last.
    expect(world.consul.instance("h3")?.checks[0].Status).toBe("passing");
    expect(detectedInMs).toBeLessThan(5000); // Consul's default check interval alone is 5 s
    expect((nodes[0].discovery as HybridDiscovery).embedded.allMembers().find((m) => m.id === "h3")?.status).toBe(MemberStatus.DEAD);
  });

  it("deregisters from Consul and leaves SWIM gracefully on stop", async () => {
    world = new ConsulWorld();
    await world.consul.start();
    const nodes = await Promise.all(["g1", "g2"].map((id) => world.start({ id, mode: "hybrid", handlers: { echo: whoRan() } })));
    for (const n of nodes) await waitFor(() => registryIds(n).join() === "g1,g2", { what: `${n.id} to list both`, timeoutMs: 20_000 });
    await nodes[1].stop();
    expect(world.consul.instance("g2")).toBeUndefined();
    await waitFor(() => registryIds(nodes[0]).join() === "g1", { what: "g1 to drop g2" });
    const g2 = (nodes[0].discovery as HybridDiscovery).embedded.allMembers().find((m) => m.id === "g2");
    expect(g2?.status).toBe(MemberStatus.LEFT);
  });
});
