/**
 * Agent selection strategies: `select(candidates, task)` picks who runs a task. The default, least loaded,
 * scores each candidate by (load + tasks this node has in flight to it) / capacity and picks the lowest,
 * breaking ties at random so equal agents share the work.
 */
import type { AgentInfo } from "../../gen/agentmesh/v1/membership_pb.js";

/** What a strategy knows of the task. */
export interface TaskSpec {
  /** The capability needed. */
  capability: string;
}

/** Chooses one of `candidates` (never empty) for `task`. */
export type SelectStrategy = (candidates: readonly AgentInfo[], task: TaskSpec) => AgentInfo;

/** Load relative to capacity: (load + inFlight) / max(capacity, 1). */
export function loadScore(agent: AgentInfo, inFlight = 0): number {
  return (agent.load + inFlight) / Math.max(agent.capacity, 1);
}

/** The least loaded strategy; `inFlight(id)` counts tasks this node sent to `id` that have not returned. */
export function leastLoaded(inFlight: (agentId: string) => number = () => 0, random: () => number = Math.random): SelectStrategy {
  return (candidates) => {
    let best: AgentInfo[] = [];
    let bestScore = Infinity;
    for (const c of candidates) {
      const score = loadScore(c, inFlight(c.id));
      if (score < bestScore - 1e-9) {
        best = [c];
        bestScore = score;
      } else if (Math.abs(score - bestScore) <= 1e-9) {
        best.push(c);
      }
    }
    return best[Math.floor(random() * best.length)] ?? candidates[0];
  };
}
