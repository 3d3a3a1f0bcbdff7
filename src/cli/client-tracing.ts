/**
 * The CLI as a traced client: the task commands (submit, vote, auction, solve) start tracing for their process
 * when spans are to be exported, as a node does (OTEL_EXPORTER_OTLP_ENDPOINT and the other standard variables;
 * service.name "agent-mesh-cli" unless OTEL_SERVICE_NAME gives one; no span ring), so their calls' CLIENT
 * spans (client-spans.ts) are the roots of the tasks' traces. Before the command exits its spans are exported,
 * waiting at most $AGENT_MESH_CLI_TRACE_FLUSH_MS (default 2000) for the collector. Without an endpoint nothing
 * is started.
 */
import { envInt } from "../protocol/env-vars.js";
import { startTracing, type Tracing } from "../telemetry/tracing.js";
import { UsageError } from "./args.js";

/** The agent id the CLI's spans carry (service.instance.id, agentmesh.agent_id, and service.name by default). */
export const CLI_AGENT_ID = "agent-mesh-cli";
/** How long a command waits for its spans to be exported before it exits, ms, when $AGENT_MESH_CLI_TRACE_FLUSH_MS is unset. */
export const DEFAULT_CLI_TRACE_FLUSH_MS = 2000;

/** The CLI's tracing while a command runs, and how long the command waits for its export at the end. */
export interface ClientTracing {
  /** The process's tracing (exporting: started only when something is to be exported). */
  readonly tracing: Tracing;
  /** $AGENT_MESH_CLI_TRACE_FLUSH_MS, else DEFAULT_CLI_TRACE_FLUSH_MS. */
  readonly flushMs: number;
}

/**
 * Starts the CLI's tracing as `env` says (see the file comment); undefined when nothing is to be exported. A
 * malformed AGENT_MESH_CLI_TRACE_FLUSH_MS is a UsageError naming it, and an endpoint that is not an http(s) URL
 * a MeshError (as for a node), both before the command sends anything.
 */
export function startClientTracing(env: NodeJS.ProcessEnv = process.env): ClientTracing | undefined {
  let flushMs: number;
  try {
    flushMs = envInt(env, "AGENT_MESH_CLI_TRACE_FLUSH_MS", 0, 60_000) ?? DEFAULT_CLI_TRACE_FLUSH_MS;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const tracing = startTracing({ agentId: CLI_AGENT_ID, env, ringSize: 0 });
  return tracing.enabled ? { tracing, flushMs } : undefined;
}

/** Exports what the command's spans left and stops tracing, waiting at most its flushMs for the collector. */
export async function stopClientTracing(client: ClientTracing | undefined): Promise<void> {
  if (client !== undefined) await client.tracing.shutdown(client.flushMs);
}
