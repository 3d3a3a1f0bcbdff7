/**
 * The pure parts of the Consul discovery, by table: blocking-query index rules and the token bucket, address and
 * environment parsing, durations, the service record both ways (Consul's meta limits included), and the view's events.
 */
import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { AgentInfoSchema, type AgentInfo } from "../../gen/agentmesh/v1/membership_pb.js";
import { nextBlockingIndex, parseConsulIndex, TokenBucket } from "../../src/discovery/consul-blocking.js";
import { goDuration, parseConsulAddress, resolveConsulConfig } from "../../src/discovery/consul-config.js";
import type { HealthEntry } from "../../src/discovery/consul-client.js";
import { agentFromEntry, consulMeta, serviceRegistration, splitHostPort } from "../../src/discovery/consul-service.js";
import { ConsulView } from "../../src/discovery/consul-view.js";
import { Code, MeshError } from "../../src/protocol/errors.js";

function info(overrides: MessageInitShape<typeof AgentInfoSchema> = {}): AgentInfo {
  return create(AgentInfoSchema, { id: "a1", address: "10.0.0.5:7001", capabilities: ["echo", "ocr"], capacity: 4, startedAtMs: 1700000000000n, meta: { version: "0.1.0" }, ...overrides });
}

function entry(id: string, opts: { tags?: string[]; status?: string; meta?: Record<string, string>; address?: string; port?: number } = {}): HealthEntry {
  return {
    Node: { Node: "n1", Address: "192.0.2.1" },
    Service: { ID: id, Service: "agent-mesh", Tags: opts.tags ?? ["echo"], Address: opts.address ?? "127.0.0.1", Port: opts.port ?? 7000, Meta: { am_capacity: "2", am_draining: "false", ...opts.meta } },
    Checks: [
      { CheckID: "serfHealth", Status: "passing" },
      { CheckID: `service:${id}`, Status: opts.status ?? "passing", ServiceID: id },
    ],
  };
}

function invalidArgument(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(MeshError);
    expect((err as MeshError).code).toBe(Code.InvalidArgument);
    return (err as MeshError).message;
  }
  throw new Error("expected INVALID_ARGUMENT");
}

describe("blocking query rules", () => {
  it.each<[bigint, bigint | undefined, bigint, string]>([
    [0n, 57n, 57n, "first answer: block on the index returned"],
    [57n, 60n, 60n, "moved forward"],
    [57n, 57n, 57n, "unchanged (a timeout): block again on it"],
    [57n, 3n, 0n, "went backwards: reset to 0"],
    [0n, 0n, 1n, "zero: at least 1"],
    [0n, undefined, 1n, "no header: at least 1"],
  ])("from %s with X-Consul-Index %s → %s (%s)", (previous, returned, expected, _why) => {
    expect(nextBlockingIndex(previous, returned)).toBe(expected);
  });

  it("parses X-Consul-Index", () => {
    expect(parseConsulIndex("42")).toBe(42n);
    expect(parseConsulIndex(["7"])).toBe(7n);
    expect(parseConsulIndex(undefined)).toBeUndefined();
    expect(parseConsulIndex("-1")).toBeUndefined();
    expect(parseConsulIndex("x")).toBeUndefined();
  });

  it("token bucket: a burst of 2, then one round per interval", () => {
    let now = 0;
    const bucket = new TokenBucket(2, 1000, () => now);
    expect(bucket.take()).toBe(0);
    expect(bucket.take()).toBe(0);
    expect(bucket.take()).toBe(1000);
    now = 400;
    expect(bucket.take()).toBe(600);
    now = 1000;
    expect(bucket.take()).toBe(0);
    expect(bucket.take()).toBe(1000);
    now = 10_000; // long quiet: the bucket refills to its burst, no more
    expect([bucket.take(), bucket.take(), bucket.take()]).toEqual([0, 0, 1000]);
  });
});

describe("Consul configuration", () => {
  it.each([
    ["127.0.0.1:8500", { secure: false, host: "127.0.0.1", port: 8500 }],
    ["http://consul.service:18500", { secure: false, host: "consul.service", port: 18500 }],
    ["https://[::1]:8501/", { secure: true, host: "::1", port: 8501 }],
    ["consul.local", { secure: false, host: "consul.local", port: 8500 }],
  ])("parses %s", (text, expected) => {
    expect(parseConsulAddress(text)).toEqual(expected);
  });

  it.each(["unix:///var/run/consul.sock", "http://h:99999", "http://h:8500/v1/agent", ""])("refuses %j naming the option", (text) => {
    expect(invalidArgument(() => parseConsulAddress(text, "--consul-addr"))).toContain("--consul-addr");
  });

  it("takes the address and token from the environment, options win, CONSUL_HTTP_SSL makes a bare host:port https", () => {
    const env = { CONSUL_HTTP_ADDR: "10.1.1.1:8500", CONSUL_HTTP_TOKEN: "tok" };
    expect(resolveConsulConfig({}, env)).toMatchObject({ token: "tok", endpoint: { host: "10.1.1.1", port: 8500, secure: false } });
    expect(resolveConsulConfig({ address: "http://127.0.0.1:9", token: "mine" }, env)).toMatchObject({ token: "mine", endpoint: { host: "127.0.0.1", port: 9 } });
    expect(resolveConsulConfig({}, { ...env, CONSUL_HTTP_SSL: "true" }).endpoint.secure).toBe(true);
    expect(resolveConsulConfig({}, {})).toMatchObject({ address: "http://127.0.0.1:8500", token: undefined, serviceName: "agent-mesh", check: "grpc", checkIntervalMs: 5000, deregisterCriticalAfterMs: 60_000 });
    expect(invalidArgument(() => resolveConsulConfig({}, { CONSUL_HTTP_ADDR: "not a url" }))).toContain("CONSUL_HTTP_ADDR");
  });

  it("refuses bad values naming them", () => {
    expect(invalidArgument(() => resolveConsulConfig({ serviceName: "agent mesh" }, {}))).toContain("service name");
    expect(invalidArgument(() => resolveConsulConfig({ check: "http" as never }, {}))).toContain("grpc, ttl");
    expect(invalidArgument(() => resolveConsulConfig({ ttlMs: 1000, ttlPassIntervalMs: 1000 }, {}))).toContain("ttlPassIntervalMs");
    expect(invalidArgument(() => resolveConsulConfig({ watchWaitMs: 700_000 }, {}))).toContain("10 minutes");
    expect(invalidArgument(() => resolveConsulConfig({ checkIntervalMs: 0 }, {}))).toContain("checkIntervalMs");
  });

  it.each([
    [5000, "5s"],
    [60_000, "60s"],
    [1500, "1500ms"],
    [250.4, "250ms"],
  ])("formats %d ms as the Go duration %s", (ms, text) => {
    expect(goDuration(ms)).toBe(text);
  });
});

describe("the service record", () => {
  it("registers id, capabilities as tags, meta, address and port, and a gRPC check with DeregisterCriticalServiceAfter", () => {
    const config = resolveConsulConfig({ grpcCheckService: "agentmesh.v1.AgentService" }, {});
    expect(serviceRegistration(info(), config)).toEqual({
      name: "agent-mesh",
      id: "a1",
      tags: ["echo", "ocr"],
      address: "10.0.0.5",
      port: 7001,
      meta: { am_capacity: "4", am_draining: "false", am_started_at_ms: "1700000000000", version: "0.1.0" },
      check: {
        checkid: "service:a1",
        name: "agent-mesh gRPC health of a1",
        grpc: "10.0.0.5:7001/agentmesh.v1.AgentService",
        grpcusetls: false,
        interval: "5s",
        timeout: "2s",
        deregistercriticalserviceafter: "60s",
      },
    });
  });

  it("registers a TTL check in TTL mode, with the initial status asked for", () => {
    const config = resolveConsulConfig({ check: "ttl", ttlMs: 9000, ttlPassIntervalMs: 3000 }, {});
    expect(serviceRegistration(info(), config, { status: "passing" }).check).toEqual({
      checkid: "service:a1",
      name: "agent-mesh TTL of a1",
      ttl: "9s",
      status: "passing",
      deregistercriticalserviceafter: "60s",
    });
  });

  it("keeps meta within Consul's limits: bad or reserved keys, long values and pairs beyond 64 are left out", () => {
    const meta: Record<string, string> = { "zone.name": "x", am_capacity: "999", "consul-x": "y", long: "v".repeat(513), ok_key: "fine" };
    for (let i = 0; i < 70; i++) meta[`k${String(i).padStart(2, "0")}`] = String(i);
    const out = consulMeta(info({ meta }));
    expect(Object.keys(out.meta)).toHaveLength(64);
    expect(out.meta.am_capacity).toBe("4");
    expect(out.dropped).toEqual(expect.arrayContaining(["zone.name", "am_capacity", "consul-x", "long"]));
    for (const [k, v] of Object.entries(out.meta)) {
      expect(k).toMatch(/^[A-Za-z0-9_-]{1,128}$/);
      expect(v.length).toBeLessThanOrEqual(512);
    }
  });

  it("reads an agent back from a health entry; the node's address stands in for an empty service address", () => {
    const read = agentFromEntry(entry("b2", { tags: ["echo", "bad tag!", "echo"], meta: { version: "0.2.0", am_started_at_ms: "123" }, address: "" }));
    expect("agent" in read && read.agent).toMatchObject({ id: "b2", address: "192.0.2.1:7000", capabilities: ["echo"], capacity: 2, draining: false, startedAtMs: 123n, meta: { version: "0.2.0" } });
    const v6 = agentFromEntry(entry("b3", { address: "fd00::1" }));
    expect("agent" in v6 && v6.agent.address).toBe("[fd00::1]:7000");
    expect(agentFromEntry(entry("not an id"))).toMatchObject({ skip: expect.stringContaining("not a valid agent id") });
    expect(agentFromEntry(entry("b4", { port: 0 }))).toMatchObject({ skip: expect.stringContaining("no address and port") });
    expect(splitHostPort("[::1]:80")).toEqual({ host: "::1", port: 80 });
    expect(splitHostPort("nohost")).toBeUndefined();
  });
});

describe("the Consul view", () => {
  it("turns rounds into join, update and leave events, and reports this agent's own instance", () => {
    let now = 0;
    const view = new ConsulView("me", 30_000, () => now);
    let change = view.apply([entry("me"), entry("b"), entry("c", { status: "critical" })]);
    expect(change.events.map((e) => `${e.t}:${e.agent.id}`)).toEqual(["join:b"]); // c was never healthy
    expect(change.self).toEqual({ present: true, passing: true });
    change = view.apply([entry("me", { status: "critical" }), entry("b", { tags: ["echo", "ocr"] }), entry("c")]);
    expect(change.events.map((e) => `${e.t}:${e.agent.id}`)).toEqual(["update:b", "join:c"]);
    expect(change.self).toEqual({ present: true, passing: false });
    expect(view.apply([entry("b", { tags: ["echo", "ocr"] }), entry("c")]).events).toEqual([]); // nothing changed
    change = view.apply([entry("b", { tags: ["echo", "ocr"], status: "critical" })]);
    expect(change.events.map((e) => (e.t === "leave" ? `leave:${e.agent.id}:${e.reason}` : e.t))).toEqual(["leave:b:dead", "leave:c:dead"]);
    expect(change.self.present).toBe(false);
    expect(view.members()).toEqual([]);
  });

  it("keeps a draining agent whose check turned critical until it deregisters (left) or the grace runs out (dead)", () => {
    let now = 0;
    const view = new ConsulView("me", 10_000, () => now);
    view.apply([entry("d"), entry("e")]);
    let change = view.apply([entry("d", { meta: { am_draining: "true" } }), entry("e", { meta: { am_draining: "true" } })]);
    expect(change.events.map((e) => `${e.t}:${e.agent.id}:${e.agent.draining}`)).toEqual(["update:d:true", "update:e:true"]);
    now = 1000;
    change = view.apply([entry("d", { meta: { am_draining: "true" }, status: "critical" }), entry("e", { meta: { am_draining: "true" }, status: "critical" })]);
    expect(change.events).toEqual([]); // still in view, as draining
    expect(view.members().map((m) => m.id).sort()).toEqual(["d", "e"]);
    now = 5000;
    change = view.apply([entry("e", { meta: { am_draining: "true" }, status: "critical" })]); // d deregistered
    expect(change.events.map((e) => (e.t === "leave" ? `${e.agent.id}:${e.reason}` : e.t))).toEqual(["d:left"]);
    now = 11_001;
    change = view.apply([entry("e", { meta: { am_draining: "true" }, status: "critical" })]);
    expect(change.events.map((e) => (e.t === "leave" ? `${e.agent.id}:${e.reason}` : e.t))).toEqual(["e:dead"]);
  });
});
