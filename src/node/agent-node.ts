/**
 * AgentNode: the source document's agent, made real. One node is one agent: its own HTTP/2 server (gRPC,
 * gRPC-Web and Connect on one port), peer links, discovery, registry, bus, task router and local runner.
 *
 * Lifecycle: starting → ready → draining → stopped. stop() drains: health turns NOT_SERVING, peers hear
 * the node is draining (no new tasks are routed to it), running tasks finish (up to drainTimeoutMs), then
 * the node leaves the mesh and closes its links.
 *
 * Tracing: the node takes its tracer provider and span ring from `config.tracing` (default: what
 * startTracing installed for the process, else the API's no-ops) and hands tracers to the bus, router and
 * runner. Membership and gossip envelopes get spans only when `traceMembership` is on.
 */
import { AgentWatch } from "../patterns/agent-watch.js";
import { auctionTask, type AuctionResult } from "../patterns/auction.js";
import { collaborativeSolve, type Solution, type SolveTimeouts } from "../patterns/collaborate.js";
import { reachConsensus, type ConsensusOptions, type Decision } from "../patterns/consensus.js";
import { inviteTeam, queryCapability, type CapabilityQueryResult, type InviteOptions, type Team } from "../patterns/team.js";
import { Collaboration, type InviteHandler, type VoteHandler } from "./collaboration.js";
import { create } from "@bufbuild/protobuf";
import { context as otelContext, SpanKind, trace, type Context, type Tracer } from "@opentelemetry/api";
import { AgentInfoSchema, MemberStatus, type AgentInfo } from "../../gen/agentmesh/v1/membership_pb.js";
import { TaskRequestSchema, type TaskResult } from "../../gen/agentmesh/v1/task_pb.js";
import { AgentService, GetStatusResponseSchema, type GetStatusResponse } from "../../gen/agentmesh/v1/agent_service_pb.js";
import { Health } from "../../gen/grpc/health/v1/health_pb.js";
import type { MessageHandler, RequestOptions, Subscription } from "../bus/bus.js";
import { MeshMessageBus } from "../bus/mesh-bus.js";
import type { Discovery } from "../discovery/discovery.js";
import { EmbeddedDiscovery } from "../discovery/embedded.js";
import { AgentRegistry } from "../discovery/registry.js";
import { TaskRouter } from "../patterns/routing.js";
import { systemClock, type Clock, type TimerHandle } from "../protocol/clock.js";
import { newEnvelope } from "../protocol/envelope.js";
import { GossipState } from "../state/gossip-state.js";
import { Code, MeshError } from "../protocol/errors.js";
import { newId } from "../protocol/ids.js";
import { silentLogger, type Logger } from "../protocol/logger.js";
import type { Message, MessageInit } from "../protocol/message.js";
import { fromPayload, toPayload } from "../protocol/payload.js";
import {
  ATTR_CORRELATION_ID,
  extractTrace,
  failSpan,
  isMembershipTraffic,
  messageTypeOf,
  setEnvelopeAttributes,
  SPAN_OPTIONS,
  SpanNames,
  spanTrace,
  TRACER_NAME,
  withSpan,
} from "../protocol/trace-context.js";
import { requireAgentId, requireCapability, requireIntInRange } from "../protocol/validate.js";
import { withAsyncContext } from "../telemetry/context-manager.js";
import { defaultNodeTracing, type NodeTracing } from "../telemetry/node-tracing.js";
import type { SpanSource } from "../telemetry/span-ring.js";
import { GrpcTransport, serviceRegistration } from "../transport/grpc-transport.js";
import type { Transport } from "../transport/transport.js";
import type { Envelope } from "../../gen/agentmesh/v1/envelope_pb.js";
import type { Payload } from "../../gen/agentmesh/v1/payload_pb.js";
import { createAgentService } from "./agent-service.js";
import { activeWriteTrace, membershipSpanOptions } from "./gossip-links.js";
import { defaultNodeConfig, type AgentNodeConfig } from "./config.js";
import { HealthState, ServingStatus } from "./health.js";
import { TaskRunner, type TaskHandler } from "./task-runner.js";

/** Names of the spans of traced membership traffic: "receive TYPE", "send TYPE". */
const RECEIVE_NAMES = new SpanNames("receive ");
const SEND_NAMES = new SpanNames("send ");

/** State key prefix of each agent's load: agent/<id> → {load, capacity, queued, draining}. */
export const LOAD_KEY_PREFIX = "agent/";

/** The lifecycle of a node. */
export type NodeStatus = "starting" | "ready" | "draining" | "stopped";

/** An agent's state, as the source document names it. */
export interface AgentState {
  /** Tasks running now. */
  load: number;
  /** Tasks run at once at most. */
  capacity: number;
  /** Tasks waiting for a slot. */
  queued: number;
  /** Lifecycle. */
  status: NodeStatus;
}

/** A task: the capability it needs and its input. */
export interface Task {
  /** Task id; default: a new one. */
  id?: string;
  /** The capability needed. */
  capability: string;
  /** Input value (JSON-serialisable, or a Uint8Array). */
  input?: unknown;
}

/** A task's successful outcome. */
export interface TaskOutcome {
  /** The task's id. */
  taskId: string;
  /** The correlation id (find its logs and trace with it). */
  correlationId: string;
  /** The agent that ran it. */
  agentId: string;
  /** What the handler returned. */
  output: unknown;
  /** Hops from the node that accepted it to the agent that ran it. */
  hops: number;
  /** Time from acceptance to result, ms. */
  durationMs: number;
}

/** An auction's outcome with the winner's output decoded. */
export interface AuctionOutcome extends AuctionResult {
  /** The winner's output. */
  output: unknown;
}

/** A task's outcome with the output still encoded. */
export interface RawTaskOutcome extends Omit<TaskOutcome, "output"> {
  /** The encoded output. */
  output: Payload;
  /** The attempt that produced it. */
  attempt: number;
}

/** Options of one submitted task. */
export interface SubmitOptions {
  /** How long to wait for the result, ms; default: defaultTaskTimeoutMs. */
  timeoutMs?: number;
  /** Correlation id; default: a new one. */
  correlationId?: string;
}

/** One agent of the mesh. */
export class AgentNode {
  /** The agent id. */
  readonly id: string;
  /** Everyone this node knows, itself included. */
  readonly registry: AgentRegistry;
  /** Replicated key-value state, shared by gossip (every agent's load is in it, under agent/<id>). */
  readonly meshState: GossipState;
  /** The node's bus (Message API and envelope API). */
  readonly bus: MeshMessageBus;
  /** The node's peer links. */
  readonly transport: Transport;
  /** How the node finds peers. */
  readonly discovery: Discovery;
  /** gRPC health state. */
  readonly health = new HealthState(["agentmesh.v1.AgentService", "agentmesh.v1.MeshService"], ServingStatus.NOT_SERVING);
  private readonly config: AgentNodeConfig & typeof defaultNodeConfig;
  private readonly runner: TaskRunner;
  private readonly collaboration: Collaboration;
  private readonly watch: AgentWatch;
  private readonly router: TaskRouter;
  private readonly logger: Logger;
  private readonly clock: Clock;
  private readonly tracing: NodeTracing;
  private readonly tracer: Tracer;
  private readonly info: AgentInfo;
  private status: NodeStatus = "starting";
  private loadTimer: TimerHandle | undefined;
  private stopping: Promise<void> | undefined;

  /** Starts a node with `config` and resolves once it serves. */
  static async start(config: AgentNodeConfig): Promise<AgentNode> {
    const node = new AgentNode(config);
    await node.start();
    return node;
  }

  /** Creates a node; start() brings it up. Invalid config fails with INVALID_ARGUMENT naming the field. */
  constructor(config: AgentNodeConfig) {
    this.config = { ...defaultNodeConfig, ...Object.fromEntries(Object.entries(config).filter(([, v]) => v !== undefined)) } as AgentNodeConfig & typeof defaultNodeConfig;
    this.id = requireAgentId(config.id, "id");
    requireIntInRange(this.config.capacity, "capacity", 1, 100_000);
    requireIntInRange(this.config.port, "port", 0, 65_535);
    this.logger = (config.logger ?? silentLogger).child({ agent: this.id });
    this.clock = config.clock ?? systemClock;
    this.tracing = config.tracing ?? defaultNodeTracing();
    this.tracer = this.tracing.tracerProvider.getTracer(TRACER_NAME);
    this.registry = new AgentRegistry(() => this.clock.now());
    this.info = create(AgentInfoSchema, {
      id: this.id,
      capacity: this.config.capacity,
      status: MemberStatus.ALIVE,
      startedAtMs: BigInt(Date.now()),
      meta: { version: "0.1.0", ...(config.meta ?? {}) },
    });
    this.transport =
      config.transportImpl ??
      new GrpcTransport({
        host: this.config.host,
        port: this.config.port,
        advertiseAddress: config.advertiseAddress,
        config: config.transport,
        logger: this.logger,
        clock: this.clock,
        services: [
          serviceRegistration(AgentService, createAgentService(this, this.tracer)),
          serviceRegistration(Health, this.health.service()),
        ],
      });
    this.discovery = config.discovery ?? new EmbeddedDiscovery({ membership: config.membership, seeds: config.seeds ?? [] });
    this.bus = new MeshMessageBus({
      selfId: this.id,
      transport: this.transport,
      directory: {
        addressOf: (id) => (id === this.id ? this.transport.address : this.registry.get(id)?.address),
        peerIds: () => this.registry.all().map((a) => a.id).filter((id) => id !== this.id),
      },
      config: config.bus,
      clock: this.clock,
      logger: this.logger,
      tracer: this.tracer,
      traceMembership: this.tracing.traceMembership,
    });
    this.meshState = new GossipState({
      selfId: this.id,
      clock: this.clock,
      logger: this.logger,
      config: config.state,
      // Seeded with the wall clock so a restarted agent's writes win over its previous life's.
      initialLamport: BigInt(Date.now()),
      // Each write keeps the context of the span it is made in, so gossip spans can link to it (gossip-links.ts).
      traceOf: activeWriteTrace,
      peers: () => this.discovery.members().map((m) => m.id),
      send: (peerId, body) => {
        const address = this.registry.get(peerId)?.address;
        const link = address !== undefined ? this.transport.linkTo(peerId, address) : this.transport.peerLink(peerId);
        const env = newEnvelope({ from: this.id, body });
        if (this.tracing.traceMembership) this.traceMembershipSend(env);
        link?.send(env);
      },
    });
    this.meshState.onChange((change) => {
      if (change.local || !change.key.startsWith(LOAD_KEY_PREFIX)) return;
      const load = change.value as { load?: unknown; capacity?: unknown } | undefined;
      if (typeof load?.load === "number" && typeof load.capacity === "number") {
        this.registry.observeLoad(change.key.slice(LOAD_KEY_PREFIX.length), load.load, load.capacity);
      }
    });
    this.runner = new TaskRunner({
      agentId: this.id,
      capacity: this.config.capacity,
      maxQueued: this.config.maxQueuedTasks,
      clock: this.clock,
      logger: this.logger,
      tracer: this.tracer,
      // The mesh sees running + waiting tasks as the load, so routing avoids agents with a queue.
      onLoadChange: () => {
        this.info.load = this.runner.load + this.runner.queued;
        this.scheduleLoadPublish();
      },
      onRunFinished: (capability, ok, durationMs) => this.collaboration.recordRun(capability, ok, durationMs),
      delegate: (capability, input, parent) => this.delegateTask(capability, input, parent),
    });
    this.collaboration = new Collaboration({
      bus: this.bus,
      state: this.meshState,
      clock: this.clock,
      host: {
        info: () => this.info,
        canRun: (capability) => this.status === "ready" && this.runner.has(capability),
        load: () => this.runner.load,
        run: (task, ctx) => this.runner.run(task, ctx),
      },
    });
    this.watch = new AgentWatch(this.registry);
    this.router = new TaskRouter({
      selfId: this.id,
      registry: this.registry,
      bus: this.bus,
      clock: this.clock,
      logger: this.logger,
      select: config.select,
      tracer: this.tracer,
      local: {
        canRun: (capability) => this.status === "ready" && this.runner.has(capability),
        hasSpareCapacity: () => this.runner.load + this.runner.queued < this.config.capacity,
        run: (task, ctx) => this.runner.run(task, ctx),
      },
    });
  }

  /** host:port where peers and clients reach this node (after start). */
  get address(): string {
    return this.transport.address;
  }

  /** Capabilities this agent handles. */
  get capabilities(): string[] {
    return [...this.info.capabilities];
  }

  /** Load, capacity, queue and lifecycle. */
  get state(): AgentState {
    return { load: this.runner.load, capacity: this.config.capacity, queued: this.runner.queued, status: this.status };
  }

  /** This agent's info as the mesh sees it. */
  localInfo(): AgentInfo {
    return this.info;
  }

  /** The node's recent spans (AgentService.GetSpans answers from them); undefined when it keeps none. */
  get spans(): SpanSource | undefined {
    return this.tracing.spans;
  }

  /**
   * Handles a membership or gossip envelope inside a CONSUMER span, a child of the sender's, linked to the spans
   * of the state writes it carries (traceMembership only).
   */
  private traceMembershipReceive(env: Envelope, dispatch: () => void): void {
    const parent = extractTrace(env.trace);
    const span = this.tracer.startSpan(RECEIVE_NAMES.of(messageTypeOf(env.body.case)), membershipSpanOptions(SpanKind.CONSUMER, env), parent);
    if (span.isRecording()) setEnvelopeAttributes(span, env, SpanKind.CONSUMER, this.id);
    try {
      otelContext.with(trace.setSpan(parent, span), dispatch);
    } finally {
      span.end();
    }
  }

  /**
   * Gives a gossip envelope a PRODUCER span of its own, linked to the spans of the state writes it carries, and
   * carries its context (traceMembership only).
   */
  private traceMembershipSend(env: Envelope): void {
    const parent = otelContext.active();
    const span = this.tracer.startSpan(SEND_NAMES.of(messageTypeOf(env.body.case)), membershipSpanOptions(SpanKind.PRODUCER, env), parent);
    if (span.isRecording()) setEnvelopeAttributes(span, env, SpanKind.PRODUCER, this.id);
    env.trace = spanTrace(parent, span); // while the span records (its ids need no checking then)
    span.end();
  }

  /** Brings the node up: server, discovery, routing. */
  async start(): Promise<void> {
    if (this.status !== "starting") throw new MeshError(Code.FailedPrecondition, `agent ${this.id} is ${this.status}`);
    await this.transport.start({
      localInfo: () => this.info,
      onEnvelope: (env, link) => {
        const dispatch = () => {
          if (this.discovery.receive(env, link)) return;
          if (env.body.case !== undefined && this.meshState.receive(env.from, env.body)) return;
          this.bus.receive(env, link);
        };
        if (this.tracing.traceMembership && isMembershipTraffic(env.body.case)) this.traceMembershipReceive(env, dispatch);
        else dispatch();
      },
      onPeerHello: (peer, link) => this.discovery.peerHello(peer, link),
    });
    this.info.address = this.transport.address;
    this.registry.put(this.info);
    this.router.install();
    this.collaboration.install();
    await this.discovery.start({ transport: this.transport, localInfo: () => this.info, logger: this.logger, clock: this.clock });
    this.registry.follow(this.discovery);
    this.publishLoad();
    this.meshState.start();
    this.status = "ready";
    this.health.setAll(ServingStatus.SERVING);
    this.logger.info({ address: this.address, capabilities: this.capabilities, capacity: this.config.capacity }, "agent started");
  }

  /** Drains and stops: no new tasks, running ones finish (up to drainTimeoutMs), then leaves the mesh. */
  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    if (this.status === "starting") {
      this.status = "stopped";
      await this.transport.stop().catch(() => {});
      return;
    }
    this.status = "draining";
    this.info.draining = true;
    this.info.version++;
    this.registry.put(this.info);
    this.health.setAll(ServingStatus.NOT_SERVING);
    this.discovery.announce();
    await this.runner.drain(this.config.drainTimeoutMs);
    this.loadTimer?.cancel();
    this.meshState.delete(LOAD_KEY_PREFIX + this.id);
    this.meshState.stop();
    await this.discovery.stop();
    this.collaboration.close();
    this.watch.close();
    this.bus.close();
    this.health.close();
    await this.transport.stop();
    this.status = "stopped";
    this.logger.info({}, "agent stopped");
  }

  // ---- the source document's AgentNode ----------------------------------------------------------

  /** Sends `message` to every agent's message handlers (this one's included). */
  broadcast(message: MessageInit): Promise<void> {
    return this.bus.broadcast(message);
  }

  /** Sends `message` one-way to agent `agentId`. */
  sendTo(agentId: string, message: MessageInit): Promise<void> {
    return this.bus.send(agentId, message);
  }

  /** Sends a request to agent `agentId` and resolves with its reply. */
  request(agentId: string, message: MessageInit, options?: RequestOptions): Promise<Message> {
    return this.bus.request(agentId, message, options);
  }

  /**
   * Receives direct messages, broadcasts and requests addressed to this agent (a request's reply is the
   * return value). A task_request for a capability this agent has runs its capability handler instead; one
   * for a capability it lacks comes here, and is forwarded to a capable agent when no handler answers it.
   */
  onMessage(handler: MessageHandler): Subscription {
    return this.bus.attach(this.id, handler);
  }

  /** The other agents known now. */
  async discoverPeers(): Promise<AgentInfo[]> {
    return this.registry.all().filter((a) => a.id !== this.id);
  }

  /**
   * Adds a capability served by `handler` (or re-announces one already registered) and tells the mesh.
   * Fails with INVALID_ARGUMENT for a bad name and FAILED_PRECONDITION when no handler exists for it.
   */
  announceCapability(capability: string, handler?: TaskHandler): void {
    requireCapability(capability);
    if (handler !== undefined) this.runner.register(capability, handler);
    if (!this.runner.has(capability)) {
      throw new MeshError(Code.FailedPrecondition, `capability "${capability}" has no handler: pass one to announceCapability`);
    }
    if (!this.info.capabilities.includes(capability)) {
      this.info.capabilities.push(capability);
      this.info.version++;
      this.registry.put(this.info);
      if (this.status === "ready") this.discovery.announce();
    }
  }

  /** Stops offering `capability`. */
  withdrawCapability(capability: string): void {
    this.runner.unregister(capability);
    const i = this.info.capabilities.indexOf(capability);
    if (i < 0) return;
    this.info.capabilities.splice(i, 1);
    this.info.version++;
    this.registry.put(this.info);
    if (this.status === "ready") this.discovery.announce();
  }

  /** True when this agent can run `task` now (has the capability and is not draining). */
  canHandle(task: Task): boolean {
    return this.status === "ready" && this.runner.has(task.capability);
  }

  /** Runs `task` on this agent (waiting for a slot when at capacity); fails with the handler's error. */
  async handle(task: Task, options: SubmitOptions = {}): Promise<TaskOutcome> {
    const request = this.taskRequest(task);
    const correlationId = options.correlationId ?? newId();
    const started = this.clock.now();
    if (!this.runner.has(task.capability)) throw new MeshError(Code.NotFound, `agent ${this.id} cannot handle capability "${task.capability}"`);
    const result = await this.runner.run(request, { correlationId, deadlineMs: started + this.timeout(options.timeoutMs) });
    return this.outcome(result, correlationId, 0, started);
  }

  // ---- routing -----------------------------------------------------------------------------------

  /** Routes a task to the best capable agent in the mesh (this one included) and resolves with its output. */
  async submit(capability: string, input: unknown, options: SubmitOptions = {}): Promise<TaskOutcome> {
    const raw = await this.submitPayload(capability, toPayload(input), options);
    return { ...raw, output: fromPayload(raw.output, "output") };
  }

  /** submit() for an already encoded payload (the AgentService path); the output stays encoded. */
  async submitPayload(capability: string, input: Payload, options: SubmitOptions & { parent?: Context } = {}): Promise<RawTaskOutcome> {
    requireCapability(capability);
    if (this.status !== "ready") throw new MeshError(Code.Unavailable, `agent ${this.id} is ${this.status} and accepts no tasks`);
    const correlationId = options.correlationId ?? newId();
    const started = this.clock.now();
    const task = create(TaskRequestSchema, { taskId: newId(), capability, input, origin: this.id, attempt: 1 });
    this.logger.debug({ correlation_id: correlationId, taskId: task.taskId, capability }, "task accepted");
    const { result, hops } = await this.router.route(task, {
      correlationId,
      deadlineMs: started + this.timeout(options.timeoutMs),
      hops: 0,
      parent: options.parent,
    });
    if (result.outcome.case === "failure") throw MeshError.fromFailure(result.outcome.value);
    return { taskId: result.taskId, correlationId, agentId: result.agentId, output: result.outcome.value ?? toPayload(null), hops, durationMs: Math.round(this.clock.now() - started), attempt: result.attempt };
  }

  /** A sub-task of a running task: routed like any task, one hop further, within the parent's deadline. */
  private async delegateTask(capability: string, input: unknown, parent: { correlationId: string; hops: number; deadlineMs: number; context: Context }): Promise<unknown> {
    requireCapability(capability);
    const hops = parent.hops + 1;
    const limit = this.bus.config.hopLimit;
    if (hops > limit) {
      throw new MeshError(Code.FailedPrecondition, `hop limit ${limit} exceeded delegating "${capability}" (correlation id ${parent.correlationId}, ${hops} hops deep; a delegation counts one hop and each link it crosses one more): delegation chain stopped`);
    }
    const task = create(TaskRequestSchema, { taskId: newId(), capability, input: toPayload(input), origin: this.id, attempt: 1 });
    const { result } = await this.router.route(task, { correlationId: parent.correlationId, deadlineMs: parent.deadlineMs, hops, parent: parent.context });
    if (result.outcome.case === "failure") throw MeshError.fromFailure(result.outcome.value);
    return fromPayload(result.outcome.value, "output");
  }

  private timeout(requested: number | undefined): number {
    if (requested === undefined || requested === 0) return this.config.defaultTaskTimeoutMs;
    return requireIntInRange(requested, "timeout_ms", 1, this.config.maxTaskTimeoutMs);
  }

  private taskRequest(task: Task) {
    requireCapability(task.capability);
    return create(TaskRequestSchema, { taskId: task.id ?? newId(), capability: task.capability, input: toPayload(task.input), origin: this.id, attempt: 1 });
  }

  private outcome(result: TaskResult, correlationId: string, hops: number, started: number): TaskOutcome {
    if (result.outcome.case === "failure") throw MeshError.fromFailure(result.outcome.value);
    return {
      taskId: result.taskId,
      correlationId,
      agentId: result.agentId,
      output: fromPayload(result.outcome.value, "output"),
      hops,
      durationMs: Math.round(this.clock.now() - started),
    };
  }

  /** Publishes this agent's load in the replicated state at most every loadPublishIntervalMs. */
  private scheduleLoadPublish(): void {
    if (this.loadTimer !== undefined || this.status !== "ready") return;
    this.loadTimer = this.clock.setTimeout(() => {
      this.loadTimer = undefined;
      this.publishLoad();
    }, this.config.loadPublishIntervalMs);
  }

  private publishLoad(): void {
    this.meshState.set(LOAD_KEY_PREFIX + this.id, { load: this.runner.load + this.runner.queued, capacity: this.config.capacity, queued: this.runner.queued, draining: this.info.draining });
  }

  /** The node's view of itself and the mesh (AgentService.GetStatus). */
  report(): GetStatusResponse {
    const members = this.discovery.allMembers?.() ?? this.discovery.members();
    const count = (s: MemberStatus) => members.filter((m) => m.status === s).length;
    const stats = this.meshState.stats();
    return create(GetStatusResponseSchema, {
      selfId: this.id,
      address: this.address,
      lifecycle: this.status,
      load: this.runner.load,
      capacity: this.config.capacity,
      queued: this.runner.queued,
      stateHash: this.meshState.digestHash(),
      stateEntries: this.meshState.keys().length,
      stateClock: this.meshState.lamportClock,
      gossipRounds: BigInt(stats.rounds),
      membersAlive: count(MemberStatus.ALIVE) + 1,
      membersSuspect: count(MemberStatus.SUSPECT),
      membersDead: count(MemberStatus.DEAD),
      membersLeft: count(MemberStatus.LEFT),
      incarnation: this.info.incarnation,
      health: this.discovery.health?.() ?? 0,
      waitingTasks: this.router.waiting,
    });
  }

  /**
   * Every agent known: the registry's (alive, suspect) and, from the discovery, the dead and left ones; by id, in
   * code-unit order — the same on every node whatever its locale, and without the ICU collator that
   * `localeCompare` loads (~3 MB of a process's RSS, paid by the first ListAgents otherwise).
   */
  allAgents(): AgentInfo[] {
    const byId = new Map(this.registry.all().map((a) => [a.id, a]));
    for (const m of this.discovery.allMembers?.() ?? []) if (!byId.has(m.id)) byId.set(m.id, m);
    return [...byId.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  // ---- collaboration patterns ------------------------------------------------------------------

  /** Sets how this agent votes in consensus rounds (without a handler it abstains). */
  onVote(handler: VoteHandler | undefined): void {
    this.collaboration.onVote(handler);
  }

  /** Sets how this agent answers team invitations (default: accept when it can run every capability asked for). */
  onInvite(handler: InviteHandler | undefined): void {
    this.collaboration.onInvite(handler);
  }

  /**
   * Asks voters a question and tallies their votes (see patterns/consensus.ts for the rules). Voters: the
   * given agent ids, else every alive agent with `capability`, else every alive agent (this one included).
   */
  reachConsensus(options: Omit<ConsensusOptions, "voters"> & { voters?: string[]; capability?: string }): Promise<Decision> {
    const voters = options.voters ?? this.liveAgents(options.capability);
    const correlationId = options.correlationId ?? newId();
    return this.inSpan("consensus", correlationId, () => reachConsensus(this.bus, this.clock, { ...options, voters, correlationId }));
  }

  /** Auctions a task among the alive agents with its capability; the winner runs it (see patterns/auction.ts). */
  async auctionTask(capability: string, input: unknown, options: { biddingDeadlineMs?: number; timeoutMs?: number; correlationId?: string } = {}): Promise<AuctionOutcome> {
    requireCapability(capability);
    const task = create(TaskRequestSchema, { taskId: newId(), capability, input: toPayload(input), origin: this.id, attempt: 1 });
    const bidders = this.liveAgents(capability);
    const correlationId = options.correlationId ?? newId();
    const outcome = await this.inSpan(`auction ${capability}`, correlationId, () =>
      auctionTask(this.bus, this.clock, {
        task,
        bidders,
        biddingDeadlineMs: options.biddingDeadlineMs,
        taskTimeoutMs: this.timeout(options.timeoutMs),
        correlationId,
        watch: this.watch,
      }),
    );
    const out = outcome.result.outcome;
    return { ...outcome, output: out.case === "output" ? fromPayload(out.value, "output") : null };
  }

  /** Runs a collaborative solve among `agents` (default: every alive agent, this one included). */
  collaborativeSolve(problem: string, options: { agents?: string[]; timeouts?: Partial<SolveTimeouts>; correlationId?: string } = {}): Promise<Solution> {
    const correlationId = options.correlationId ?? newId();
    return this.inSpan("solve", correlationId, () => collaborativeSolve(this.bus, this.clock, { problem, agents: options.agents ?? this.liveAgents(), timeouts: options.timeouts, correlationId }));
  }

  /** Invites agents (default: every alive peer) to a team; returns who accepted. */
  inviteTeam(options: Omit<InviteOptions, "agents"> & { agents?: string[] }): Promise<Team> {
    const correlationId = options.correlationId ?? newId();
    return this.inSpan("invite team", correlationId, () => inviteTeam(this.bus, { ...options, correlationId, agents: options.agents ?? this.liveAgents().filter((id) => id !== this.id) }));
  }

  /** Asks every alive agent (this one included) whether it can handle `capability` now. */
  queryCapability(capability: string, options: { timeoutMs?: number; correlationId?: string } = {}): Promise<CapabilityQueryResult> {
    requireCapability(capability);
    const correlationId = options.correlationId ?? newId();
    return this.inSpan(`query ${capability}`, correlationId, () => queryCapability(this.bus, capability, this.liveAgents(), { ...options, correlationId }));
  }

  /** Runs a collaboration pattern inside a span of its own, the parent of each request it makes: one round, one trace. */
  private inSpan<T>(name: string, correlationId: string, fn: () => Promise<T>): Promise<T> {
    const parent = otelContext.active();
    const span = this.tracer.startSpan(name, SPAN_OPTIONS[SpanKind.INTERNAL], parent);
    if (span.isRecording()) span.setAttribute(ATTR_CORRELATION_ID, correlationId);
    return withAsyncContext(withSpan(parent, span), fn).then(
      (value) => {
        span.end();
        return value;
      },
      (err: unknown) => {
        failSpan(span, err);
        span.end();
        throw err;
      },
    );
  }

  /** Ids of the alive agents (this one included when ready), optionally only those with `capability`. */
  private liveAgents(capability?: string): string[] {
    const agents = capability === undefined ? this.registry.all() : this.registry.withCapability(capability);
    return agents.filter((a) => a.status === MemberStatus.ALIVE && !a.draining && (a.id !== this.id || this.status === "ready")).map((a) => a.id).sort();
  }

  /** Limits for client-facing streams. */
  get limits(): { maxSubscriberBacklog: number } {
    return { maxSubscriberBacklog: this.config.maxSubscriberBacklog };
  }
}
