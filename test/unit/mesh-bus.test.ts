import { create } from "@bufbuild/protobuf";
import { afterEach, describe, expect, it } from "vitest";
import { AgentInfoSchema, MemberStatus } from "../../gen/agentmesh/v1/membership_pb.js";
import { MeshMessageBus } from "../../src/bus/mesh-bus.js";
import { Code, MeshError } from "../../src/protocol/errors.js";
import { MemoryNetwork, type MemoryTransport } from "../../src/transport/memory-transport.js";
import { waitFor } from "../helpers/wait.js";

const transports: MemoryTransport[] = [];
afterEach(async () => {
  await Promise.all(transports.splice(0).map((t) => t.stop()));
});

/** Agents with a MeshMessageBus each on one network, knowing each other's addresses. */
async function agents(network: MemoryNetwork, ids: string[]) {
  const addresses = new Map<string, string>();
  const out = new Map<string, { bus: MeshMessageBus; transport: MemoryTransport; requestsIn: string[] }>();
  for (const id of ids) {
    const transport = network.transport({ config: { reconnectInitialMs: 10, reconnectMaxMs: 50, closeGraceMs: 200 } });
    transports.push(transport);
    addresses.set(id, transport.address);
    const bus = new MeshMessageBus({
      selfId: id,
      transport,
      directory: { addressOf: (x) => addresses.get(x), peerIds: () => [...addresses.keys()].filter((x) => x !== id) },
      config: { retryInitialMs: 10, maxAttempts: 5 },
    });
    const info = create(AgentInfoSchema, { id, status: MemberStatus.ALIVE, address: transport.address });
    const requestsIn: string[] = [];
    await transport.start({
      localInfo: () => info,
      onEnvelope: (env, link) => {
        if (env.expectsReply) requestsIn.push(env.messageId);
        bus.receive(env, link);
      },
    });
    out.set(id, { bus, transport, requestsIn });
  }
  const get = (id: string) => {
    const x = out.get(id);
    if (x === undefined) throw new Error(`no agent ${id}`);
    return x;
  };
  return get;
}

describe("MeshMessageBus", () => {
  it("watches a link's state once for many requests, and lets go of it when the link closes", async () => {
    const network = new MemoryNetwork();
    const agent = await agents(network, ["a", "b"]);
    agent("b").bus.attach("b", (m) => m.payload);
    const link = agent("a").transport.linkTo("b", agent("b").transport.address);
    let watching = 0;
    const onState = link.onState.bind(link);
    link.onState = (listener) => {
      watching++;
      const off = onState(listener);
      return () => {
        watching--;
        return off();
      };
    };
    for (let i = 1; i <= 50; i++) expect((await agent("a").bus.request("b", { type: "q", payload: i })).payload).toBe(i);
    expect(agent("a").transport.peerLink("b")).toBe(link);
    expect(watching).toBe(1);
    link.close("test");
    await waitFor(() => link.state.t === "closed", { what: "the link to close" });
    expect(watching).toBe(0);
    expect((await agent("a").bus.request("b", { type: "q", payload: "again" })).payload).toBe("again");
  });

  it("retries a request whose link broke with the same id, and the handler runs once", async () => {
    const network = new MemoryNetwork();
    const agent = await agents(network, ["a", "b"]);
    let calls = 0;
    let release: (() => void) | undefined;
    agent("b").bus.attach("b", async (m) => {
      calls++;
      await new Promise<void>((r) => (release = r));
      return { answered: m.payload };
    });
    const reply = agent("a").bus.request("b", { id: "req-1", type: "q", payload: 7 }, { timeoutMs: 10_000 });
    await waitFor(() => release !== undefined, { what: "the handler to start" });
    network.cutBetween(agent("a").transport.address, agent("b").transport.address);
    // The retry reaches b over a new link while the handler still runs.
    await waitFor(() => agent("b").requestsIn.length >= 2, { what: "the retry to arrive" });
    expect(new Set(agent("b").requestsIn)).toEqual(new Set(["req-1"]));
    release?.();
    const got = await reply;
    expect(got.payload).toEqual({ answered: 7 });
    expect(got.from).toBe("b");
    expect(calls).toBe(1);
    expect(agent("a").bus.pendingCount).toBe(0);
  });

  it("answers requests and messages an agent sends to itself", async () => {
    const network = new MemoryNetwork();
    const agent = await agents(network, ["a"]);
    const seen: string[] = [];
    agent("a").bus.attach("a", (m) => {
      seen.push(m.type);
      return m.type === "q" ? "self-answer" : undefined;
    });
    const reply = await agent("a").bus.request("a", { type: "q", payload: null });
    await agent("a").bus.send("a", { type: "note", payload: null });
    expect(reply).toMatchObject({ payload: "self-answer", from: "a", to: "a" });
    expect(seen).toEqual(["q", "note"]);
    expect(network.framesDelivered).toBe(0);
  });

  it("fails pending requests with UNAVAILABLE when closed", async () => {
    const network = new MemoryNetwork();
    const agent = await agents(network, ["a", "b"]);
    let started = false;
    agent("b").bus.attach("b", () => {
      started = true;
      return new Promise(() => {});
    });
    const pending = agent("a").bus.request("b", { type: "q", payload: null }).catch((err: unknown) => err);
    await waitFor(() => started, { what: "the request to arrive" });
    expect(agent("a").bus.pendingCount).toBe(1);
    agent("a").bus.close();
    const err = await pending;
    expect(err).toBeInstanceOf(MeshError);
    expect((err as MeshError).code).toBe(Code.Unavailable);
    expect((err as MeshError).message).toContain("agent a is stopping");
    expect(agent("a").bus.pendingCount).toBe(0);
  });

  it("refuses to attach a handler for another agent", () => {
    const bus = new MeshMessageBus({ selfId: "a", transport: new MemoryNetwork().transport(), directory: { addressOf: () => undefined, peerIds: () => [] } });
    expect(() => bus.attach("b", () => {})).toThrow(MeshError);
  });

  it("answers UNIMPLEMENTED for a request to an agent with no handlers", async () => {
    const network = new MemoryNetwork();
    const agent = await agents(network, ["a", "b"]);
    const err = await agent("a").bus.request("b", { type: "q", payload: null }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MeshError);
    expect((err as MeshError).code).toBe(Code.Unimplemented);
    expect((err as MeshError).message).toContain("agent b");
  });
});
