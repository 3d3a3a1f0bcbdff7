/**
 * Test world for the Consul discovery: in-process AgentNodes on real gRPC (loopback) that discover each other
 * through a ConsulDouble, a log recorder, a "crash" that stops a node's server and loops without deregistering,
 * and cleanup of everything a test started.
 */
import { localSwimConfig } from "../../src/membership/config.js";
import { AgentNode } from "../../src/node/agent-node.js";
import type { AgentNodeConfig } from "../../src/node/config.js";
import type { TaskHandler } from "../../src/node/task-runner.js";
import { localConsulConfig, type ConsulConfig } from "../../src/discovery/consul-config.js";
import { ConsulDiscovery } from "../../src/discovery/consul.js";
import { HybridDiscovery } from "../../src/discovery/consul-hybrid.js";
import { Code, MeshError } from "../../src/protocol/errors.js";
import type { LogFields, Logger } from "../../src/protocol/logger.js";
import { ConsulDouble, type ConsulDoubleOptions } from "./consul-double.js";

/** One recorded log line. */
export interface LogLine {
  /** Level. */
  level: "debug" | "info" | "warn" | "error";
  /** Fields, the child fields included. */
  fields: LogFields;
  /** Message. */
  msg: string;
}

/** A Logger that keeps every line (shared by its children). */
export function recordingLogger(lines: LogLine[] = [], base: LogFields = {}): Logger & { lines: LogLine[] } {
  const at = (level: LogLine["level"]) => (fields: LogFields, msg: string) => void lines.push({ level, fields: { ...base, ...fields }, msg });
  return { lines, debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error"), child: (fields) => recordingLogger(lines, { ...base, ...fields }) };
}

/** A node to start: id, capabilities with handlers, discovery mode and overrides. */
export interface ConsulNodeSpec {
  /** Agent id. */
  id: string;
  /** Capabilities and their handlers. */
  handlers?: Record<string, TaskHandler>;
  /** "consul" (default) or "hybrid". */
  mode?: "consul" | "hybrid";
  /** Consul options over the world's (address, fast timers). */
  consul?: Partial<ConsulConfig>;
  /** Node config overrides. */
  node?: Partial<AgentNodeConfig>;
}

/** Nodes and a Consul double, cleaned up by close(). */
export class ConsulWorld {
  /** The Consul double. */
  readonly consul: ConsulDouble;
  /** Every log line of every node. */
  readonly logs: LogLine[] = [];
  private readonly nodes: AgentNode[] = [];

  /** A world whose double has `options` (not started yet). */
  constructor(options: ConsulDoubleOptions = {}) {
    this.consul = new ConsulDouble(options);
  }

  /** Consul options every node gets: the double's address, no environment, the fast preset. */
  consulOptions(overrides: Partial<ConsulConfig> = {}): Partial<ConsulConfig> & { env: Record<string, string> } {
    return { ...localConsulConfig, address: `http://127.0.0.1:${this.consul.port}`, ...overrides, env: {} };
  }

  /** Creates a node (not started). */
  create(spec: ConsulNodeSpec): AgentNode {
    const consul = this.consulOptions(spec.consul);
    const discovery = spec.mode === "hybrid" ? new HybridDiscovery({ consul, membership: localSwimConfig }) : new ConsulDiscovery(consul);
    const node = new AgentNode({
      id: spec.id,
      discovery,
      drainTimeoutMs: 5000,
      logger: recordingLogger(this.logs),
      // keepalivePingMs: no keepalive ping during a test. A survivor's ping timer firing after a peer crashed throws
      // ERR_HTTP2_INVALID_SESSION out of @connectrpc/connect-node (connect-es issue #1795, fix pending in #1797).
      transport: { reconnectInitialMs: 50, reconnectMaxMs: 500, closeGraceMs: 500, keepalivePingMs: 600_000 },
      ...spec.node,
    });
    for (const [capability, handler] of Object.entries(spec.handlers ?? {})) node.announceCapability(capability, handler);
    this.nodes.push(node);
    return node;
  }

  /** Creates and starts a node. */
  async start(spec: ConsulNodeSpec): Promise<AgentNode> {
    const node = this.create(spec);
    await node.start();
    return node;
  }

  /**
   * Crashes `node` as a killed process would look from outside: its discovery loops stop without deregistering or
   * announcing a leave, its gossip stops, its server and links close. (Its Consul registration stays, to fail its check.)
   */
  async crash(node: AgentNode): Promise<void> {
    // A killed process dials nobody: without this, a probe arriving while the links close would be answered over a
    // fresh link, and the "dead" node would keep refuting its death.
    node.transport.linkTo = () => {
      throw new MeshError(Code.Unavailable, `agent ${node.id} crashed`);
    };
    const d = node.discovery;
    if (d instanceof HybridDiscovery) {
      d.embedded.protocol?.stop();
      await haltConsul(d.consul);
    } else if (d instanceof ConsulDiscovery) {
      await haltConsul(d);
    }
    node.meshState.stop();
    await node.transport.stop();
  }

  /** Log lines of agent `id` whose message contains `text`. */
  logged(id: string, text: string, level?: LogLine["level"]): LogLine[] {
    return this.logs.filter((l) => l.fields.agent === id && l.msg.includes(text) && (level === undefined || l.level === level));
  }

  /** Stops every node and the double. */
  async close(): Promise<void> {
    await Promise.all(this.nodes.splice(0).map((n) => n.stop().catch(() => {})));
    await this.consul.stop();
  }
}

/** Stops a ConsulDiscovery's loops without deregistering (what a crash leaves behind). */
async function haltConsul(d: ConsulDiscovery): Promise<void> {
  (d.config as { deregisterOnStop: boolean }).deregisterOnStop = false;
  await d.stop();
}

/** A handler that reports which agent ran it, after `ms`. */
export function whoRan(ms = 0): TaskHandler {
  return async (input, ctx) => {
    if (ms > 0) await new Promise((r) => setTimeout(r, ms));
    return { input, ranOn: ctx.agentId };
  };
}

/** The ids of the agents in `node`'s registry, sorted. */
export function registryIds(node: AgentNode): string[] {
  return node.registry
    .all()
    .map((a) => a.id)
    .sort();
}
