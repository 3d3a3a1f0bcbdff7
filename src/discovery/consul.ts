/**
 * Consul discovery: the mesh's members are the instances of one Consul service. Each agent registers itself
 * (ID = agent id, tags = capabilities, meta = version, capacity, draining; a gRPC health check against its
 * grpc.health.v1.Health service, or a TTL check it passes itself) and watches the service with blocking queries;
 * healthy instances join the view, instances whose check fails or that deregister leave it, and the registry follows
 * these events as it follows the embedded discovery's.
 *
 * Consul's failure detection is as fast as its check interval (5 s by default) plus a watch round; for seconds-bound
 * failure detection with Consul as the source of peers, see HybridDiscovery (consul-hybrid.ts).
 *
 * Consul down at start: start() returns at once, the error is logged and registration retried with backoff; the node
 * runs with an empty view and registers when Consul appears. Consul lost later: the last view is kept, and the agent
 * registers again when Consul answers (an agent restarted empty has forgotten it).
 */
import type { Envelope } from "../../gen/agentmesh/v1/envelope_pb.js";
import type { AgentInfo } from "../../gen/agentmesh/v1/membership_pb.js";
import { Code, MeshError } from "../protocol/errors.js";
import type { Logger } from "../protocol/logger.js";
import type { Link } from "../transport/transport.js";
import { resolveConsulConfig, type ConsulConfig, type ConsulEnv, type ResolvedConsulConfig } from "./consul-config.js";
import { ConsulClient, type HealthEntry } from "./consul-client.js";
import { ConsulRegistration, type ConsulRegistrationState } from "./consul-registration.js";
import { ConsulView } from "./consul-view.js";
import { ConsulWatch, type ConsulWatchState } from "./consul-watch.js";
import type { Discovery, DiscoveryContext, DiscoveryEvent } from "./discovery.js";

/** Options of a ConsulDiscovery: any ConsulConfig field (see consul-config.ts for each default), and the environment. */
export interface ConsulDiscoveryOptions extends Partial<ConsulConfig> {
  /** Where CONSUL_HTTP_ADDR, CONSUL_HTTP_TOKEN and CONSUL_HTTP_SSL are read; default process.env. */
  env?: ConsulEnv;
  /** Close the peer links of agents that leave the view. Default true (the hybrid discovery leaves that to SWIM). */
  forgetLinksOnLeave?: boolean;
}

/** Discovery through a Consul agent's HTTP API. */
export class ConsulDiscovery implements Discovery {
  /** The effective configuration. */
  readonly config: ResolvedConsulConfig;
  private readonly listeners = new Set<(event: DiscoveryEvent) => void>();
  private readonly forgetLinks: boolean;
  private ctx: DiscoveryContext | undefined;
  private client: ConsulClient | undefined;
  private view: ConsulView | undefined;
  private registration: ConsulRegistration | undefined;
  private watch: ConsulWatch | undefined;
  private logger: Logger | undefined;
  private checkingSelf = false;
  private everWatched = false;
  private stopped = false;

  /** Creates the discovery; invalid options fail here with INVALID_ARGUMENT naming the option. */
  constructor(options: ConsulDiscoveryOptions = {}) {
    const { env, forgetLinksOnLeave, ...config } = options;
    this.config = resolveConsulConfig(config, env ?? process.env);
    this.forgetLinks = forgetLinksOnLeave ?? true;
  }

  /** The registration's state (diagnostics, tests). */
  get registrationState(): ConsulRegistrationState {
    return this.registration?.state ?? { t: "idle" };
  }

  /** The watch's state (diagnostics, tests). */
  get watchState(): ConsulWatchState {
    return this.watch?.state ?? { t: "idle" };
  }

  /** Starts registering and watching in the background; returns at once (Consul may be down). */
  async start(context: DiscoveryContext): Promise<void> {
    if (this.client !== undefined) throw new MeshError(Code.FailedPrecondition, "Consul discovery already started");
    this.ctx = context;
    const self = context.localInfo();
    const logger = (this.logger = context.logger.child({ discovery: "consul" }));
    const config = this.config;
    const client = (this.client = new ConsulClient({ endpoint: config.endpoint, token: config.token, requestTimeoutMs: config.requestTimeoutMs }));
    this.view = new ConsulView(self.id, config.drainingGraceMs, () => context.clock.now());
    this.registration = new ConsulRegistration({ client, config, localInfo: context.localInfo, clock: context.clock, logger });
    this.watch = new ConsulWatch({
      client,
      serviceName: config.serviceName,
      waitMs: config.watchWaitMs,
      burst: config.watchBurst,
      minIntervalMs: config.watchMinIntervalMs,
      retry: { initialMs: config.retryInitialMs, maxMs: config.retryMaxMs, multiplier: config.retryMultiplier, jitter: config.retryJitter },
      clock: context.clock,
      logger,
      onRound: (entries) => this.onRound(entries),
      onFailure: (error, attempt, retryInMs) => {
        const fields = { consul: client.url, err: error.message, attempt, retryInMs };
        const members = this.view?.members().length ?? 0;
        // Before Consul ever answered, the registration's error says it; after, losing it is news.
        if (attempt === 1 && this.everWatched) logger.warn(fields, `lost Consul at ${client.url}; keeping the last known view (${members} agents) and retrying`);
        else logger.debug(fields, "Consul unreachable: watch retrying");
      },
      onRecovered: () => {
        if (this.everWatched) logger.info({ consul: client.url }, "Consul answers again");
        this.registration?.refresh("Consul answers again", true);
      },
    });
    this.registration.start();
    this.watch.start();
    logger.info({ consul: client.url, service: config.serviceName, check: config.check }, "discovering agents through Consul");
  }

  receive(_envelope: Envelope, _link: Link): boolean {
    return false;
  }

  peerHello(_peer: AgentInfo, _link: Link): void {
    // Peers are known from Consul only.
  }

  /** Registers again with the new capabilities or draining flag. */
  announce(): void {
    this.registration?.refresh("agent info changed");
  }

  members(): AgentInfo[] {
    return this.view?.members() ?? [];
  }

  onEvent(listener: (event: DiscoveryEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Stops watching and deregisters (unless deregisterOnStop is false). */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.watch?.stop();
    await this.registration?.stop();
    this.client?.close();
  }

  private async onRound(entries: HealthEntry[]): Promise<void> {
    const view = this.view;
    const registration = this.registration;
    if (view === undefined || registration === undefined || this.stopped) return;
    this.everWatched = true;
    const change = view.apply(entries);
    registration.selfPassing = change.self.passing;
    for (const event of change.events) this.emit(event);
    if (!change.self.present && registration.state.t === "registered") await this.confirmRegistered();
  }

  /** Our instance is missing from the catalog: ask the local agent (the source of truth) and register again if it forgot us. */
  private async confirmRegistered(): Promise<void> {
    const client = this.client;
    if (client === undefined || this.checkingSelf) return;
    this.checkingSelf = true;
    try {
      const ids = await client.agentServiceIds();
      if (!ids.has(this.ctx!.localInfo().id) && !this.stopped) {
        this.logger?.warn({ consul: client.url }, "this agent's registration is gone from Consul (restarted empty?); registering again");
        this.registration?.refresh("registration missing from Consul", true);
      }
    } catch {
      // Consul went away again: the watch notices and retries.
    } finally {
      this.checkingSelf = false;
    }
  }

  private emit(event: DiscoveryEvent): void {
    if (event.t === "leave" && this.forgetLinks) this.ctx?.transport.forget(event.agent.id);
    this.logger?.info({ peer: event.agent.id, address: event.agent.address, ...(event.t === "leave" ? { reason: event.reason } : {}) }, `agent ${event.t === "join" ? "joined" : event.t === "update" ? "updated" : "left"} (Consul)`);
    for (const l of [...this.listeners]) {
      try {
        l(event);
      } catch {
        // a listener's failure must not stop the others
      }
    }
  }
}
