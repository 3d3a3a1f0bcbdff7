/**
 * The few Consul HTTP API calls the discovery makes, over the `consul` client package, typed and with errors
 * normalised to MeshError. Only documented endpoints (https://developer.hashicorp.com/consul/api-docs):
 * PUT /v1/agent/service/register, PUT /v1/agent/service/deregister/:id, PUT /v1/agent/check/pass|fail/:id,
 * GET /v1/agent/services and GET /v1/health/service/:name as a blocking query (index, wait, X-Consul-Index).
 * The package's type definitions lack the blocking-query and cancel options, so those calls are typed here.
 * The package is loaded on the first request, so importing the library (or running a node without Consul
 * discovery) does not load it.
 */
import { EventEmitter } from "node:events";
import type Consul from "consul";
import { Code, MeshError } from "../protocol/errors.js";
import { endpointUrl, goDuration, type ConsulEndpoint } from "./consul-config.js";
import { parseConsulIndex } from "./consul-blocking.js";

/** A service registration (PUT /v1/agent/service/register body, in the client package's lower-case keys). */
export interface ServiceRegistration {
  /** Logical service name. */
  name: string;
  /** Instance id (unique per Consul agent). */
  id: string;
  /** Tags. */
  tags: string[];
  /** Address peers dial. */
  address: string;
  /** Port peers dial. */
  port: number;
  /** Metadata (Consul limits: 64 pairs, keys of A-Z a-z 0-9 _ - up to 128, values up to 512). */
  meta: Record<string, string>;
  /** The one health check. */
  check: CheckRegistration;
}

/** A check registered with the service: gRPC (`grpc` + `interval`) or TTL (`ttl`). */
export interface CheckRegistration {
  /** Check id (used to pass a TTL check). */
  checkid: string;
  /** Human-readable name. */
  name: string;
  /** gRPC check target host:port[/service]. */
  grpc?: string;
  /** gRPC check over TLS. */
  grpcusetls?: boolean;
  /** gRPC check interval (Go duration). */
  interval?: string;
  /** gRPC check timeout (Go duration). */
  timeout?: string;
  /** TTL (Go duration). */
  ttl?: string;
  /** Initial status (Consul's default: critical). */
  status?: "passing" | "warning" | "critical";
  /** DeregisterCriticalServiceAfter (Go duration). */
  deregistercriticalserviceafter: string;
}

/** One entry of GET /v1/health/service/:name: the parts read. */
export interface HealthEntry {
  /** The node the instance is registered on. */
  Node?: { Node?: string; Address?: string };
  /** The instance. */
  Service: { ID: string; Service: string; Tags?: string[] | null; Address?: string; Port?: number; Meta?: Record<string, string> | null };
  /** Its checks (node checks included). */
  Checks?: { CheckID: string; Status: string; ServiceID?: string }[];
}

/** One answer of a blocking query. */
export interface BlockingResult<T> {
  /** The result. */
  value: T;
  /** X-Consul-Index, when present. */
  index: bigint | undefined;
}

/** Options of a ConsulClient. */
export interface ConsulClientOptions {
  /** The HTTP API. */
  endpoint: ConsulEndpoint;
  /** ACL token, when any. */
  token: string | undefined;
  /** Timeout of a plain request, ms. */
  requestTimeoutMs: number;
}

/** The shape of the `consul` package's request functions once the undeclared options are named. */
type Call = (options: Record<string, unknown>) => Promise<unknown>;

/** A Consul HTTP API client for one agent. */
export class ConsulClient {
  /** The API's URL, for messages. */
  readonly url: string;
  private consul: Consul | undefined;
  private loading: Promise<Consul> | undefined;
  private closed = false;

  /** Creates the client; no request is made (and the `consul` package is not loaded) yet. */
  constructor(private readonly o: ConsulClientOptions) {
    this.url = endpointUrl(o.endpoint);
  }

  /** The `consul` package's client, created on first use. */
  private client(): Promise<Consul> {
    this.loading ??= import("consul").then(({ default: ConsulCtor }) => {
      const o = this.o;
      const consul = new ConsulCtor({ host: o.endpoint.host, port: o.endpoint.port, secure: o.endpoint.secure, defaults: o.token === undefined ? undefined : { token: o.token } });
      if (this.closed) consul.destroy();
      return (this.consul = consul);
    });
    return this.loading;
  }

  /** Registers (or replaces) a service instance with the local agent. */
  register(registration: ServiceRegistration): Promise<void> {
    return this.call("register service", (consul) => consul.agent.service.register({ ...registration, timeout: this.o.requestTimeoutMs } as never)).then(() => undefined);
  }

  /** Deregisters a service instance (no error when it is not registered). */
  deregister(serviceId: string): Promise<void> {
    return this.call("deregister service", (consul) => (consul.agent.service.deregister as unknown as Call)({ id: serviceId, timeout: this.o.requestTimeoutMs })).then(() => undefined);
  }

  /** Sets a TTL check passing (and restarts its TTL). */
  passCheck(checkId: string, note?: string): Promise<void> {
    return this.call("pass TTL check", (consul) => (consul.agent.check.pass as unknown as Call)({ id: checkId, note, timeout: this.o.requestTimeoutMs })).then(() => undefined);
  }

  /** Sets a TTL check critical. */
  failCheck(checkId: string, note?: string): Promise<void> {
    return this.call("fail TTL check", (consul) => (consul.agent.check.fail as unknown as Call)({ id: checkId, note, timeout: this.o.requestTimeoutMs })).then(() => undefined);
  }

  /** The ids of the services registered with the local agent (GET /v1/agent/services). */
  async agentServiceIds(): Promise<Set<string>> {
    const services = (await this.call("list agent services", (consul) => (consul.agent.service.list as unknown as Call)({ timeout: this.o.requestTimeoutMs }))) as Record<string, unknown> | null;
    return new Set(Object.keys(services ?? {}));
  }

  /**
   * Every instance of `service` with its checks, as a blocking query: with `index` > 0 Consul holds the answer until
   * something changed after that index or `waitMs` passed. `signal` aborts the request. (Without `?passing`: the
   * caller filters on the checks itself, to keep draining agents in view while their checks are critical.)
   */
  async serviceInstances(service: string, index: bigint, waitMs: number, signal: AbortSignal): Promise<BlockingResult<HealthEntry[]>> {
    const ctx = Object.assign(new EventEmitter(), { includeResponse: true });
    const onAbort = () => ctx.emit("cancel");
    if (signal.aborted) throw new MeshError(Code.Canceled, "Consul watch stopped");
    signal.addEventListener("abort", onAbort);
    try {
      const options: Record<string, unknown> = { service, ctx, timeout: waitMs + Math.ceil(waitMs / 16) + this.o.requestTimeoutMs };
      if (index > 0n) {
        options.index = index.toString();
        options.wait = goDuration(waitMs);
      }
      const [res, body] = (await this.call("watch service instances", (consul) => (consul.health.service as unknown as Call)(options))) as [{ headers: Record<string, string | string[] | undefined> }, unknown];
      return { value: Array.isArray(body) ? (body as HealthEntry[]) : [], index: parseConsulIndex(res.headers["x-consul-index"]) };
    } finally {
      signal.removeEventListener("abort", onAbort);
    }
  }

  /** Releases the keep-alive connections. */
  close(): void {
    this.closed = true;
    this.consul?.destroy();
  }

  private async call<T>(what: string, fn: (consul: Consul) => Promise<T>): Promise<T> {
    try {
      return await fn(this.consul ?? (await this.client()));
    } catch (err) {
      throw consulError(err, what, this.url);
    }
  }
}

/** A MeshError for a failed Consul call: UNAVAILABLE (retryable) when Consul could not be reached or failed, else the HTTP meaning. */
export function consulError(err: unknown, what: string, url: string): MeshError {
  const e = err as { statusCode?: number; code?: string; isAbort?: boolean; isTimeout?: boolean; message?: string };
  const detail = e.message ?? String(err);
  if (e.isAbort === true) return new MeshError(Code.Canceled, `${what} at ${url}: aborted`, { cause: err });
  if (e.isTimeout === true) return new MeshError(Code.Unavailable, `${url} did not answer in time (${what})`, { cause: err });
  const status = typeof e.statusCode === "number" ? e.statusCode : undefined;
  if (status === undefined) return new MeshError(Code.Unavailable, `${url} is unreachable (${e.code ?? detail})`, { cause: err });
  const code =
    status === 400 ? Code.InvalidArgument : status === 401 || status === 403 ? Code.PermissionDenied : status === 404 ? Code.NotFound : status === 429 ? Code.ResourceExhausted : Code.Unavailable;
  return new MeshError(code, `${url} answered HTTP ${status} to ${what}: ${detail}`, { cause: err, retryable: true });
}
