import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { AgentInfoSchema, MemberStatus, type AgentInfo } from "../../gen/agentmesh/v1/membership_pb.js";
import type { Discovery, DiscoveryEvent } from "../../src/discovery/discovery.js";
import { AgentRegistry } from "../../src/discovery/registry.js";

const info = (id: string, capabilities: string[], extra: { load?: number; capacity?: number; status?: MemberStatus } = {}): AgentInfo =>
  create(AgentInfoSchema, { id, capabilities, address: `mem:${id}`, status: MemberStatus.ALIVE, ...extra });

const ids = (agents: AgentInfo[]) => agents.map((a) => a.id).sort();

function recorder(registry: AgentRegistry) {
  const events: string[] = [];
  const off = registry.watch((kind, agent) => events.push(`${kind}:${agent.id}`));
  return { events, off };
}

describe("AgentRegistry", () => {
  it("finds agents by capability", async () => {
    const r = new AgentRegistry();
    await r.register(info("a", ["echo", "ocr"]));
    await r.register(info("b", ["echo"]));
    await r.register(info("c", []));
    expect(ids(await r.findByCapability("echo"))).toEqual(["a", "b"]);
    expect(ids(await r.findByCapability("ocr"))).toEqual(["a"]);
    expect(await r.findByCapability("translate")).toEqual([]);
    expect(ids(await r.getAll())).toEqual(["a", "b", "c"]);
    expect(r.knownCapabilities().sort()).toEqual(["echo", "ocr"]);
    expect(r.size).toBe(3);
  });

  it("re-indexes an agent whose capabilities change", async () => {
    const r = new AgentRegistry();
    await r.register(info("a", ["echo", "ocr"]));
    await r.register(info("a", ["ocr", "translate"]));
    expect(ids(r.withCapability("echo"))).toEqual([]);
    expect(ids(r.withCapability("translate"))).toEqual(["a"]);
    expect(r.knownCapabilities().sort()).toEqual(["ocr", "translate"]);
  });

  it("re-indexes an agent whose own info object was changed and put again", () => {
    // A node keeps its live AgentInfo in its registry and puts it again after each change.
    const r = new AgentRegistry();
    const self = info("self", ["echo", "ocr"]);
    r.put(self);
    self.capabilities.splice(self.capabilities.indexOf("ocr"), 1);
    self.capabilities.push("translate");
    r.put(self);
    expect(ids(r.withCapability("ocr"))).toEqual([]);
    expect(ids(r.withCapability("translate"))).toEqual(["self"]);
    expect(ids(r.withCapability("echo"))).toEqual(["self"]);
    expect(r.knownCapabilities().sort()).toEqual(["echo", "translate"]);
  });

  it("forgets a deregistered agent and its capabilities", async () => {
    const r = new AgentRegistry();
    await r.register(info("a", ["ocr"]));
    await r.register(info("b", ["echo"]));
    await r.deregister("a");
    expect(r.get("a")).toBeUndefined();
    expect(await r.findByCapability("ocr")).toEqual([]);
    expect(r.knownCapabilities()).toEqual(["echo"]);
    await r.deregister("never-known"); // harmless
    expect(r.size).toBe(1);
  });

  it("fires join, update and leave", async () => {
    const r = new AgentRegistry();
    const { events } = recorder(r);
    const joined: string[] = [];
    const left: string[] = [];
    const updated: string[] = [];
    r.onAgentJoin((a) => joined.push(a.id));
    r.onAgentLeave((id) => left.push(id));
    r.onAgentUpdate((a) => updated.push(a.id));
    await r.register(info("a", ["x"]));
    await r.register(info("a", ["x", "y"]));
    await r.deregister("a");
    await r.deregister("a");
    expect(events).toEqual(["join:a", "update:a", "leave:a"]);
    expect(joined).toEqual(["a"]);
    expect(updated).toEqual(["a"]);
    expect(left).toEqual(["a"]);
  });

  it("stops calling a watcher after it unsubscribes, and a throwing watcher does not stop the others", async () => {
    const r = new AgentRegistry();
    r.watch(() => {
      throw new Error("bad listener");
    });
    const { events, off } = recorder(r);
    await r.register(info("a", []));
    off();
    await r.register(info("b", []));
    expect(events).toEqual(["join:a"]);
    expect(r.size).toBe(2);
  });

  it("records observed load on the agent", async () => {
    const r = new AgentRegistry();
    await r.register(info("a", ["x"], { load: 0, capacity: 4 }));
    r.observeLoad("a", 3, 8);
    expect(r.get("a")?.load).toBe(3);
    expect(r.get("a")?.capacity).toBe(8);
    r.observeLoad("a", 1, 0); // capacity 0 means unknown: keep the last
    expect(r.get("a")?.capacity).toBe(8);
    r.observeLoad("ghost", 1, 1);
    expect(r.get("ghost")).toBeUndefined();
  });

  it("follows a discovery: its members, then its join, update and leave events", () => {
    const listeners = new Set<(e: DiscoveryEvent) => void>();
    const discovery = {
      members: () => [info("a", ["x"], { status: MemberStatus.UNSPECIFIED })],
      onEvent: (l: (e: DiscoveryEvent) => void) => {
        listeners.add(l);
        return () => listeners.delete(l);
      },
    } as unknown as Discovery;
    const emit = (e: DiscoveryEvent) => listeners.forEach((l) => l(e));
    const r = new AgentRegistry();
    const { events } = recorder(r);
    const stop = r.follow(discovery);
    expect(r.get("a")?.status).toBe(MemberStatus.ALIVE);
    const b = info("b", ["y"]);
    emit({ t: "join", agent: b });
    emit({ t: "update", agent: info("b", ["y", "z"]) });
    emit({ t: "leave", agent: info("a", []), reason: "left" });
    expect(events).toEqual(["join:a", "join:b", "update:b", "leave:a"]);
    expect(ids(r.withCapability("z"))).toEqual(["b"]);
    // The registry keeps its own copy: changing the discovery's object does not change it.
    b.capabilities.push("sneaky");
    expect(r.withCapability("sneaky")).toEqual([]);
    stop();
    emit({ t: "join", agent: info("c", []) });
    expect(r.get("c")).toBeUndefined();
  });
});
