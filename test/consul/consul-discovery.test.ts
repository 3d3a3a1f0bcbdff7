/**
 * ConsulDiscovery against the Consul double: in-process AgentNodes on real gRPC (loopback) register themselves with
 * their capabilities as tags and a gRPC check that the double really runs against their health service, see each
 * other, route tasks across the mesh, leave the view when killed (once the check fails) or stopped (deregistered at
 * once), and register again by themselves when Consul restarts empty or appears late.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { ConsulConfig } from "../../src/discovery/consul-config.js";
import type { ConsulDiscovery } from "../../src/discovery/consul.js";
import type { AgentNode } from "../../src/node/agent-node.js";
import { waitFor } from "../helpers/wait.js";
import { ConsulWorld, registryIds, whoRan } from "./consul-world.js";

let world: ConsulWorld;

afterEach(async () => {
  await world?.close();
});


async function threeNodes(consul: Partial<ConsulConfig> = {}): Promise<AgentNode[]> {
  return Promise.all([
    world.start({ id: "c1", handlers: { echo: whoRan(), work: whoRan(150) }, consul }),
    world.start({ id: "c2", handlers: { work: whoRan(150) }, consul }),
    world.start({ id: "c3", handlers: { work: whoRan(150), ocr: whoRan() }, consul }),
  ]);
}

async function allSeeAll(nodes: AgentNode[], expected: string[]): Promise<void> {
  for (const n of nodes) await waitFor(() => registryIds(n).join() === expected.join(), { what: `${n.id} to list ${expected.join(", ")} (lists ${registryIds(n).join(", ")})`, timeoutMs: 20_000 });
}

describe("Consul discovery", () => {
  it("registers each agent with its capabilities as tags and a gRPC check; every registry lists all three; tasks route across them", async () => {
    world = new ConsulWorld();
    await world.consul.start();
    const nodes = await threeNodes();
    await allSeeAll(nodes, ["c1", "c2", "c3"]);

    for (const n of nodes) {
      const instance = world.consul.instance(n.id)!;
      expect(instance).toMatchObject({ Service: "agent-mesh", Address: "127.0.0.1", Port: Number(n.address.split(":")[1]) });
      expect([...instance.Tags].sort()).toEqual([...n.capabilities].sort());
      expect(instance.Meta).toMatchObject({ version: "0.1.0", am_capacity: "4", am_draining: "false" });
      expect(instance.checks).toHaveLength(1);
      expect(instance.checks[0]).toMatchObject({ Type: "grpc", grpc: n.address, Status: "passing", intervalMs: 500 });
      expect(instance.checks[0].probes).toBeGreaterThan(0); // the double really called grpc.health.v1.Health/Check
    }
    // The registry entries come from Consul: capabilities and capacity included.
    expect(nodes[0].registry.get("c3")).toMatchObject({ address: nodes[2].address, capacity: 4 });
    expect([...nodes[0].registry.get("c3")!.capabilities].sort()).toEqual(["ocr", "work"]);

    const ocr = await nodes[0].submit("ocr", "page");
    expect(ocr).toMatchObject({ agentId: "c3", hops: 1, output: { input: "page", ranOn: "c3" } });
    const outcomes = await Promise.all(Array.from({ length: 9 }, (_, i) => nodes[1].submit("work", i)));
    expect(new Set(outcomes.map((o) => o.agentId)).size).toBeGreaterThan(1);
  });

  it("drops a killed agent from every view once its check fails (it is not deregistered), and Consul reaps it later", async () => {
    world = new ConsulWorld({ minDeregisterCriticalMs: 1500, reapIntervalMs: 200 });
    await world.consul.start();
    const nodes = await threeNodes({ deregisterCriticalAfterMs: 1000 });
    await allSeeAll(nodes, ["c1", "c2", "c3"]);

    await world.crash(nodes[2]);
    await waitFor(() => world.consul.instance("c3")?.checks[0].Status === "critical", { what: "c3's gRPC check to fail" });
    expect(world.consul.instance("c3")).toBeDefined(); // a crash does not deregister
    await allSeeAll(nodes.slice(0, 2), ["c1", "c2"]);
    // The others keep working without it.
    expect(await nodes[0].submit("work", "after")).toMatchObject({ agentId: expect.stringMatching(/^c[12]$/) });
    // DeregisterCriticalServiceAfter (1 m, lowered in the double for the test) removes it.
    await waitFor(() => world.consul.instance("c3") === undefined, { what: "Consul to reap c3", timeoutMs: 15_000 });
  });

  it("deregisters a gracefully stopped agent at once", async () => {
    world = new ConsulWorld();
    await world.consul.start();
    const nodes = await threeNodes();
    await allSeeAll(nodes, ["c1", "c2", "c3"]);

    await nodes[1].stop();
    expect(world.consul.instance("c2")).toBeUndefined();
    expect(world.consul.count("PUT", "/v1/agent/service/deregister/c2")).toBe(1);
    await allSeeAll([nodes[0], nodes[2]], ["c1", "c3"]);
  });

  it("re-registers a changed capability set", async () => {
    world = new ConsulWorld();
    await world.consul.start();
    const nodes = await threeNodes();
    await allSeeAll(nodes, ["c1", "c2", "c3"]);

    nodes[1].announceCapability("translate", whoRan());
    await waitFor(() => world.consul.instance("c2")?.Tags.includes("translate"), { what: "c2's tags to include translate" });
    await waitFor(() => nodes[0].registry.get("c2")?.capabilities.includes("translate"), { what: "c1 to learn c2 translates" });
    expect(await nodes[0].submit("translate", "hola")).toMatchObject({ agentId: "c2" });
    nodes[1].withdrawCapability("translate");
    await waitFor(() => nodes[2].registry.get("c2")?.capabilities.includes("translate") === false, { what: "c3 to learn c2 stopped translating" });
  });

  it("keeps the last known view while Consul is down, and registers again by itself when Consul restarts empty", async () => {
    world = new ConsulWorld();
    await world.consul.start();
    const nodes = await threeNodes();
    await allSeeAll(nodes, ["c1", "c2", "c3"]);

    await world.consul.stop(); // everything it knew is gone
    for (const n of nodes) {
      await waitFor(() => (n.discovery as ConsulDiscovery).watchState.t === "retrying", { what: `${n.id}'s watch to notice` });
    }
    for (const n of nodes) expect(registryIds(n)).toEqual(["c1", "c2", "c3"]);
    expect(await nodes[0].submit("ocr", "still")).toMatchObject({ agentId: "c3" });
    expect(world.logged("c1", "lost Consul", "warn")).toHaveLength(1);

    await world.consul.start(); // same port, empty
    await waitFor(() => ["c1", "c2", "c3"].every((id) => world.consul.instance(id)?.checks[0].Status === "passing"), { what: "all three registered and passing again", timeoutMs: 20_000 });
    await allSeeAll(nodes, ["c1", "c2", "c3"]);
    expect(world.logged("c2", "Consul answers again", "info").length).toBeGreaterThan(0);
  });

  it("starts while Consul is unreachable: logs a clear error, runs, and registers when Consul appears", async () => {
    world = new ConsulWorld();
    await world.consul.start(); // learn a free port, then go away
    await world.consul.stop();

    const started = Date.now();
    const node = await world.start({ id: "late", handlers: { echo: whoRan() } });
    expect(Date.now() - started).toBeLessThan(3000); // start() does not wait for Consul
    expect(node.state.status).toBe("ready");
    await waitFor(() => world.logged("late", "cannot register with Consul", "error").length === 1, { what: "the registration error" });
    const error = world.logged("late", "cannot register with Consul", "error")[0];
    expect(error.msg).toContain(`http://127.0.0.1:${world.consul.port}`);
    expect(error.msg).toContain("is unreachable (ECONNREFUSED); retrying");
    expect(await node.submit("echo", 1)).toMatchObject({ agentId: "late" });

    await world.consul.start();
    await waitFor(() => world.consul.instance("late")?.checks[0].Status === "passing", { what: "the late registration", timeoutMs: 15_000 });
    const other = await world.start({ id: "other", handlers: { ocr: whoRan() } });
    await allSeeAll([node, other], ["late", "other"]);
  });

  it("sends the ACL token from CONSUL_HTTP_TOKEN; without it the registration is refused and retried", async () => {
    world = new ConsulWorld({ aclToken: "s3cret" });
    await world.consul.start();
    const withToken = await world.start({ id: "t1", handlers: { echo: whoRan() }, consul: { token: "s3cret" } });
    const without = await world.start({ id: "t2", handlers: { echo: whoRan() } });
    await waitFor(() => world.consul.instance("t1")?.checks[0].Status === "passing", { what: "t1 registered" });
    await waitFor(() => world.logged("t2", "cannot register with Consul", "error").length === 1, { what: "t2's refusal" });
    expect(world.logged("t2", "cannot register with Consul", "error")[0].msg).toContain("403");
    expect(world.consul.instance("t2")).toBeUndefined();
    expect(registryIds(withToken)).toEqual(["t1"]);
    expect(registryIds(without)).toEqual(["t2"]);
  });

  it("registers again when its registration disappears from the Consul agent", async () => {
    world = new ConsulWorld();
    await world.consul.start();
    const nodes = await threeNodes();
    await allSeeAll(nodes, ["c1", "c2", "c3"]);

    const res = await fetch(`${world.consul.url}/v1/agent/service/deregister/c2`, { method: "PUT" });
    expect(res.status).toBe(200);
    await waitFor(() => world.logged("c2", "registration is gone from Consul", "warn").length > 0, { what: "c2 to notice" });
    await waitFor(() => world.consul.instance("c2")?.checks[0].Status === "passing", { what: "c2 registered again" });
    await allSeeAll(nodes, ["c1", "c2", "c3"]);
  });

  it("TTL mode: each agent passes its own TTL check; a crashed agent's TTL runs out and it leaves the view", async () => {
    world = new ConsulWorld();
    await world.consul.start();
    const consul = { check: "ttl" as const, ttlMs: 1500, ttlPassIntervalMs: 250 };
    const nodes = await Promise.all([world.start({ id: "t1", handlers: { echo: whoRan() }, consul }), world.start({ id: "t2", handlers: { ocr: whoRan() }, consul })]);
    await allSeeAll(nodes, ["t1", "t2"]);
    expect(world.consul.instance("t1")!.checks[0]).toMatchObject({ Type: "ttl", ttlMs: 1500, CheckID: "service:t1" });

    // Over two TTLs the check stays passing: the agent keeps passing it.
    const until = Date.now() + 3000;
    await waitFor(
      () => {
        for (const id of ["t1", "t2"]) expect(world.consul.instance(id)?.checks[0].Status).toBe("passing");
        return Date.now() > until;
      },
      { what: "two TTLs to pass", intervalMs: 50 },
    );
    expect(world.consul.count("PUT", "/v1/agent/check/pass/service:t1")).toBeGreaterThanOrEqual(8);
    expect(await nodes[0].submit("ocr", "x")).toMatchObject({ agentId: "t2" });

    await world.crash(nodes[1]);
    await waitFor(() => world.consul.instance("t2")?.checks[0].Status === "critical", { what: "t2's TTL to run out" });
    expect(world.consul.instance("t2")!.checks[0].Output).toBe("TTL expired");
    await allSeeAll([nodes[0]], ["t1"]);
  });
});
