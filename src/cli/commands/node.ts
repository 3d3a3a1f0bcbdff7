/**
 * `agent-mesh node`: runs one agent node until SIGTERM or SIGINT (or until the parent process that spawned it
 * with an IPC channel goes away), then drains and exits 0. Prints one JSON "ready" line on stdout once it serves.
 */
import { AgentNode } from "../../node/agent-node.js";
import { exampleHandlers } from "../../node/examples.js";
import { createJsonLogger, LOG_LEVELS, logLevelFromEnv, type LogLevel } from "../../telemetry/logger.js";
import { startTracing } from "../../telemetry/tracing.js";
import { MeshError } from "../../protocol/errors.js";
import type { Logger } from "../../protocol/logger.js";
import { parseAddress, parseAgentId, parseCapabilities, parseChoice, parseInteger, parseList, parseOptions, parsePort, required, UsageError } from "../args.js";
import { loadAgentModule, type AgentModule } from "../agent-module.js";
import { fail, println, type CliIo } from "../io.js";
import { BUILT_IN_CAPABILITIES, usage } from "../usage.js";
import { onStopRequest } from "../signals.js";
import { guardKeepalivePing } from "../keepalive-guard.js";


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
}

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
  return {
    id: parseAgentId(required(v.id, "id"), "id"),
    port: parsePort(required(v.port, "port"), "port", true),
    host: v.host ?? "127.0.0.1",
    capabilities,
    seeds: v.seeds === undefined ? [] : parseList(v.seeds).map((s) => parseAddress(s, "seeds")),
    capacity: v.capacity === undefined ? undefined : parseInteger(v.capacity, "capacity", 1, 100_000),
    agent,
    logLevel: parseLogLevel(v["log-level"]),
  };
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

/** Runs `agent-mesh node`; resolves with the exit code after the node stopped. */
export async function nodeCommand(args: string[], io: CliIo): Promise<number> {
  const parsed = parseNodeArgs(args);
  if (parsed === null) {
    println(io.stdout, usage("node"));
    return 0;
  }
  const agentModule = parsed.agent === undefined ? undefined : await loadAgentModule(parsed.agent);
  const logger = createJsonLogger({ level: parsed.logLevel, base: {} });
  const stopRequest = onStopRequest();
  const unguard = guardKeepalivePing(logger);
  try {
    const tracing = startTracing({ agentId: parsed.id, logger }); // OTEL_* and AGENT_MESH_TRACE_* variables; see src/telemetry/tracing.ts
    const node = new AgentNode({ id: parsed.id, host: parsed.host, port: parsed.port, capacity: parsed.capacity, seeds: parsed.seeds, logger });
    await registerHandlers(node, parsed, agentModule);
    try {
      await node.start();
    } catch (err) {
      await node.stop().catch(() => {});
      return fail(io, startFailure(err, parsed));
    }
    println(io.stdout, JSON.stringify({ event: "ready", id: node.id, address: node.address, capabilities: node.capabilities }));
    const reason = await stopRequest.requested;
    logger.child({ agent: node.id }).info({ reason }, "stopping: draining running tasks");
    await node.stop();
    await tracing.shutdown();
    return 0;
  } catch (err) {
    if (err instanceof UsageError) throw err;
    return fail(io, err instanceof Error ? err.message : String(err));
  } finally {
    stopRequest.dispose();
    unguard();
    flush(logger);
  }
}

/** Registers the built-in handlers listed, or runs the agent module and keeps the capabilities listed. */
async function registerHandlers(node: AgentNode, parsed: NodeArgs, agentModule: AgentModule | undefined): Promise<void> {
  if (agentModule === undefined) {
    for (const c of parsed.capabilities ?? []) node.announceCapability(c, exampleHandlers[c]);
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
