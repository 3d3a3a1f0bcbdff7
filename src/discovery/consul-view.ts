/**
 * The mesh as the Consul discovery sees it, and the events its changes make. Each watch round delivers every
 * instance of the service with its checks; an instance is healthy when all its checks pass (what `?passing` filters
 * on the server: "only nodes with all checks in the passing state", health API docs). Healthy instances join or
 * update the view; one that turns unhealthy or disappears leaves it: "dead", unless it was draining. A draining
 * agent reports NOT_SERVING, so its check turns critical while it finishes its tasks: it stays in the view (as
 * draining, so no new work goes to it and its running tasks are not reassigned) until it deregisters, or for
 * drainingGraceMs at most.
 */
import { clone } from "@bufbuild/protobuf";
import { AgentInfoSchema, MemberStatus, type AgentInfo } from "../../gen/agentmesh/v1/membership_pb.js";
import type { DiscoveryEvent } from "./discovery.js";
import type { HealthEntry } from "./consul-client.js";
import { agentFromEntry, sameRecord } from "./consul-service.js";

/** What one round told about this agent's own registration. */
export interface SelfSighting {
  /** The instance is registered (in any state). */
  present: boolean;
  /** All its checks pass. */
  passing: boolean;
}

/** The outcome of applying one watch round. */
export interface ViewChange {
  /** Membership events, in order. */
  events: DiscoveryEvent[];
  /** This agent's own instance. */
  self: SelfSighting;
  /** Instances left out, with the reason (not agents of this mesh). */
  skipped: string[];
}

interface Known {
  info: AgentInfo;
  /** When a draining agent was first seen unhealthy (ms), while it is. */
  unhealthySinceMs: number | undefined;
}

/** True when every check of an entry passes (an entry without checks counts as passing, as in Consul). */
export function entryPassing(entry: HealthEntry): boolean {
  return (entry.Checks ?? []).every((c) => c.Status === "passing");
}

/** The remote agents known from Consul. */
export class ConsulView {
  private readonly known = new Map<string, Known>();

  /** An empty view for agent `selfId`; `now` dates how long a draining agent has been unhealthy. */
  constructor(
    private readonly selfId: string,
    private readonly drainingGraceMs: number,
    private readonly now: () => number,
  ) {}

  /** The live remote agents (copies are the caller's to keep). */
  members(): AgentInfo[] {
    return [...this.known.values()].map((k) => k.info);
  }

  /** Applies a full list of the service's instances (one watch round) and returns what changed. */
  apply(entries: HealthEntry[]): ViewChange {
    const events: DiscoveryEvent[] = [];
    const skipped: string[] = [];
    const self: SelfSighting = { present: false, passing: false };
    const seen = new Set<string>();
    const now = this.now();
    for (const entry of entries) {
      const read = agentFromEntry(entry);
      if ("skip" in read) {
        skipped.push(read.skip);
        continue;
      }
      const agent = read.agent;
      const passing = entryPassing(entry);
      if (agent.id === this.selfId) {
        self.present = true;
        self.passing = passing;
        continue;
      }
      if (seen.has(agent.id)) continue; // the same id on two Consul nodes: the first wins
      seen.add(agent.id);
      const current = this.known.get(agent.id);
      if (passing) {
        if (current === undefined) {
          this.known.set(agent.id, { info: agent, unhealthySinceMs: undefined });
          events.push({ t: "join", agent });
        } else {
          current.unhealthySinceMs = undefined;
          if (!sameRecord(current.info, agent)) events.push({ t: "update", agent: this.replace(current, agent) });
        }
        continue;
      }
      if (current === undefined) continue; // never healthy yet: not a member
      if (agent.draining) {
        current.unhealthySinceMs ??= now;
        if (now - current.unhealthySinceMs <= this.drainingGraceMs) {
          if (!sameRecord(current.info, agent)) events.push({ t: "update", agent: this.replace(current, agent) });
          continue;
        }
      }
      events.push(this.remove(agent.id, current, "dead"));
    }
    for (const [id, current] of [...this.known]) {
      if (!seen.has(id)) events.push(this.remove(id, current, current.info.draining ? "left" : "dead"));
    }
    return { events, self, skipped };
  }

  private replace(current: Known, agent: AgentInfo): AgentInfo {
    agent.version = current.info.version + 1n;
    current.info = agent;
    return agent;
  }

  private remove(id: string, current: Known, reason: "left" | "dead"): DiscoveryEvent {
    this.known.delete(id);
    const agent = clone(AgentInfoSchema, current.info);
    agent.status = reason === "left" ? MemberStatus.LEFT : MemberStatus.DEAD;
    return { t: "leave", agent, reason };
  }
}
