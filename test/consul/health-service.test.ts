/**
 * grpc.health.v1.Health on a real node over gRPC, called by an @grpc/grpc-js client (what Consul's gRPC check and
 * Kubernetes' gRPC probes use): Check and Watch, overall ("") and per service, NOT_SERVING while draining before
 * the node stops, and Watch streams that end when it stops.
 */
import * as grpc from "@grpc/grpc-js";
import { afterEach, describe, expect, it } from "vitest";
import { AgentNode } from "../../src/node/agent-node.js";
import { waitFor } from "../helpers/wait.js";
import { GrpcHealthClient, ServingStatus } from "./grpc-health.js";

const nodes: AgentNode[] = [];
const clients: GrpcHealthClient[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await Promise.all(nodes.splice(0).map((n) => n.stop().catch(() => {})));
});

async function startNode(id: string): Promise<{ node: AgentNode; health: GrpcHealthClient; release: () => void }> {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  // A long close grace makes a Watch that held the shutdown plain to see.
  const node = new AgentNode({ id, drainTimeoutMs: 20_000, transport: { closeGraceMs: 6000 } });
  node.announceCapability("hold", () => gate.then(() => "released"));
  await node.start();
  nodes.push(node);
  const health = new GrpcHealthClient(node.address);
  clients.push(health);
  return { node, health, release };
}

describe("grpc.health.v1.Health over gRPC", () => {
  it("answers Check for the whole server and for each service, and NOT_FOUND for an unknown one", async () => {
    const { health } = await startNode("health-1");
    expect(await health.check("")).toBe(ServingStatus.SERVING);
    expect(await health.check("agentmesh.v1.AgentService")).toBe(ServingStatus.SERVING);
    expect(await health.check("agentmesh.v1.MeshService")).toBe(ServingStatus.SERVING);
    const err = await health.check("no.such.Service").then(
      () => undefined,
      (e: grpc.ServiceError) => e,
    );
    expect(err?.code).toBe(grpc.status.NOT_FOUND);
    expect(err?.details).toContain("no.such.Service");
  });

  it("Watch on an unknown service sends SERVICE_UNKNOWN and keeps the call open", async () => {
    const { health } = await startNode("health-2");
    const watch = health.watch("no.such.Service");
    await waitFor(() => watch.statuses.length > 0, { what: "the first Watch message" });
    expect(watch.statuses).toEqual([ServingStatus.SERVICE_UNKNOWN]);
    expect(watch.ended).toBeUndefined();
    watch.cancel();
    await waitFor(() => watch.ended === grpc.status.CANCELLED, { what: "the cancelled Watch to end" });
  });

  it("reports NOT_SERVING while draining, before the node stops; Watch sees SERVING then NOT_SERVING and ends on stop", async () => {
    const { node, health, release } = await startNode("health-3");
    const overall = health.watch("");
    const agentService = health.watch("agentmesh.v1.AgentService");
    await waitFor(() => overall.statuses.length > 0 && agentService.statuses.length > 0, { what: "the first Watch messages" });
    expect(overall.statuses).toEqual([ServingStatus.SERVING]);

    const task = node.submit("hold", null);
    await waitFor(() => node.state.load === 1, { what: "the held task to run" });
    const stopped = node.stop();
    // Draining: the held task keeps the node from stopping, and health already says NOT_SERVING.
    await waitFor(() => overall.statuses.at(-1) === ServingStatus.NOT_SERVING, { what: "Watch to report NOT_SERVING" });
    expect(node.state.status).toBe("draining");
    expect(await health.check("")).toBe(ServingStatus.NOT_SERVING);
    expect(await health.check("agentmesh.v1.AgentService")).toBe(ServingStatus.NOT_SERVING);
    expect(overall.ended).toBeUndefined();

    release();
    await expect(task).resolves.toMatchObject({ output: "released" });
    const started = Date.now();
    await stopped;
    // The Watch streams end with the node (they do not hold the server's close for its grace period).
    await waitFor(() => overall.ended !== undefined && agentService.ended !== undefined, { what: "the Watch streams to end", timeoutMs: 5000 });
    expect(Date.now() - started).toBeLessThan(4000);
    expect(overall.statuses).toEqual([ServingStatus.SERVING, ServingStatus.NOT_SERVING]);
    expect(agentService.statuses).toEqual([ServingStatus.SERVING, ServingStatus.NOT_SERVING]);
    expect(overall.ended).toBe(grpc.status.OK);
  });
});
