/**
 * The Consul double itself, over plain HTTP (fetch), so the discovery's tests stand on a double that behaves as
 * Consul's documentation says: registration and its defaults, TTL checks, gRPC checks against a real node, the
 * passing filter, catalog and agent listings, blocking queries, reaping, meta validation, ACLs and an empty restart.
 */
import { afterEach, describe, expect, it } from "vitest";
import { AgentNode } from "../../src/node/agent-node.js";
import { waitFor } from "../helpers/wait.js";
import { ConsulDouble, parseDuration } from "./consul-double.js";

let consul: ConsulDouble;
const nodes: AgentNode[] = [];

afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.stop().catch(() => {})));
  await consul?.stop();
});

async function api(method: "GET" | "PUT", path: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${consul.url}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  const type = res.headers.get("content-type") ?? "";
  return { status: res.status, index: res.headers.get("x-consul-index"), body: type.includes("json") && text !== "" ? JSON.parse(text) : text };
}

const ttlService = (id: string, extra: Record<string, unknown> = {}) => ({ Name: "web", ID: id, Port: 80, Tags: ["a"], Check: { CheckID: `service:${id}`, TTL: "1s", ...extra } });

describe("the Consul double", () => {
  it("registers with critical checks by default, passes and fails TTL checks, and expires an unpassed TTL", async () => {
    consul = new ConsulDouble();
    await consul.start();
    expect((await api("PUT", "/v1/agent/service/register", ttlService("w1"))).status).toBe(200);
    expect(consul.instance("w1")?.checks[0]).toMatchObject({ Status: "critical", Type: "ttl", ttlMs: 1000 });
    expect((await api("PUT", "/v1/agent/check/pass/service:w1?note=fine")).status).toBe(200);
    expect(consul.instance("w1")?.checks[0]).toMatchObject({ Status: "passing", Output: "fine" });
    await api("PUT", "/v1/agent/check/warn/service:w1");
    expect(consul.instance("w1")?.checks[0].Status).toBe("warning");
    await api("PUT", "/v1/agent/check/update/service:w1", { Status: "passing", Output: "ok again" });
    expect(consul.instance("w1")?.checks[0]).toMatchObject({ Status: "passing", Output: "ok again" });
    await waitFor(() => consul.instance("w1")?.checks[0].Status === "critical", { what: "the TTL to expire", timeoutMs: 5000 });
    expect((await api("PUT", "/v1/agent/check/pass/service:nope")).status).toBe(404);
    // snake_case keys work too, and an explicit initial status is honoured
    await api("PUT", "/v1/agent/service/register", { name: "web", id: "w2", port: 81, check: { check_id: "c2", ttl: "10s", status: "passing" } });
    expect(consul.instance("w2")?.checks[0]).toMatchObject({ CheckID: "c2", Status: "passing" });
  });

  it("filters health/service with ?passing and lists catalog and agent services", async () => {
    consul = new ConsulDouble();
    await consul.start();
    await api("PUT", "/v1/agent/service/register", ttlService("w1", { Status: "passing", TTL: "1m" }));
    await api("PUT", "/v1/agent/service/register", ttlService("w2", { TTL: "1m" }));
    await api("PUT", "/v1/agent/service/register", { Name: "db", ID: "db1", Port: 5432, Tags: ["primary"] });
    const all = await api("GET", "/v1/health/service/web");
    expect(all.body.map((e: { Service: { ID: string } }) => e.Service.ID).sort()).toEqual(["w1", "w2"]);
    expect(all.body[0].Checks.map((c: { CheckID: string }) => c.CheckID)).toContain("serfHealth");
    const passing = await api("GET", "/v1/health/service/web?passing");
    expect(passing.body.map((e: { Service: { ID: string } }) => e.Service.ID)).toEqual(["w1"]);
    expect((await api("GET", "/v1/health/service/web?passing=false")).body).toHaveLength(2);
    expect((await api("GET", "/v1/catalog/services")).body).toEqual({ consul: [], web: ["a"], db: ["primary"] });
    const catalog = await api("GET", "/v1/catalog/service/web");
    expect(catalog.body[0]).toMatchObject({ Node: "consul-double", Address: "127.0.0.1", ServiceName: "web", ServicePort: 80, ServiceTags: ["a"] });
    expect(Object.keys((await api("GET", "/v1/agent/services")).body).sort()).toEqual(["db1", "w1", "w2"]);
    await api("PUT", "/v1/agent/service/deregister/w2");
    await api("PUT", "/v1/agent/service/deregister/never-registered");
    expect(Object.keys((await api("GET", "/v1/agent/services")).body).sort()).toEqual(["db1", "w1"]);
  });

  it("answers blocking queries: holds until a change or the wait, with X-Consul-Index", async () => {
    consul = new ConsulDouble();
    await consul.start();
    await api("PUT", "/v1/agent/service/register", ttlService("w1", { TTL: "1m" }));
    const first = await api("GET", "/v1/health/service/web");
    const index = Number(first.index);
    expect(index).toBeGreaterThan(0);

    let t = Date.now();
    const timedOut = await api("GET", `/v1/health/service/web?index=${index}&wait=300ms`);
    expect(Date.now() - t).toBeGreaterThanOrEqual(290);
    expect(Number(timedOut.index)).toBe(index); // no change: same index ("no guarantee of a change")

    t = Date.now();
    const held = api("GET", `/v1/health/service/web?index=${index}&wait=10s`);
    setTimeout(() => void api("PUT", "/v1/agent/check/pass/service:w1"), 200);
    const changed = await held;
    expect(Date.now() - t).toBeLessThan(5000);
    expect(Number(changed.index)).toBeGreaterThan(index);
    expect(changed.body[0].Checks[1].Status).toBe("passing");

    // A change to another service does not wake a query on this one.
    t = Date.now();
    const other = api("GET", `/v1/health/service/web?index=${changed.index}&wait=400ms`);
    await api("PUT", "/v1/agent/service/register", { Name: "db", ID: "db1", Port: 1 });
    expect(Number((await other).index)).toBe(Number(changed.index));
    expect(Date.now() - t).toBeGreaterThanOrEqual(390);
  });

  it("restarts empty on the same port with a lower index, so a client's index goes backwards", async () => {
    consul = new ConsulDouble();
    await consul.start();
    for (let i = 0; i < 5; i++) await api("PUT", "/v1/agent/service/register", ttlService(`w${i}`, { TTL: "1m" }));
    const before = Number((await api("GET", "/v1/health/service/web")).index);
    const port = consul.port;
    await consul.stop();
    await expect(fetch(`http://127.0.0.1:${port}/v1/agent/services`)).rejects.toThrow();
    await consul.start();
    expect(consul.port).toBe(port);
    expect((await api("GET", "/v1/agent/services")).body).toEqual({});
    const after = await api("GET", `/v1/health/service/web?index=${before}&wait=200ms`);
    expect(Number(after.index)).toBeLessThan(before);
  });

  it("runs gRPC checks against a node's grpc.health.v1 service: SERVING passes, NOT_SERVING and no answer are critical", async () => {
    consul = new ConsulDouble();
    await consul.start();
    const node = await AgentNode.start({ id: "grpc-checked", drainTimeoutMs: 10_000 });
    nodes.push(node);
    let release!: () => void;
    node.announceCapability("hold", () => new Promise<void>((r) => (release = r)));
    const register = (id: string, target: string) => api("PUT", "/v1/agent/service/register", { Name: "mesh", ID: id, Port: 1, Check: { GRPC: target, GRPCUseTLS: false, Interval: "200ms", Timeout: "1s" } });
    await register("whole", node.address);
    await register("one-service", `${node.address}/agentmesh.v1.AgentService`);
    await register("unknown-service", `${node.address}/no.such.Service`);
    await waitFor(() => consul.instance("whole")?.checks[0].Status === "passing" && consul.instance("one-service")?.checks[0].Status === "passing", { what: "the gRPC checks to pass" });
    await waitFor(() => (consul.instance("unknown-service")?.checks[0].probes ?? 0) > 0, { what: "a probe of the unknown service" });
    expect(consul.instance("unknown-service")?.checks[0]).toMatchObject({ Status: "critical", Output: expect.stringContaining("NOT_FOUND") });

    const task = node.submit("hold", null);
    await waitFor(() => node.state.load === 1, { what: "the held task" });
    const stopped = node.stop(); // drains: NOT_SERVING while the task runs
    await waitFor(() => consul.instance("whole")?.checks[0].Status === "critical", { what: "NOT_SERVING to turn the check critical" });
    expect(consul.instance("whole")?.checks[0].Output).toContain("NOT_SERVING");
    release();
    await task;
    await stopped;
    const probes = consul.instance("whole")!.checks[0].probes;
    await waitFor(() => consul.instance("whole")!.checks[0].probes > probes + 1, { what: "probes of the stopped node" });
    expect(consul.instance("whole")?.checks[0].Status).toBe("critical");
  });

  it("reaps a service critical longer than DeregisterCriticalServiceAfter (never sooner than the minimum)", async () => {
    consul = new ConsulDouble({ minDeregisterCriticalMs: 600, reapIntervalMs: 50 });
    await consul.start();
    const t = Date.now();
    await api("PUT", "/v1/agent/service/register", ttlService("short", { TTL: "10m", DeregisterCriticalServiceAfter: "100ms" }));
    await api("PUT", "/v1/agent/service/register", ttlService("never", { TTL: "10m" }));
    await waitFor(() => consul.instance("short") === undefined, { what: "the reaper" });
    expect(Date.now() - t).toBeGreaterThanOrEqual(600); // raised to the minimum
    expect(consul.instance("never")).toBeDefined();
  });

  it("refuses meta beyond Consul's limits and requests without the ACL token", async () => {
    consul = new ConsulDouble({ aclToken: "t0k" });
    await consul.start();
    const auth = { "X-Consul-Token": "t0k" };
    expect((await api("PUT", "/v1/agent/service/register", { Name: "x", Meta: { "bad key": "v" } }, auth)).status).toBe(400);
    expect((await api("PUT", "/v1/agent/service/register", { Name: "x", Meta: { k: "v".repeat(513) } }, auth)).status).toBe(400);
    expect((await api("PUT", "/v1/agent/service/register", { Name: "x", Meta: { "consul-k": "v" } }, auth)).status).toBe(400);
    expect((await api("PUT", "/v1/agent/service/register", { Name: "x", Meta: Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, "v"])) }, auth)).status).toBe(400);
    expect((await api("PUT", "/v1/agent/service/register", { Name: "x", Meta: { ok: "v" } }, auth)).status).toBe(200);
    const denied = await api("GET", "/v1/agent/services");
    expect(denied).toMatchObject({ status: 403, body: "Permission denied" });
    expect((await api("GET", "/v1/agent/services", undefined, { Authorization: "Bearer t0k" })).status).toBe(200);
  });

  it.each([
    ["10s", 10_000],
    ["5m", 300_000],
    ["1m30s", 90_000],
    ["1500ms", 1500],
    ["2h", 7_200_000],
    ["bogus", undefined],
  ])("reads the Go duration %s", (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });
});
