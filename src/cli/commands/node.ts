/**
 * `agent-mesh node`: runs one agent node until SIGTERM or SIGINT (or until the parent process that spawned it
 * with an IPC channel goes away), then drains and exits 0. Prints one JSON "ready" line on stdout once it serves.
 */
import { AgentNode } from "../../node/agent-node.js";
import { CONSUL_CHECK_KINDS, resolveConsulConfig, type ConsulCheckKind } from "../../discovery/consul-config.js";
import type { Discovery } from "../../discovery/discovery.js";
import { exampleHandlers } from "../../node/examples.js";
import { installExampleCollaborator } from "../../node/example-collaborator.js";
import { createJsonLogger, LOG_LEVELS, logLevelFromEnv, type LogLevel } from "../../telemetry/logger.js";
import { startTracing, type Tracing } from "../../telemetry/tracing.js";
import { MeshError } from "../../protocol/errors.js";
import type { Logger } from "../../protocol/logger.js";
import { parseAddress, parseAgentId, parseCapabilities, parseChoice, parseInteger, parseList, parseOptions, parsePort, required, UsageError } from "../args.js";
import { loadAgentModule, type AgentModule } from "../agent-module.js";
import { fail, println, type CliIo } from "../io.js";
import { BUILT_IN_CAPABILITIES, usage } from "../usage.js";
import { onStopRequest } from "../signals.js";
import { guardKeepalivePing } from "../keepalive-guard.js";
import { endLeanIdle, leanIdleFromEnv, leanIdleReady, leanIdleState } from "../lean-idle.js";


/** The settings of `agent-mesh node`, parsed and validated. */
export interface NodeArgs {
  /** Agent id. */
  id: string;
  /** Port (0: any free one). */
  port: number;
  /** Interface to listen on. */
  host: string;
  /** Capabilities to serve (undefined: all the agent module registers). */
  capabilities: string[] | undefined;
  /** Seeds to join through. */
  seeds: string[];
  /** Tasks at once at most (undefined: the node default). */
  capacity: number | undefined;
  /** Agent module path (undefined: the built-ins). */
  agent: string | undefined;
  /** Log level (undefined: the logger's default). */
  logLevel: LogLevel | undefined;
  /** How peers are found: seeds and SWIM (embedded), Consul, or Consul for peers and SWIM for failures (hybrid). */
  discovery: DiscoveryMode;
  /** Consul options from --consul-addr, --consul-service, --consul-check (the rest from the environment and defaults). */
  consul: { address?: string; serviceName?: string; check?: ConsulCheckKind };
}

/** The values of --discovery. */
export const DISCOVERY_MODES = ["embedded", "consul", "hybrid"] as const;

/** A discovery mode. */
export type DiscoveryMode = (typeof DISCOVERY_MODES)[number];

/** Parses the arguments of `agent-mesh node`; null when --help was asked for. */
export function parseNodeArgs(args: string[]): NodeArgs | null {
  const v = parseOptions(args, {
    id: { type: "string" },
    port: { type: "string" },
    host: { type: "string" },
    capabilities: { type: "string" },
    seeds: { type: "string" },
    capacity: { type: "string" },
    agent: { type: "string" },
    "log-level": { type: "string" },
    discovery: { type: "string" },
    "consul-addr": { type: "string" },
    "consul-service": { type: "string" },
    "consul-check": { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  if (v.help === true) return null;
  const agent = v.agent;
  if (agent === "") throw new UsageError("--agent: expected a module path");
  const capabilities = v.capabilities === undefined && agent !== undefined ? undefined : parseCapabilities(required(v.capabilities, "capabilities"), "capabilities");
  if (agent === undefined) {
    const unknown = capabilities?.find((c) => !BUILT_IN_CAPABILITIES.includes(c));
    if (unknown !== undefined) {
      throw new UsageError(`--capabilities: "${unknown}" is not a built-in capability (built-ins: ${BUILT_IN_CAPABILITIES.join(", ")}; use --agent MODULE for others)`);
    }
  }
  if (v.host === "") throw new UsageError("--host: expected a host name or address");
  const discovery = v.discovery === undefined ? "embedded" : parseChoice(v.discovery, "discovery", DISCOVERY_MODES);
  const consul = parseConsulOptions(discovery, v["consul-addr"], v["consul-service"], v["consul-check"]);
  if (discovery === "consul" && v.seeds !== undefined) throw new UsageError("--seeds: not used with --discovery consul (peers come from Consul; use hybrid to add seeds)");
  return {
    id: parseAgentId(required(v.id, "id"), "id"),
    port: parsePort(required(v.port, "port"), "port", true),
    host: v.host ?? "127.0.0.1",
    capabilities,
    seeds: v.seeds === undefined ? [] : parseList(v.seeds).map((s) => parseAddress(s, "seeds")),
    capacity: v.capacity === undefined ? undefined : parseInteger(v.capacity, "capacity", 1, 100_000),
    agent,
    logLevel: parseLogLevel(v["log-level"]),
    discovery,
    consul,
  };
}

/** The --consul-* options, checked with the environment (CONSUL_HTTP_ADDR, CONSUL_HTTP_TOKEN) as the node will read it. */
function parseConsulOptions(mode: DiscoveryMode, address: string | undefined, serviceName: string | undefined, check: string | undefined): NodeArgs["consul"] {
  const given = [["consul-addr", address], ["consul-service", serviceName], ["consul-check", check]].find(([, value]) => value !== undefined);
  if (mode === "embedded") {
    if (given !== undefined) throw new UsageError(`--${given[0]}: needs --discovery consul or hybrid`);
    return {};
  }
  const consul = { address, serviceName, check: check === undefined ? undefined : parseChoice(check, "consul-check", CONSUL_CHECK_KINDS) };
  try {
    resolveConsulConfig(consul);
  } catch (err) {
    if (err instanceof MeshError) throw new UsageError(err.message.replace(/^consul address:/, "--consul-addr:").replace(/^consul service name:/, "--consul-service:"));
    throw err;
  }
  return consul;
}

/** The Discovery a node runs with, from the parsed arguments (the Consul modules are loaded only when asked for). */
async function discoveryOf(parsed: NodeArgs): Promise<Discovery | undefined> {
  if (parsed.discovery === "consul") return new (await import("../../discovery/consul.js")).ConsulDiscovery(parsed.consul);
  if (parsed.discovery === "hybrid") return new (await import("../../discovery/consul-hybrid.js")).HybridDiscovery({ consul: parsed.consul, seeds: parsed.seeds });
  return undefined;
}

/** The --log-level value, else a valid $AGENT_MESH_LOG_LEVEL, else undefined (the logger's default). */
function parseLogLevel(option: string | undefined): LogLevel | undefined {
  if (option !== undefined) return parseChoice(option, "log-level", LOG_LEVELS);
  try {
    return logLevelFromEnv();
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** Checks the AGENT_MESH_LEAN_IDLE* variables (see ../lean-idle.ts); UsageError naming the variable when one is malformed. */
function checkLeanIdleEnv(): void {
  try {
    leanIdleFromEnv();
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** Runs `agent-mesh node`; resolves with the exit code after the node stopped. */
export async function nodeCommand(args: string[], io: CliIo): Promise<number> {
  const parsed = parseNodeArgs(args);
  if (parsed === null) {
    println(io.stdout, usage("node"));
    return 0;
  }
  checkLeanIdleEnv();
  const agentModule = parsed.agent === undefined ? undefined : await loadAgentModule(parsed.agent);
  const logger = createJsonLogger({ level: parsed.logLevel, base: {} });
  const stopRequest = onStopRequest();
  const unguard = guardKeepalivePing(logger);
  try {
    const tracing = startTracing({ agentId: parsed.id, logger }); // OTEL_* and AGENT_MESH_TRACE_* variables; see src/telemetry/tracing.ts
    const node = new AgentNode({ id: parsed.id, host: parsed.host, port: parsed.port, capacity: parsed.capacity, seeds: parsed.seeds, discovery: await discoveryOf(parsed), logger });
    await registerHandlers(node, parsed, agentModule);
    try {
      await node.start();
    } catch (err) {
      await node.stop().catch(() => {});
      return fail(io, startFailure(err, parsed));
    }
    println(io.stdout, JSON.stringify({ event: "ready", id: node.id, address: node.address, capabilities: node.capabilities }));
    const lean = leanIdleState();
    if (lean.phase !== "off") {
      const log = logger.child({ agent: node.id });
      log.debug({ youngGeneration: lean.youngGeneration, compilers: lean.compilers }, "lean idle: V8 defaults held back until the node is busy");
      leanIdleReady(() => log.debug({}, "lean idle: the node is busy, V8 defaults restored"));
    }
    const reason = await stopRequest.requested;
    logger.child({ agent: node.id }).info({ reason }, "stopping: draining running tasks");
    await node.stop();
    await tracing.shutdown();
    logExportTotals(logger.child({ agent: node.id }), tracing);
    return 0;
  } catch (err) {
    if (err instanceof UsageError) throw err;
    return fail(io, err instanceof Error ? err.message : String(err));
  } finally {
    endLeanIdle();
    stopRequest.dispose();
    unguard();
    flush(logger);
  }
}

/**
 * Registers the built-in handlers listed (and the example collaborator: votes, brainstorms, critiques,
 * implementations), or runs the agent module and keeps the capabilities listed.
 */
async function registerHandlers(node: AgentNode, parsed: NodeArgs, agentModule: AgentModule | undefined): Promise<void> {
  if (agentModule === undefined) {
    for (const c of parsed.capabilities ?? []) node.announceCapability(c, exampleHandlers[c]);
    installExampleCollaborator(node);
    return;
  }
  try {
    await agentModule(node);
  } catch (err) {
    throw new Error(`agent module ${parsed.agent} failed: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (parsed.capabilities === undefined) return;
  const registered = node.capabilities;
  const missing = parsed.capabilities.find((c) => !registered.includes(c));
  if (missing !== undefined) {
    throw new UsageError(`--capabilities: agent module ${parsed.agent} does not register "${missing}" (it registers: ${registered.join(", ") || "none"})`);
  }
  for (const c of registered) if (!parsed.capabilities.includes(c)) node.withdrawCapability(c);
}

/** A one-line message for a node that could not start. */
function startFailure(err: unknown, parsed: NodeArgs): string {
  const message = err instanceof Error ? err.message : String(err);
  if (message.includes("EADDRINUSE")) return `cannot start agent ${parsed.id}: port ${parsed.port} on ${parsed.host} is already in use`;
  if (message.includes("EACCES")) return `cannot start agent ${parsed.id}: no permission to listen on ${parsed.host}:${parsed.port}`;
  if (message.includes("EADDRNOTAVAIL") || message.includes("ENOTFOUND")) return `cannot start agent ${parsed.id}: cannot listen on host ${parsed.host}`;
  return `cannot start agent ${parsed.id}: ${err instanceof MeshError ? err.message : message}`;
}

/** Flushes buffered log lines, when the logger can. */
function flush(logger: Logger): void {
  try {
    (logger as { flush?: () => void }).flush?.();
  } catch {
    // nothing more to do
  }
}

/**
 * After tracing shut down: what its span export did over the node's life — spans exported, dropped (the queue
 * was full), failed (the collector refused or was unreachable), and still queued or in flight (the shutdown's
 * deadline passed first). Info when every span went out, a warning otherwise; nothing when nothing is exported.
 */
function logExportTotals(log: Logger, tracing: Tracing): void {
  const totals = tracing.exportStats();
  if (totals === undefined) return;
  const { exported, dropped, failed, queued, inFlight } = totals;
  const fields = { endpoint: tracing.exportUrl, exported, dropped, failed, queued, inFlight };
  if (dropped + failed + queued + inFlight > 0) log.warn(fields, "trace export stopped: some spans were not exported");
  else log.info(fields, "trace export stopped: every span exported");
}
