/**
 * Calls in flight per agent, so they can be failed at once when the agent leaves or is declared dead
 * (instead of waiting for their deadlines): the abort reason is a retryable UNAVAILABLE, which tells the
 * caller to move the work elsewhere.
 */
import type { AgentRegistry } from "../discovery/registry.js";
import { Code, MeshError } from "../protocol/errors.js";

/** A call registered with an AgentWatch. */
export interface WatchedCall {
  /** Aborted when the agent leaves or dies. */
  readonly signal: AbortSignal;
  /** Unregisters the call (always call it when the call ends). */
  release(): void;
}

/** Tracks calls per agent and aborts them when the registry reports the agent gone. */
export class AgentWatch {
  private readonly calls = new Map<string, Set<AbortController>>();
  private readonly off: () => void;

  /** Starts following `registry`'s leave events. */
  constructor(registry: AgentRegistry) {
    this.off = registry.watch((kind, agent) => {
      if (kind === "leave") this.gone(agent.id);
    });
  }

  /** Registers a call to `agentId`. */
  watch(agentId: string): WatchedCall {
    const abort = new AbortController();
    let set = this.calls.get(agentId);
    if (set === undefined) this.calls.set(agentId, (set = new Set()));
    set.add(abort);
    return {
      signal: abort.signal,
      release: () => {
        set.delete(abort);
        if (set.size === 0 && this.calls.get(agentId) === set) this.calls.delete(agentId);
      },
    };
  }

  /** Calls in flight to `agentId`. */
  count(agentId: string): number {
    return this.calls.get(agentId)?.size ?? 0;
  }

  /** Stops following the registry. */
  close(): void {
    this.off();
  }

  private gone(agentId: string): void {
    for (const abort of this.calls.get(agentId) ?? []) {
      abort.abort(new MeshError(Code.Unavailable, `agent ${agentId} left the mesh or was declared dead during the call`));
    }
  }
}
