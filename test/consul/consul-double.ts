/**
 * A double of a Consul agent's HTTP API, for tests on machines without a Consul binary. It implements the documented
 * subset the Consul discovery uses, and cites the documentation above each behaviour it imitates:
 * service register/deregister, TTL check pass/warn/fail/update, gRPC checks that really call the node's
 * grpc.health.v1.Health/Check, TTL expiry, reaping of services critical longer than DeregisterCriticalServiceAfter,
 * health/service with the passing filter, catalog services, agent services, blocking queries (index, wait,
 * X-Consul-Index) and the ACL token. One node ("consul-double", 127.0.0.1) holds every service, as a dev agent does.
 *
 * Not imitated: namespaces, partitions, datacenters, filter expressions, tags/node-meta query filters, agent caching,
 * consistency modes, Connect, hash-based blocking. stop() and start() on the same port model an agent restarted empty.
 */
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { GrpcHealthClient, ServingStatus } from "./grpc-health.js";

/** Options of the double. */
export interface ConsulDoubleOptions {
  /** Port; 0 picks a free one (kept across restarts). Default 0. */
  port?: number;
  /** When set, every request must carry this ACL token. Default: ACLs off. */
  aclToken?: string;
  /** Consul's minimum DeregisterCriticalServiceAfter, ms (documented: 1 minute). Tests may lower it. Default 60000. */
  minDeregisterCriticalMs?: number;
  /** Interval of the reaper, ms (documented: 30 s). Tests may lower it. Default 30000. */
  reapIntervalMs?: number;
}

/** A check as the double keeps it. */
export interface DoubleCheck {
  /** Check id. */
  CheckID: string;
  /** Name. */
  Name: string;
  /** passing, warning or critical. */
  Status: "passing" | "warning" | "critical";
  /** Last output. */
  Output: string;
  /** The service it belongs to. */
  ServiceID: string;
  /** That service's name. */
  ServiceName: string;
  /** "grpc" or "ttl". */
  Type: "grpc" | "ttl";
  /** gRPC target (host:port[/service]). */
  grpc?: string;
  /** gRPC probe interval, ms. */
  intervalMs?: number;
  /** gRPC probe timeout, ms. */
  timeoutMs?: number;
  /** TTL, ms. */
  ttlMs?: number;
  /** DeregisterCriticalServiceAfter, ms (0: never). */
  deregisterAfterMs: number;
  /** Since when it has been critical (ms), while it is. */
  criticalSinceMs: number | undefined;
  /** gRPC probes completed. */
  probes: number;
}

/** A registered service instance. */
export interface DoubleService {
  /** Instance id. */
  ID: string;
  /** Service name. */
  Service: string;
  /** Tags. */
  Tags: string[];
  /** Address ("" = the node's). */
  Address: string;
  /** Port. */
  Port: number;
  /** Meta. */
  Meta: Record<string, string>;
  /** Raft index of its creation. */
  CreateIndex: number;
  /** Raft index of its last change. */
  ModifyIndex: number;
  /** Its checks. */
  checks: DoubleCheck[];
}

/** One request the double answered. */
export interface DoubleRequest {
  /** HTTP method. */
  method: string;
  /** Path without the query. */
  path: string;
  /** Query parameters. */
  query: URLSearchParams;
  /** HTTP status answered. */
  status: number;
}

const NODE = { ID: "9b0f3b9e-0000-4000-8000-00000000d0b1", Node: "consul-double", Address: "127.0.0.1", Datacenter: "dc1", TaggedAddresses: { lan: "127.0.0.1", wan: "127.0.0.1" }, Meta: {} };

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The Consul HTTP API double. */
export class ConsulDouble {
  /** Every request answered since the last start (tests read it). */
  readonly requests: DoubleRequest[] = [];
  private server: http.Server | undefined;
  private boundPort: number;
  private index = 1;
  private readonly services = new Map<string, DoubleService>();
  /** Per service name: the raft index of its last change (what X-Consul-Index reports for it). */
  private readonly serviceIndex = new Map<string, number>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly health = new Map<string, GrpcHealthClient>();
  private readonly waiters = new Set<() => void>();
  private reaper: NodeJS.Timeout | undefined;

  /** Creates the double; start() listens. */
  constructor(private readonly options: ConsulDoubleOptions = {}) {
    this.boundPort = options.port ?? 0;
  }

  /** The port (after start). */
  get port(): number {
    return this.boundPort;
  }

  /** http://127.0.0.1:PORT */
  get url(): string {
    return `http://127.0.0.1:${this.boundPort}`;
  }

  /** Starts listening (again, empty, on the same port after stop()). */
  async start(): Promise<void> {
    if (this.server !== undefined) return;
    const server = http.createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.boundPort, "127.0.0.1", () => resolve());
    });
    this.server = server;
    this.boundPort = (server.address() as AddressInfo).port;
    // https://developer.hashicorp.com/consul/api-docs/agent/check — "The minimum timeout is 1 minute, and the
    // process that reaps critical services runs every 30 seconds".
    this.reaper = setInterval(() => this.reap(), this.options.reapIntervalMs ?? 30_000);
  }

  /** Stops listening and forgets everything (an agent that restarts comes back empty); open connections are cut. */
  async stop(): Promise<void> {
    const server = this.server;
    if (server === undefined) return;
    this.server = undefined;
    clearInterval(this.reaper);
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    for (const c of this.health.values()) c.close();
    this.health.clear();
    this.services.clear();
    this.serviceIndex.clear();
    this.index = 1;
    this.requests.length = 0;
    for (const w of [...this.waiters]) w();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** The registered instances (live objects: read only). */
  instances(): DoubleService[] {
    return [...this.services.values()];
  }

  /** The instance `id`, if registered. */
  instance(id: string): DoubleService | undefined {
    return this.services.get(id);
  }

  /** How many answered requests match `method` and a path starting with `prefix`. */
  count(method: string, prefix: string): number {
    return this.requests.filter((r) => r.method === method && r.path.startsWith(prefix)).length;
  }

  /** Blocking queries held open right now, waiting for a change. */
  get blockedQueries(): number {
    return this.waiters.size;
  }

  // ---- HTTP ------------------------------------------------------------------------------------

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://consul-double");
    const method = req.method ?? "GET";
    let status = 200;
    try {
      this.authorize(req);
      const body = method === "PUT" ? await readBody(req) : undefined;
      const result = await this.route(method, url, body, res);
      if (result !== undefined) {
        res.setHeader("Content-Type", "application/json");
        res.end(JSON.stringify(result.body));
      } else if (!res.writableEnded) {
        res.end();
      }
    } catch (err) {
      status = err instanceof HttpError ? err.status : 500;
      if (!res.headersSent) {
        res.statusCode = status;
        res.setHeader("Content-Type", "text/plain");
        res.end(err instanceof Error ? err.message : String(err));
      } else {
        res.destroy();
      }
    }
    if (this.server !== undefined) this.requests.push({ method, path: decodeURIComponent(url.pathname), query: url.searchParams, status });
  }

  /**
   * https://developer.hashicorp.com/consul/api-docs/api-structure#authentication — "a Consul token should be
   * provided to API requests using the X-Consul-Token header or with the Bearer scheme in the authorization header".
   * A request without the configured token is refused with 403 "Permission denied".
   */
  private authorize(req: http.IncomingMessage): void {
    const want = this.options.aclToken;
    if (want === undefined) return;
    const header = req.headers["x-consul-token"];
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1];
    if ((Array.isArray(header) ? header[0] : header) !== want && bearer !== want) throw new HttpError(403, "Permission denied");
  }

  private async route(method: string, url: URL, body: unknown, res: http.ServerResponse): Promise<{ body: unknown } | undefined> {
    const p = url.pathname;
    const q = url.searchParams;
    let m: RegExpExecArray | null;
    if (method === "PUT" && p === "/v1/agent/service/register") return this.register(body, q), undefined;
    if (method === "PUT" && (m = /^\/v1\/agent\/service\/deregister\/(.+)$/.exec(p))) return this.deregister(decodeURIComponent(m[1])), undefined;
    if (method === "PUT" && (m = /^\/v1\/agent\/check\/(pass|warn|fail)\/(.+)$/.exec(p))) return this.ttlUpdate(decodeURIComponent(m[2]), ttlStatus(m[1]), q.get("note") ?? ""), undefined;
    if (method === "PUT" && (m = /^\/v1\/agent\/check\/update\/(.+)$/.exec(p))) return this.checkUpdate(decodeURIComponent(m[1]), body), undefined;
    if (method === "GET" && p === "/v1/agent/services") return { body: this.agentServices() };
    if (method === "GET" && (m = /^\/v1\/health\/service\/(.+)$/.exec(p))) {
      const name = decodeURIComponent(m[1]);
      await this.block(q, () => this.serviceIndex.get(name) ?? 1, res);
      return { body: this.healthService(name, q) };
    }
    if (method === "GET" && p === "/v1/catalog/services") {
      await this.block(q, () => this.index, res);
      return { body: this.catalogServices() };
    }
    if (method === "GET" && (m = /^\/v1\/catalog\/service\/(.+)$/.exec(p))) {
      const name = decodeURIComponent(m[1]);
      await this.block(q, () => this.serviceIndex.get(name) ?? 1, res);
      return { body: this.catalogService(name) };
    }
    throw new HttpError(method === "GET" || method === "PUT" ? 404 : 405, `no handler for ${method} ${p}`);
  }

  // ---- blocking queries ------------------------------------------------------------------------

  /**
   * https://developer.hashicorp.com/consul/api-docs/features/blocking — "Endpoints that support blocking queries
   * return an HTTP header named X-Consul-Index"; with `index` set "the HTTP request will 'hang' until a change in the
   * system occurs, or the maximum timeout is reached"; `wait` "is limited to 10 minutes. If not set, the wait time
   * defaults to 5 minutes"; "This adds up to wait / 16 additional time to the maximum duration."
   */
  private async block(q: URLSearchParams, current: () => number, res: http.ServerResponse): Promise<void> {
    const index = Number(q.get("index") ?? "0");
    if (Number.isFinite(index) && index > 0 && current() <= index) {
      const waitMs = Math.min(parseDuration(q.get("wait")) ?? 300_000, 600_000);
      const deadline = waitMs + Math.random() * (waitMs / 16);
      const started = this.server;
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.waiters.delete(wake);
          res.off("close", done);
          resolve();
        };
        const wake = () => {
          if (current() > index || this.server !== started) done();
        };
        const timer = setTimeout(done, deadline);
        this.waiters.add(wake);
        res.on("close", done);
      });
      if (this.server === undefined) throw new HttpError(503, "agent stopping");
    }
    res.setHeader("X-Consul-Index", String(current()));
  }

  /** Records a change to service `name` at a new raft index and wakes blocked queries. */
  private bump(name: string): number {
    const index = ++this.index;
    this.serviceIndex.set(name, index);
    for (const w of [...this.waiters]) w();
    return index;
  }

  // ---- agent endpoints -------------------------------------------------------------------------

  /**
   * https://developer.hashicorp.com/consul/api-docs/agent/service#register-service — "This endpoint adds a new
   * service, with optional health checks, to the local agent"; "supports camel case and snake case for service
   * definition keys"; `ID` "defaults to the Name parameter"; `Check`/`Checks` take the check definitions of
   * /agent/check. Re-registering an ID replaces the instance.
   */
  private register(raw: unknown, q: URLSearchParams): void {
    const def = normalize(raw);
    const name = str(def.name);
    if (name === "") throw new HttpError(400, "Missing service name");
    const id = str(def.id) || name;
    const meta = (def.meta ?? {}) as Record<string, unknown>;
    validateMeta(meta);
    const checkDefs = Array.isArray(def.checks) ? def.checks : def.check !== undefined ? [def.check] : [];
    const previous = this.services.get(id);
    const checks = checkDefs.map((c, i) => this.makeCheck(normalize(c), id, name, i, checkDefs.length, previous));
    // Without replace-existing-checks, checks of the previous registration that are not redefined stay.
    if (previous !== undefined && !q.has("replace-existing-checks")) {
      for (const c of previous.checks) if (!checks.some((n) => n.CheckID === c.CheckID)) checks.push(c);
    }
    if (previous !== undefined) this.dropChecks(previous);
    const index = this.bump(name);
    const service: DoubleService = {
      ID: id,
      Service: name,
      Tags: Array.isArray(def.tags) ? def.tags.map(String) : [],
      Address: str(def.address),
      Port: typeof def.port === "number" ? def.port : 0,
      Meta: Object.fromEntries(Object.entries(meta).map(([k, v]) => [k, String(v)])),
      CreateIndex: previous?.CreateIndex ?? index,
      ModifyIndex: index,
      checks,
    };
    this.services.set(id, service);
    for (const c of checks) this.armCheck(service, c);
  }

  /**
   * https://developer.hashicorp.com/consul/api-docs/agent/check#register-check — a check is GRPC (with Interval),
   * or TTL; `Status` "Specifies the initial status of the health check" and
   * https://developer.hashicorp.com/consul/docs/services/usage/checks — "When checks are registered against a Consul
   * agent, they are assigned a critical status by default". `Timeout` defaults to 10s. A check given in a service
   * definition without an id gets "service:<service-id>" (":<n>" appended, from 1, when there are several).
   */
  private makeCheck(def: Record<string, unknown>, serviceId: string, serviceName: string, i: number, n: number, previous: DoubleService | undefined): DoubleCheck {
    const checkId = str(def.checkid) || str(def.id) || (n > 1 ? `service:${serviceId}:${i + 1}` : `service:${serviceId}`);
    const grpc = str(def.grpc);
    const ttl = parseDuration(str(def.ttl) || null);
    const intervalMs = parseDuration(str(def.interval) || null);
    if (grpc === "" && ttl === undefined) throw new HttpError(400, "Invalid check: only GRPC and TTL checks are implemented by this double");
    if (grpc !== "" && intervalMs === undefined) throw new HttpError(400, "Invalid check: Interval is required for GRPC checks");
    const initial = str(def.status);
    if (initial !== "" && !["passing", "warning", "critical"].includes(initial)) throw new HttpError(400, `Invalid check status: "${initial}"`);
    const old = previous?.checks.find((c) => c.CheckID === checkId);
    const status = (initial || "critical") as DoubleCheck["Status"];
    return {
      CheckID: checkId,
      Name: str(def.name) || `Service '${serviceName}' check`,
      Status: status,
      Output: "",
      ServiceID: serviceId,
      ServiceName: serviceName,
      Type: grpc !== "" ? "grpc" : "ttl",
      grpc: grpc || undefined,
      intervalMs,
      timeoutMs: parseDuration(str(def.timeout) || null) ?? 10_000,
      ttlMs: ttl,
      deregisterAfterMs: parseDuration(str(def.deregistercriticalserviceafter) || null) ?? 0,
      criticalSinceMs: status === "critical" ? (old?.criticalSinceMs ?? Date.now()) : undefined,
      probes: 0,
    };
  }

  /**
   * https://developer.hashicorp.com/consul/api-docs/agent/service#deregister-service — "This endpoint removes a
   * service from the local agent. If the service does not exist, no action is taken." "If there is an associated
   * check, that is also deregistered."
   */
  private deregister(id: string): void {
    const service = this.services.get(id);
    if (service === undefined) return;
    this.dropChecks(service);
    this.services.delete(id);
    this.bump(service.Service);
  }

  /**
   * https://developer.hashicorp.com/consul/api-docs/agent/check#ttl-check-pass — "set the status of the check to
   * passing and to reset the TTL clock" (warn: warning, fail: critical); `note` "will be passed through to the
   * check's Output field". An unknown check id is refused (404).
   */
  private ttlUpdate(checkId: string, status: DoubleCheck["Status"], note: string): void {
    const found = this.findCheck(checkId);
    if (found === undefined) throw new HttpError(404, `Unknown check ID "${checkId}". Ensure that the check ID is passed, not the check name.`);
    const [service, check] = found;
    if (check.Type !== "ttl") throw new HttpError(500, `CheckID "${checkId}" does not have associated TTL`);
    this.setStatus(service, check, status, note);
    this.armCheck(service, check);
  }

  /**
   * https://developer.hashicorp.com/consul/api-docs/agent/check#ttl-check-update — body `Status` ("passing",
   * "warning" or "critical") and `Output`; like pass/warn/fail it resets the TTL clock.
   */
  private checkUpdate(checkId: string, raw: unknown): void {
    const def = normalize(raw);
    const status = str(def.status);
    if (!["passing", "warning", "critical"].includes(status)) throw new HttpError(400, `Invalid check status: "${status}"`);
    this.ttlUpdate(checkId, status as DoubleCheck["Status"], str(def.output));
  }

  /** https://developer.hashicorp.com/consul/api-docs/agent/service#list-services — "returns all the services that are registered with the local agent", keyed by ID. */
  private agentServices(): Record<string, unknown> {
    return Object.fromEntries(
      [...this.services.values()].map((s) => [s.ID, { ID: s.ID, Service: s.Service, Tags: s.Tags, Meta: s.Meta, Port: s.Port, Address: s.Address, EnableTagOverride: false, Datacenter: NODE.Datacenter, Weights: { Passing: 1, Warning: 1 } }]),
    );
  }

  // ---- health and catalog ----------------------------------------------------------------------

  /**
   * https://developer.hashicorp.com/consul/api-docs/health#list-nodes-for-service — each entry has Node, Service and
   * Checks (the node's serfHealth included); `passing` "Specifies that the server should return only nodes with all
   * checks in the passing state".
   */
  private healthService(name: string, q: URLSearchParams): unknown[] {
    const passingOnly = q.has("passing") && !/^(false|0)$/i.test(q.get("passing") ?? "");
    const serf = { Node: NODE.Node, CheckID: "serfHealth", Name: "Serf Health Status", Status: "passing", Notes: "", Output: "Agent alive and reachable", ServiceID: "", ServiceName: "", ServiceTags: [] };
    return [...this.services.values()]
      .filter((s) => s.Service === name)
      .filter((s) => !passingOnly || s.checks.every((c) => c.Status === "passing"))
      .map((s) => ({
        Node: NODE,
        Service: { ID: s.ID, Service: s.Service, Tags: s.Tags, Address: s.Address, Meta: s.Meta, Port: s.Port, Weights: { Passing: 1, Warning: 1 }, EnableTagOverride: false, CreateIndex: s.CreateIndex, ModifyIndex: s.ModifyIndex },
        Checks: [
          serf,
          ...s.checks.map((c) => ({ Node: NODE.Node, CheckID: c.CheckID, Name: c.Name, Status: c.Status, Notes: "", Output: c.Output, ServiceID: c.ServiceID, ServiceName: c.ServiceName, ServiceTags: s.Tags, Type: c.Type })),
        ],
      }));
  }

  /** https://developer.hashicorp.com/consul/api-docs/catalog#list-services — "The keys are the service names, and the array values provide all known tags for a given service." */
  private catalogServices(): Record<string, string[]> {
    const out: Record<string, string[]> = { consul: [] };
    for (const s of this.services.values()) out[s.Service] = [...new Set([...(out[s.Service] ?? []), ...s.Tags])];
    return out;
  }

  /** https://developer.hashicorp.com/consul/api-docs/catalog#list-nodes-for-service — node fields plus ServiceID, ServiceName, ServiceTags, ServiceAddress ("if empty, node address should be used"), ServicePort, ServiceMeta. */
  private catalogService(name: string): unknown[] {
    return [...this.services.values()]
      .filter((s) => s.Service === name)
      .map((s) => ({
        ID: NODE.ID,
        Node: NODE.Node,
        Address: NODE.Address,
        Datacenter: NODE.Datacenter,
        TaggedAddresses: NODE.TaggedAddresses,
        NodeMeta: NODE.Meta,
        ServiceID: s.ID,
        ServiceName: s.Service,
        ServiceTags: s.Tags,
        ServiceAddress: s.Address,
        ServicePort: s.Port,
        ServiceMeta: s.Meta,
        ServiceEnableTagOverride: false,
        CreateIndex: s.CreateIndex,
        ModifyIndex: s.ModifyIndex,
      }));
  }

  // ---- checks ----------------------------------------------------------------------------------

  /** Starts (or restarts) the timer that drives a check. */
  private armCheck(service: DoubleService, check: DoubleCheck): void {
    const key = `${service.ID}\u0000${check.CheckID}`;
    clearTimeout(this.timers.get(key));
    if (check.Type === "ttl") {
      // https://developer.hashicorp.com/consul/docs/services/usage/checks#ttl-checks — "If the check does not
      // receive an update before the specified ttl duration, the check logs the service as critical."
      this.timers.set(
        key,
        setTimeout(() => {
          if (this.services.get(service.ID)?.checks.includes(check)) this.setStatus(service, check, "critical", "TTL expired");
        }, check.ttlMs),
      );
      return;
    }
    // https://developer.hashicorp.com/consul/api-docs/agent/check#register-check — GRPC: "The state of the check will
    // be updated at the given Interval by probing the configured endpoint"; "/:service_identifier" after the endpoint
    // checks one service instead of the whole server. (The double probes once at registration, then every Interval.)
    const probe = async () => {
      if (this.services.get(service.ID)?.checks.includes(check) !== true) return;
      await this.probeGrpc(service, check);
      if (this.services.get(service.ID)?.checks.includes(check) === true) this.timers.set(key, setTimeout(probe, check.intervalMs));
    };
    this.timers.set(key, setTimeout(probe, 0));
  }

  /**
   * https://developer.hashicorp.com/consul/docs/services/usage/checks#grpc-checks — "gRPC checks probe applications
   * that support the standard gRPC health checking protocol"; a SERVING answer passes, anything else (another
   * status, an error, no answer within Timeout) is critical. TLS is not used (GRPCUseTLS false).
   */
  private async probeGrpc(service: DoubleService, check: DoubleCheck): Promise<void> {
    const target = check.grpc ?? "";
    const slash = target.indexOf("/");
    const address = slash < 0 ? target : target.slice(0, slash);
    const grpcService = slash < 0 ? "" : target.slice(slash + 1);
    let client = this.health.get(address);
    if (client === undefined) this.health.set(address, (client = new GrpcHealthClient(address)));
    try {
      const status = await client.check(grpcService, check.timeoutMs);
      if (status === ServingStatus.SERVING) this.setStatus(service, check, "passing", `gRPC check ${target}: success`);
      else this.setStatus(service, check, "critical", `gRPC check ${target}: failed with status ${ServingStatus[status]}`);
    } catch (err) {
      this.setStatus(service, check, "critical", `gRPC check ${target}: ${(err as Error).message}`);
    } finally {
      check.probes++;
    }
  }

  private setStatus(service: DoubleService, check: DoubleCheck, status: DoubleCheck["Status"], output: string): void {
    if (this.services.get(service.ID) !== service) return;
    check.Output = output;
    if (check.Status === status) return;
    check.Status = status;
    check.criticalSinceMs = status === "critical" ? Date.now() : undefined;
    service.ModifyIndex = this.bump(service.Service);
  }

  /**
   * https://developer.hashicorp.com/consul/api-docs/agent/check#register-check — DeregisterCriticalServiceAfter: "If a
   * check is in the critical state for more than this configured value, then its associated service (and all of its
   * associated checks) will automatically be deregistered. The minimum timeout is 1 minute".
   */
  private reap(): void {
    const now = Date.now();
    const minimum = this.options.minDeregisterCriticalMs ?? 60_000;
    for (const service of [...this.services.values()]) {
      const expired = service.checks.some((c) => c.deregisterAfterMs > 0 && c.criticalSinceMs !== undefined && now - c.criticalSinceMs > Math.max(c.deregisterAfterMs, minimum));
      if (expired) this.deregister(service.ID);
    }
  }

  /** Stops the timers of a service's checks. */
  private dropChecks(service: DoubleService): void {
    for (const c of service.checks) {
      const key = `${service.ID}\u0000${c.CheckID}`;
      clearTimeout(this.timers.get(key));
      this.timers.delete(key);
    }
  }

  private findCheck(checkId: string): [DoubleService, DoubleCheck] | undefined {
    for (const s of this.services.values()) {
      const c = s.checks.find((x) => x.CheckID === checkId);
      if (c !== undefined) return [s, c];
    }
    return undefined;
  }
}

/**
 * https://developer.hashicorp.com/consul/docs/services/configuration/services-configuration-reference#meta — "up to 64
 * pairs"; keys "can only contain ASCII characters (A - Z, a- z, 0 - 9, _, and -)", "limited to 128 characters";
 * values "limited to 512 characters"; keys may not start with "consul-" (reserved).
 */
function validateMeta(meta: Record<string, unknown>): void {
  const entries = Object.entries(meta);
  if (entries.length > 64) throw new HttpError(400, `Invalid Service Meta: Node metadata cannot contain more than 64 key/value pairs`);
  for (const [k, v] of entries) {
    if (!/^[A-Za-z0-9_-]{1,128}$/.test(k)) throw new HttpError(400, `Invalid Service Meta: Key contains invalid characters or is too long: "${k}"`);
    if (k.startsWith("consul-")) throw new HttpError(400, `Invalid Service Meta: Key prefix 'consul-' is reserved for internal use`);
    if (String(v).length > 512) throw new HttpError(400, `Invalid Service Meta: Value is too long (limit: 512 characters)`);
  }
}

/** Keys lower-cased with underscores removed, so PascalCase, camelCase and snake_case definitions read alike. */
function normalize(raw: unknown): Record<string, unknown> {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) throw new HttpError(400, "Request decode failed: expected a JSON object");
  return Object.fromEntries(Object.entries(raw).map(([k, v]) => [k.replace(/_/g, "").toLowerCase(), v]));
}

function str(v: unknown): string {
  return typeof v === "string" ? v : "";
}

function ttlStatus(verb: string): DoubleCheck["Status"] {
  return verb === "pass" ? "passing" : verb === "warn" ? "warning" : "critical";
}

/** A Go duration ("10s", "5m", "1500ms", "1m30s") in ms; undefined when absent or invalid. */
export function parseDuration(text: string | null): number | undefined {
  if (text === null || text === "") return undefined;
  const units: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/y;
  let total = 0;
  let m: RegExpExecArray | null;
  let consumed = 0;
  while ((m = re.exec(text)) !== null) {
    total += Number(m[1]) * units[m[2]];
    consumed = re.lastIndex;
  }
  return consumed === text.length ? total : undefined;
}

async function readBody(req: http.IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString("utf8");
  if (text.trim() === "") return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError(400, "Request decode failed: invalid JSON");
  }
}
