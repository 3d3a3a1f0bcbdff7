/**
 * Keeps this agent registered with its Consul agent: registers once the node serves, again whenever its info
 * changes (capabilities, draining), when Consul comes back after an outage, and when its registration is found
 * missing (an agent restarted empty); passes the TTL check periodically in TTL mode (fails it while draining);
 * deregisters on stop. A failed registration is logged (the first failure of an outage as an error naming the
 * address) and retried with exponential backoff; the node keeps running meanwhile.
 *
 * Registrations are serialised: one request at a time, the latest info wins, and stop() waits for the one in
 * flight before deregistering (so a late registration cannot bring a stopped agent back).
 */
import type { AgentInfo } from "../../gen/agentmesh/v1/membership_pb.js";
import type { Clock, TimerHandle } from "../protocol/clock.js";
import { Code, MeshError } from "../protocol/errors.js";
import type { Logger } from "../protocol/logger.js";
import { backoffDelayMs } from "../transport/backoff.js";
import type { ResolvedConsulConfig } from "./consul-config.js";
import type { ConsulClient } from "./consul-client.js";
import { checkIdOf, consulMeta, serviceRegistration } from "./consul-service.js";

/** The lifecycle of the registration. */
export type ConsulRegistrationState =
  | { t: "idle" }
  | { t: "registering"; attempt: number }
  | { t: "registered"; sinceMs: number }
  | { t: "retrying"; attempt: number; retryInMs: number; error: MeshError }
  | { t: "stopped" };

/** Options of a ConsulRegistration. */
export interface ConsulRegistrationOptions {
  /** The API client. */
  client: ConsulClient;
  /** The effective configuration. */
  config: ResolvedConsulConfig;
  /** The local agent's current info. */
  localInfo(): AgentInfo;
  /** Time source. */
  clock: Clock;
  /** Where to log. */
  logger: Logger;
}

/** The registration of one agent. */
export class ConsulRegistration {
  private current: ConsulRegistrationState = { t: "idle" };
  private wanted = false;
  private reason = "start";
  private running: Promise<void> | undefined;
  private retryTimer: TimerHandle | undefined;
  private heartbeatTimer: TimerHandle | undefined;
  private attempt = 0;
  private everRegistered = false;
  private warnedDropped = false;
  /** Consul last reported this agent's checks all passing (re-registrations then keep it passing). */
  selfPassing = false;

  /** Creates the keeper; start() registers. */
  constructor(private readonly o: ConsulRegistrationOptions) {}

  /** The current state. */
  get state(): ConsulRegistrationState {
    return this.current;
  }

  /** True once stop() was called (a getter, so checks after an await see the change). */
  private get stopped(): boolean {
    return this.current.t === "stopped";
  }

  /** Registers on the next turn of the event loop (once the node reports SERVING), then keeps the registration. */
  start(): void {
    if (this.current.t !== "idle") return;
    this.wanted = true;
    this.retryTimer = this.o.clock.setTimeout(() => {
      this.retryTimer = undefined;
      this.kick();
    }, 0);
  }

  /**
   * Registers again (the info changed, Consul returned, the registration went missing). `now` skips a pending
   * backoff delay (Consul was just seen answering).
   */
  refresh(reason: string, now = false): void {
    if (this.current.t === "stopped" || this.current.t === "idle") return;
    this.wanted = true;
    this.reason = reason;
    if (now && this.retryTimer !== undefined) {
      this.retryTimer.cancel();
      this.retryTimer = undefined;
    }
    this.kick();
  }

  /** Stops the heartbeat and retries, waits for a registration in flight, then deregisters (when configured). */
  async stop(): Promise<void> {
    if (this.current.t === "stopped") return;
    this.current = { t: "stopped" };
    this.wanted = false;
    this.retryTimer?.cancel();
    this.heartbeatTimer?.cancel();
    await this.running;
    if (!this.o.config.deregisterOnStop || !this.everRegistered) return;
    const id = this.o.localInfo().id;
    try {
      await this.o.client.deregister(id);
      this.o.logger.info({ consul: this.o.client.url, service: this.o.config.serviceName }, "deregistered from Consul");
    } catch (err) {
      this.o.logger.warn({ consul: this.o.client.url, err: MeshError.from(err).message }, `could not deregister ${id} from Consul; it removes the instance after its check stays critical for DeregisterCriticalServiceAfter`);
    }
  }

  private kick(): void {
    if (this.running !== undefined || this.retryTimer !== undefined || !this.wanted || this.current.t === "stopped") return;
    this.running = this.register().finally(() => {
      this.running = undefined;
      this.kick();
    });
  }

  private async register(): Promise<void> {
    this.wanted = false;
    const info = this.o.localInfo();
    const { config, client, logger } = this.o;
    const status = info.draining ? "critical" : this.everRegistered && this.selfPassing ? "passing" : undefined;
    this.current = { t: "registering", attempt: this.attempt + 1 };
    try {
      const registration = serviceRegistration(info, config, { status });
      if (!this.warnedDropped) {
        const { dropped } = consulMeta(info);
        if (dropped.length > 0) {
          this.warnedDropped = true;
          logger.warn({ dropped }, "agent labels left out of Consul meta (keys of A-Z a-z 0-9 _ - up to 128, not am_ or consul-, values up to 512, 64 pairs)");
        }
      }
      await client.register(registration);
    } catch (err) {
      if (this.stopped) return;
      this.failed(MeshError.from(err), "register");
      return;
    }
    const first = !this.everRegistered;
    this.everRegistered = true; // even when stop() came meanwhile: it deregisters what just landed
    if (this.stopped) return;
    try {
      if (config.check === "ttl") await this.reportTtl(info);
    } catch (err) {
      if (this.stopped) return;
      this.failed(MeshError.from(err), "pass the TTL check");
      return;
    }
    if (this.stopped) return;
    if (this.attempt > 0 || first || this.reason !== "agent info changed") {
      logger.info(
        { consul: client.url, service: config.serviceName, check: config.check, reason: this.reason, capabilities: info.capabilities },
        `registered with Consul as ${config.serviceName}/${info.id}`,
      );
    }
    this.attempt = 0;
    this.current = { t: "registered", sinceMs: this.o.clock.now() };
    if (config.check === "ttl") this.scheduleHeartbeat();
  }

  /** Passes the TTL check, or fails it while draining (Consul then drops the agent at once). */
  private async reportTtl(info: AgentInfo): Promise<void> {
    const checkId = checkIdOf(info.id);
    if (info.draining) await this.o.client.failCheck(checkId, "draining");
    else await this.o.client.passCheck(checkId);
  }

  private scheduleHeartbeat(): void {
    this.heartbeatTimer?.cancel();
    this.heartbeatTimer = this.o.clock.setTimeout(async () => {
      this.heartbeatTimer = undefined;
      if (this.current.t !== "registered") return;
      try {
        await this.reportTtl(this.o.localInfo());
        if (this.current.t === "registered") this.scheduleHeartbeat();
      } catch (err) {
        if (this.current.t !== "registered") return;
        const error = MeshError.from(err);
        if (error.code === Code.Unavailable) this.failed(error, "pass the TTL check");
        else this.refresh(`TTL check unknown to Consul (${error.message})`);
      }
    }, this.o.config.ttlPassIntervalMs);
  }

  private failed(error: MeshError, what: string): void {
    const { config, client, logger } = this.o;
    this.attempt++;
    this.wanted = true;
    const retryInMs = backoffDelayMs(this.attempt, { initialMs: config.retryInitialMs, maxMs: config.retryMaxMs, multiplier: config.retryMultiplier, jitter: config.retryJitter });
    this.current = { t: "retrying", attempt: this.attempt, retryInMs, error };
    const fields = { consul: client.url, attempt: this.attempt, retryInMs, err: error.message };
    if (this.attempt === 1) {
      logger.error(fields, `cannot ${what} with Consul: ${error.message}; retrying with backoff, the node keeps running with the agents it knows`);
    } else {
      logger.debug(fields, `Consul ${what} failed again`);
    }
    this.retryTimer = this.o.clock.setTimeout(() => {
      this.retryTimer = undefined;
      this.kick();
    }, retryInMs);
  }
}
