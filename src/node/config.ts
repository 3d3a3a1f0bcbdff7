/** AgentNode configuration: every timer and limit with its documented default, in one place. */
import type { BusConfig } from "../bus/bus.js";
import type { Discovery } from "../discovery/discovery.js";
import type { SwimConfig } from "../membership/config.js";
import type { StateConfig } from "../state/config.js";
import type { Clock } from "../protocol/clock.js";
import type { Logger } from "../protocol/logger.js";
import type { TransportConfig } from "../transport/config.js";
import type { Transport } from "../transport/transport.js";
import type { SelectStrategy } from "../patterns/select.js";
import type { NodeTracing } from "../telemetry/node-tracing.js";

/** Options of an AgentNode. Only `id` is required. */
export interface AgentNodeConfig {
  /** Unique agent id (1-128 of A-Z a-z 0-9 . _ : -). */
  id: string;
  /** Interface the server listens on. Default "127.0.0.1". */
  host?: string;
  /** Port; 0 picks a free one. Default 0. */
  port?: number;
  /** host:port peers should dial, when it differs from host:port (NAT, containers). */
  advertiseAddress?: string;
  /** Tasks run at once at most; more wait in the queue. Default 4. */
  capacity?: number;
  /** Tasks waiting for a free slot at most; one more fails with RESOURCE_EXHAUSTED. Default 1000. */
  maxQueuedTasks?: number;
  /** Time a task may take when the client sets none, ms. Default 30000. */
  defaultTaskTimeoutMs?: number;
  /** Longest task timeout a client may ask for, ms. Default 3600000 (1 h). */
  maxTaskTimeoutMs?: number;
  /** On stop, how long running tasks may take to finish, ms. Default 10000. */
  drainTimeoutMs?: number;
  /** Messages a Subscribe stream may fall behind by before it is ended with RESOURCE_EXHAUSTED. Default 1000. */
  maxSubscriberBacklog?: number;
  /** Agents to join through (host:port). Default none. Used by the embedded discovery. */
  seeds?: string[];
  /** Free-form labels advertised to the mesh. */
  meta?: Record<string, string>;
  /** How often, at most, this agent publishes its load in the replicated state, ms. Default 100. */
  loadPublishIntervalMs?: number;
  /** Replicated state timers and limits (see src/state/config.ts). */
  state?: Partial<StateConfig>;
  /** Peer link limits and timers. */
  transport?: Partial<TransportConfig>;
  /** Bus limits and timers. */
  bus?: Partial<BusConfig>;
  /** SWIM membership timers of the embedded discovery (ignored when `discovery` is given). */
  membership?: Partial<SwimConfig>;
  /** Another Discovery (e.g. Consul); default: the embedded discovery with `seeds`. */
  discovery?: Discovery;
  /** Another Transport (e.g. an in-memory one for tests); default: gRPC on host:port. */
  transportImpl?: Transport;
  /** Candidate choice for routing; default least loaded. */
  select?: SelectStrategy;
  /** Where to log; default: silent. */
  logger?: Logger;
  /** Time source; default: the system clock. */
  clock?: Clock;
  /**
   * Tracer provider, span ring (for GetSpans) and whether membership and gossip traffic is traced. Default:
   * what startTracing installed for the process (src/telemetry/tracing.ts), else no-op spans and no ring.
   */
  tracing?: NodeTracing;
}

/** The node defaults. */
export const defaultNodeConfig = Object.freeze({
  host: "127.0.0.1",
  port: 0,
  capacity: 4,
  maxQueuedTasks: 1000,
  defaultTaskTimeoutMs: 30_000,
  maxTaskTimeoutMs: 3_600_000,
  drainTimeoutMs: 10_000,
  maxSubscriberBacklog: 1000,
  loadPublishIntervalMs: 100,
});
