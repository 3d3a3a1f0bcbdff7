/**
 * Consul discovery configuration: every address, timer and limit with its unit and default, in one place, and how
 * the environment fills them (CONSUL_HTTP_ADDR, CONSUL_HTTP_TOKEN, CONSUL_HTTP_SSL, the variables Consul's own
 * CLI reads). `localConsulConfig` is a faster preset for tests on loopback.
 */
import { withDefaults } from "../protocol/config.js";
import { Code, MeshError } from "../protocol/errors.js";

/** How Consul learns an agent is healthy. */
export type ConsulCheckKind = "grpc" | "ttl";

/** The health check kinds, for parsing. */
export const CONSUL_CHECK_KINDS: readonly ConsulCheckKind[] = ["grpc", "ttl"];

/** Options of the Consul discovery (and of the Consul half of the hybrid discovery). */
export interface ConsulConfig {
  /**
   * The Consul agent's HTTP API: `http://host:port`, `https://host:port` or `host:port`. Default: $CONSUL_HTTP_ADDR,
   * else `http://127.0.0.1:8500` (Consul's default). A bare host:port uses https when $CONSUL_HTTP_SSL is true.
   */
  address: string;
  /** ACL token sent with every request (X-Consul-Token). Default: $CONSUL_HTTP_TOKEN, else none (the agent's default token). */
  token: string | undefined;
  /** Consul service name every agent of the mesh registers under and watches. Default "agent-mesh". */
  serviceName: string;
  /**
   * "grpc": Consul calls the node's grpc.health.v1.Health/Check every checkIntervalMs (the default; NOT_SERVING while
   * draining turns the check critical). "ttl": the node reports to Consul every ttlPassIntervalMs, for networks where
   * Consul cannot reach the agent.
   */
  check: ConsulCheckKind;
  /** gRPC check: how often Consul calls Check, ms. Default 5000. */
  checkIntervalMs: number;
  /** gRPC check: how long one Check may take before it counts as failed, ms. Default 2000 (Consul's own default is 10 s). */
  checkTimeoutMs: number;
  /** gRPC check: the service asked about; "" is the whole server. Default "". */
  grpcCheckService: string;
  /** gRPC check: host:port Consul dials; default: the node's advertised address (set it when Consul sees the node elsewhere). */
  checkAddress: string | undefined;
  /** TTL check: how long a pass keeps the check passing, ms. Default 15000. */
  ttlMs: number;
  /** TTL check: how often the node passes it, ms; must be below ttlMs. Default 5000 (three passes per TTL). */
  ttlPassIntervalMs: number;
  /**
   * DeregisterCriticalServiceAfter: Consul removes an instance whose check stayed critical this long (a crashed node
   * that never deregistered), ms. Consul raises anything below its minimum, 1 minute, to 1 minute. Default 60000.
   */
  deregisterCriticalAfterMs: number;
  /** Longest wait of one blocking query on the service's instances, ms (Consul caps it at 10 min). Default 30000. */
  watchWaitMs: number;
  /**
   * Rate limit of the watch loop (a token bucket, as Consul's blocking-query guide advises): rounds that may follow
   * each other without waiting. Default 2.
   */
  watchBurst: number;
  /** Rate limit of the watch loop: once the burst is spent, one round per this interval while results churn, ms. Default 1000. */
  watchMinIntervalMs: number;
  /** Timeout of a plain request (register, pass, list), ms; a blocking query gets its wait plus wait/16 plus this. Default 5000. */
  requestTimeoutMs: number;
  /** First retry delay after Consul could not be reached, ms. Default 500. */
  retryInitialMs: number;
  /** Longest retry delay, ms. Default 30000. */
  retryMaxMs: number;
  /** Growth of the retry delay per failed attempt. Default 2. */
  retryMultiplier: number;
  /** Random spread of each retry delay, as a fraction (0.2 = ±20 %). Default 0.2. */
  retryJitter: number;
  /**
   * How long an agent that announced it is draining stays in the view while its check is critical (it reports
   * NOT_SERVING while it finishes its tasks), ms; it leaves earlier when it deregisters. Default 30000.
   */
  drainingGraceMs: number;
  /** Deregister on graceful stop. Default true (leaving it to DeregisterCriticalServiceAfter keeps a dead entry for a minute). */
  deregisterOnStop: boolean;
}

/** The defaults (address and token come from the environment, see resolveConsulConfig). */
export const defaultConsulConfig: Readonly<ConsulConfig> = Object.freeze({
  address: "http://127.0.0.1:8500",
  token: undefined,
  serviceName: "agent-mesh",
  check: "grpc" as ConsulCheckKind,
  checkIntervalMs: 5000,
  checkTimeoutMs: 2000,
  grpcCheckService: "",
  checkAddress: undefined,
  ttlMs: 15_000,
  ttlPassIntervalMs: 5000,
  deregisterCriticalAfterMs: 60_000,
  watchWaitMs: 30_000,
  watchBurst: 2,
  watchMinIntervalMs: 1000,
  requestTimeoutMs: 5000,
  retryInitialMs: 500,
  retryMaxMs: 30_000,
  retryMultiplier: 2,
  retryJitter: 0.2,
  drainingGraceMs: 30_000,
  deregisterOnStop: true,
});

/** A faster preset for tests on loopback: only what differs from the defaults. */
export const localConsulConfig: Readonly<Partial<ConsulConfig>> = Object.freeze({
  checkIntervalMs: 500,
  checkTimeoutMs: 1000,
  ttlMs: 3000,
  ttlPassIntervalMs: 500,
  watchWaitMs: 5000,
  watchMinIntervalMs: 100,
  requestTimeoutMs: 2000,
  retryInitialMs: 100,
  retryMaxMs: 1000,
});

/** Where the Consul HTTP API is. */
export interface ConsulEndpoint {
  /** True for https. */
  secure: boolean;
  /** Host name or address (IPv6 without brackets). */
  host: string;
  /** TCP port. */
  port: number;
}

/** The effective configuration and the parsed endpoint. */
export interface ResolvedConsulConfig extends ConsulConfig {
  /** `address`, parsed. */
  endpoint: ConsulEndpoint;
}

/** The environment variables read (a subset of process.env). */
export type ConsulEnv = Partial<Record<"CONSUL_HTTP_ADDR" | "CONSUL_HTTP_TOKEN" | "CONSUL_HTTP_SSL", string>>;

/**
 * The defaults, then the environment (CONSUL_HTTP_ADDR, CONSUL_HTTP_TOKEN, CONSUL_HTTP_SSL), then `overrides`;
 * validated. A bad value fails with INVALID_ARGUMENT naming the option (or the variable it came from).
 */
export function resolveConsulConfig(overrides: Partial<ConsulConfig> = {}, env: ConsulEnv = process.env): ResolvedConsulConfig {
  const fromEnv: Partial<ConsulConfig> = {};
  if (nonEmpty(env.CONSUL_HTTP_ADDR)) fromEnv.address = env.CONSUL_HTTP_ADDR;
  if (nonEmpty(env.CONSUL_HTTP_TOKEN)) fromEnv.token = env.CONSUL_HTTP_TOKEN;
  const config = withDefaults(withDefaults(defaultConsulConfig, fromEnv), overrides);
  const addressSource = overrides.address !== undefined ? "consul address" : fromEnv.address !== undefined ? "CONSUL_HTTP_ADDR" : "consul address";
  const endpoint = parseConsulAddress(config.address, addressSource, /^(1|true)$/i.test(env.CONSUL_HTTP_SSL ?? ""));
  if (!/^[A-Za-z0-9-]{1,63}$/.test(config.serviceName)) {
    invalid(`consul service name: "${config.serviceName}" must be 1-63 letters, digits or dashes (a DNS label)`);
  }
  if (!CONSUL_CHECK_KINDS.includes(config.check)) invalid(`consul check: expected one of ${CONSUL_CHECK_KINDS.join(", ")}, got "${String(config.check)}"`);
  for (const key of ["checkIntervalMs", "checkTimeoutMs", "ttlMs", "ttlPassIntervalMs", "watchWaitMs", "watchMinIntervalMs", "requestTimeoutMs", "retryInitialMs", "retryMaxMs", "drainingGraceMs"] as const) {
    positive(config[key], key);
  }
  if (config.ttlPassIntervalMs >= config.ttlMs) invalid(`ttlPassIntervalMs: must be below ttlMs (${config.ttlMs}), got ${config.ttlPassIntervalMs}`);
  if (config.watchWaitMs > 600_000) invalid(`watchWaitMs: Consul caps a blocking query at 10 minutes (600000), got ${config.watchWaitMs}`);
  positive(config.deregisterCriticalAfterMs, "deregisterCriticalAfterMs");
  if (!Number.isInteger(config.watchBurst) || config.watchBurst < 1) invalid(`watchBurst: must be an integer of at least 1, got ${config.watchBurst}`);
  if (!(config.retryMultiplier >= 1)) invalid(`retryMultiplier: must be at least 1, got ${config.retryMultiplier}`);
  if (!(config.retryJitter >= 0 && config.retryJitter <= 1)) invalid(`retryJitter: must be from 0 to 1, got ${config.retryJitter}`);
  return { ...config, endpoint };
}

/**
 * Parses a Consul HTTP address: `http://host:port`, `https://host:port` or `host:port` (IPv6 as `[::1]:8500`).
 * A missing port is Consul's 8500. `source` names the option or variable in errors.
 */
export function parseConsulAddress(text: string, source = "consul address", sslByDefault = false): ConsulEndpoint {
  const m = /^(?:(https?):\/\/)?(\[[0-9A-Fa-f:.]+\]|[^\s:/[\]]+)(?::(\d{1,5}))?\/?$/.exec(text.trim());
  if (m === null) invalid(`${source}: expected http://HOST:PORT, https://HOST:PORT or HOST:PORT, got "${text}"`);
  const port = m[3] === undefined ? 8500 : Number(m[3]);
  if (!(port >= 1 && port <= 65_535)) invalid(`${source}: port must be from 1 to 65535, got "${m[3]}" in "${text}"`);
  const host = m[2].startsWith("[") ? m[2].slice(1, -1) : m[2];
  return { secure: m[1] === undefined ? sslByDefault : m[1] === "https", host, port };
}

/** The URL of an endpoint, for messages. */
export function endpointUrl(e: ConsulEndpoint): string {
  return `${e.secure ? "https" : "http"}://${e.host.includes(":") ? `[${e.host}]` : e.host}:${e.port}`;
}

/** A duration in milliseconds as Go's time.ParseDuration reads it (how Consul takes intervals): "5s", "1500ms". */
export function goDuration(ms: number): string {
  const whole = Math.max(0, Math.round(ms));
  return whole % 1000 === 0 ? `${whole / 1000}s` : `${whole}ms`;
}

function nonEmpty(s: string | undefined): s is string {
  return s !== undefined && s.trim() !== "";
}

function positive(value: number, field: string): void {
  if (!(Number.isFinite(value) && value > 0)) invalid(`${field}: must be a positive number of milliseconds, got ${value}`);
}

function invalid(message: string): never {
  throw new MeshError(Code.InvalidArgument, message);
}
