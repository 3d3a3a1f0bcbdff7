/**
 * The source document's ServiceRegistry: who is in the mesh and what each can do, indexed by capability.
 * A node's registry holds its own agent and is fed by its Discovery; register/deregister also work by hand.
 */
import { clone } from "@bufbuild/protobuf";
import { AgentInfoSchema, MemberStatus, type AgentInfo } from "../../gen/agentmesh/v1/membership_pb.js";
import type { Discovery } from "./discovery.js";

/** Hears every registry change. */
export type RegistryListener = (kind: "join" | "update" | "leave", agent: AgentInfo) => void;

/** The registry interface of the source document. */
export interface ServiceRegistry {
  /** Adds or replaces an agent. */
  register(agent: AgentInfo): Promise<void>;
  /** Removes an agent. */
  deregister(agentId: string): Promise<void>;
  /** Agents that have `capability`. */
  findByCapability(capability: string): Promise<AgentInfo[]>;
  /** Every agent. */
  getAll(): Promise<AgentInfo[]>;
  /** Calls `handler` when an agent joins. */
  onAgentJoin(handler: (agent: AgentInfo) => void): void;
  /** Calls `handler` with the id of an agent that left or died. */
  onAgentLeave(handler: (agentId: string) => void): void;
}

/** The in-memory registry every node keeps. */
export class AgentRegistry implements ServiceRegistry {
  private readonly agents = new Map<string, AgentInfo>();
  private readonly capabilities = new Map<string, Set<string>>();
  /** The capabilities each agent is indexed under (a copy: callers may change an AgentInfo and put it again). */
  private readonly indexed = new Map<string, string[]>();
  private readonly listeners = new Set<RegistryListener>();
  /** Capability → when its last holder left or died (ms), while no agent has it. */
  private readonly lost = new Map<string, number>();

  /**
   * Creates an empty registry. `now` dates lost capabilities; a capability whose last holder left is
   * remembered as lost for `lostCapabilityRetentionMs` (default 60000), so tasks for it wait for a new holder
   * instead of failing NOT_FOUND at once.
   */
  constructor(
    private readonly now: () => number = Date.now,
    private readonly lostCapabilityRetentionMs = 60_000,
  ) {}

  /** How long ago the last agent with `capability` left or died, while none has it; undefined when not (recently) lost. */
  lostCapabilityAgeMs(capability: string): number | undefined {
    const at = this.lost.get(capability);
    if (at === undefined) return undefined;
    const age = this.now() - at;
    if (age > this.lostCapabilityRetentionMs) {
      this.lost.delete(capability);
      return undefined;
    }
    return age;
  }

  async register(agent: AgentInfo): Promise<void> {
    this.put(agent);
  }

  async deregister(agentId: string): Promise<void> {
    this.remove(agentId);
  }

  async findByCapability(capability: string): Promise<AgentInfo[]> {
    return this.withCapability(capability);
  }

  async getAll(): Promise<AgentInfo[]> {
    return this.all();
  }

  onAgentJoin(handler: (agent: AgentInfo) => void): void {
    this.watch((kind, agent) => kind === "join" && handler(agent));
  }

  onAgentLeave(handler: (agentId: string) => void): void {
    this.watch((kind, agent) => kind === "leave" && handler(agent.id));
  }

  /** Calls `handler` when a known agent's info changes (capabilities, status, draining). */
  onAgentUpdate(handler: (agent: AgentInfo) => void): void {
    this.watch((kind, agent) => kind === "update" && handler(agent));
  }

  /** Calls `listener` on every join, update and leave; returns the unsubscribe function. */
  watch(listener: RegistryListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Adds or replaces an agent, firing join or update. */
  put(agent: AgentInfo): void {
    const previous = this.agents.get(agent.id);
    this.unindex(agent.id);
    this.agents.set(agent.id, agent);
    this.indexed.set(agent.id, [...agent.capabilities]);
    for (const c of agent.capabilities) {
      let set = this.capabilities.get(c);
      if (set === undefined) this.capabilities.set(c, (set = new Set()));
      set.add(agent.id);
      this.lost.delete(c);
    }
    this.emit(previous === undefined ? "join" : "update", agent);
  }

  /** Removes an agent, firing leave when it was known. */
  remove(agentId: string): void {
    const previous = this.agents.get(agentId);
    if (previous === undefined) return;
    this.unindex(agentId);
    this.agents.delete(agentId);
    this.emit("leave", previous);
  }

  /** Records a load observed from a result, without a new version (fresher than the last gossip). */
  observeLoad(agentId: string, load: number, capacity: number): void {
    const agent = this.agents.get(agentId);
    if (agent === undefined) return;
    agent.load = load;
    if (capacity > 0) agent.capacity = capacity;
  }

  /** The agent `agentId`, if known. */
  get(agentId: string): AgentInfo | undefined {
    return this.agents.get(agentId);
  }

  /** Agents with `capability`, synchronously. */
  withCapability(capability: string): AgentInfo[] {
    const ids = this.capabilities.get(capability);
    if (ids === undefined) return [];
    return [...ids].map((id) => this.agents.get(id)).filter((a): a is AgentInfo => a !== undefined);
  }

  /** Every agent, synchronously. */
  all(): AgentInfo[] {
    return [...this.agents.values()];
  }

  /** Every capability some agent has. */
  knownCapabilities(): string[] {
    return [...this.capabilities.keys()];
  }

  /** Number of agents. */
  get size(): number {
    return this.agents.size;
  }

  /** Keeps this registry in step with `discovery` (the local agent is registered separately). */
  follow(discovery: Discovery): () => void {
    for (const agent of discovery.members()) this.put(copy(agent));
    return discovery.onEvent((event) => {
      if (event.t === "leave") this.remove(event.agent.id);
      else this.put(copy(event.agent));
    });
  }

  private emit(kind: "join" | "update" | "leave", agent: AgentInfo): void {
    for (const l of [...this.listeners]) {
      try {
        l(kind, agent);
      } catch {
        // a listener's failure must not stop the others
      }
    }
  }

  private unindex(agentId: string): void {
    for (const c of this.indexed.get(agentId) ?? []) {
      const set = this.capabilities.get(c);
      set?.delete(agentId);
      if (set?.size === 0) {
        this.capabilities.delete(c);
        this.lost.set(c, this.now());
      }
    }
    this.indexed.delete(agentId);
  }
}

/** A registry-owned copy (observeLoad mutates it, the discovery's copy stays as gossiped). */
function copy(agent: AgentInfo): AgentInfo {
  const c = clone(AgentInfoSchema, agent);
  if (c.status === MemberStatus.UNSPECIFIED) c.status = MemberStatus.ALIVE;
  return c;
}
