/**
 * How an agent looks in Consul, both ways: AgentInfo → a service registration (ID = agent id, tags = capabilities,
 * meta = version, capacity, draining, start time and the agent's own labels, address and port, one health check),
 * and a health/service entry → AgentInfo. Consul's documented limits on meta are respected
 * (https://developer.hashicorp.com/consul/docs/services/configuration/services-configuration-reference#meta:
 * "up to 64 pairs", keys of "A-Z, a-z, 0-9, _, and -" "limited to 128 characters", values "limited to 512
 * characters"); what does not fit is left out and reported.
 */
import { create } from "@bufbuild/protobuf";
import { AgentInfoSchema, MemberStatus, type AgentInfo } from "../../gen/agentmesh/v1/membership_pb.js";
import { AGENT_ID_PATTERN, CAPABILITY_PATTERN } from "../protocol/ids.js";
import { goDuration, type ResolvedConsulConfig } from "./consul-config.js";
import type { CheckRegistration, HealthEntry, ServiceRegistration } from "./consul-client.js";

/** Meta key of the agent's capacity (tasks at once). */
export const META_CAPACITY = "am_capacity";
/** Meta key of the draining flag ("true" while draining). */
export const META_DRAINING = "am_draining";
/** Meta key of the agent's start time (Unix ms): a restarted agent is told from its previous life by it. */
export const META_STARTED_AT = "am_started_at_ms";

const RESERVED_PREFIX = "am_";
const MAX_META_PAIRS = 64;
const META_KEY = /^[A-Za-z0-9_-]{1,128}$/;
const MAX_META_VALUE = 512;

/** The id of the check registered for agent `agentId`. */
export function checkIdOf(agentId: string): string {
  return `service:${agentId}`;
}

/** Splits "host:port" or "[v6]:port"; undefined when it is neither. */
export function splitHostPort(address: string): { host: string; port: number } | undefined {
  const m = /^(\[[0-9A-Fa-f:.]+\]|[^\s:[\]]+):(\d{1,5})$/.exec(address);
  if (m === null) return undefined;
  const port = Number(m[2]);
  if (!(port >= 1 && port <= 65_535)) return undefined;
  return { host: m[1].startsWith("[") ? m[1].slice(1, -1) : m[1], port };
}

/** host and port joined, IPv6 in brackets. */
export function joinHostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Consul meta for `info`, and the labels left out because they break Consul's rules. */
export function consulMeta(info: AgentInfo): { meta: Record<string, string>; dropped: string[] } {
  const meta: Record<string, string> = {
    [META_CAPACITY]: String(info.capacity),
    [META_DRAINING]: String(info.draining),
    [META_STARTED_AT]: String(info.startedAtMs),
  };
  const dropped: string[] = [];
  for (const [key, value] of Object.entries(info.meta).sort(([a], [b]) => a.localeCompare(b))) {
    const fits = META_KEY.test(key) && !key.startsWith(RESERVED_PREFIX) && !key.startsWith("consul-") && value.length <= MAX_META_VALUE;
    if (!fits || Object.keys(meta).length >= MAX_META_PAIRS) dropped.push(key);
    else meta[key] = value;
  }
  return { meta, dropped };
}

/** What a registration needs beyond the agent's info. */
export interface RegistrationOptions {
  /** Initial check status; Consul's default (critical) when undefined. */
  status?: "passing" | "critical";
}

/** The registration of `info` (its address must be host:port) under `config`. */
export function serviceRegistration(info: AgentInfo, config: ResolvedConsulConfig, options: RegistrationOptions = {}): ServiceRegistration {
  const at = splitHostPort(info.address);
  if (at === undefined) throw new Error(`agent ${info.id} has no host:port address to register ("${info.address}")`);
  const common = { checkid: checkIdOf(info.id), deregistercriticalserviceafter: goDuration(config.deregisterCriticalAfterMs), status: options.status };
  const check: CheckRegistration =
    config.check === "grpc"
      ? {
          ...common,
          name: `agent-mesh gRPC health of ${info.id}`,
          grpc: `${config.checkAddress ?? info.address}${config.grpcCheckService === "" ? "" : `/${config.grpcCheckService}`}`,
          grpcusetls: false,
          interval: goDuration(config.checkIntervalMs),
          timeout: goDuration(config.checkTimeoutMs),
        }
      : { ...common, name: `agent-mesh TTL of ${info.id}`, ttl: goDuration(config.ttlMs) };
  if (check.status === undefined) delete check.status;
  return {
    name: config.serviceName,
    id: info.id,
    tags: [...info.capabilities],
    address: at.host,
    port: at.port,
    meta: consulMeta(info).meta,
    check,
  };
}

/**
 * The agent an entry of GET /v1/health/service/:name describes, or a reason to skip it (an instance that is not an
 * agent of this mesh: bad id, no port). The address is the service's, else its node's ("if empty, node address
 * should be used", catalog docs).
 */
export function agentFromEntry(entry: HealthEntry): { agent: AgentInfo } | { skip: string } {
  const s = entry.Service;
  if (!AGENT_ID_PATTERN.test(s.ID ?? "")) return { skip: `service id "${s.ID}" is not a valid agent id` };
  const host = s.Address !== undefined && s.Address !== "" ? s.Address : (entry.Node?.Address ?? "");
  if (host === "" || !(typeof s.Port === "number" && s.Port >= 1 && s.Port <= 65_535)) return { skip: `instance ${s.ID} has no address and port` };
  const meta = s.Meta ?? {};
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(meta)) if (!k.startsWith(RESERVED_PREFIX)) labels[k] = v;
  const capacity = Number(meta[META_CAPACITY]);
  const startedAt = meta[META_STARTED_AT];
  const agent = create(AgentInfoSchema, {
    id: s.ID,
    address: joinHostPort(host, s.Port),
    capabilities: [...new Set((s.Tags ?? []).filter((t) => CAPABILITY_PATTERN.test(t)))],
    capacity: Number.isInteger(capacity) && capacity > 0 ? capacity : 1,
    status: MemberStatus.ALIVE,
    draining: meta[META_DRAINING] === "true",
    startedAtMs: startedAt !== undefined && /^\d{1,16}$/.test(startedAt) ? BigInt(startedAt) : 0n,
    meta: labels,
  });
  return { agent };
}

/** True when two infos read from Consul differ in anything Consul carries. */
export function sameRecord(a: AgentInfo, b: AgentInfo): boolean {
  return (
    a.address === b.address &&
    a.capacity === b.capacity &&
    a.draining === b.draining &&
    a.startedAtMs === b.startedAtMs &&
    a.capabilities.join("\n") === b.capabilities.join("\n") &&
    JSON.stringify(Object.entries(a.meta).sort()) === JSON.stringify(Object.entries(b.meta).sort())
  );
}
