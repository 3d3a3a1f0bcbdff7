/**
 * broadcastAndCollect: send one request to many agents at once and gather their answers until all answered
 * or the phase's timeout passed. Agents that do not answer in time, fail or decline are listed, never waited
 * for beyond the timeout.
 */
import type { MessageBus } from "../bus/bus.js";
import { MeshError } from "../protocol/errors.js";

/** What a phase gathered. */
export interface Collected<T> {
  /** Answers, in the order they arrived. */
  replies: { agent: string; value: T }[];
  /** Agents without an answer, and why. */
  missing: { agent: string; reason: string }[];
  /** Time the phase took, ms. */
  durationMs: number;
}

/** Options of one phase. */
export interface CollectOptions {
  /** Agents to ask. */
  agents: string[];
  /** How long the phase may take, ms. */
  timeoutMs: number;
  /** Correlation id shared by the phase's messages. */
  correlationId?: string;
}

/** Asks every agent with a request of message type `type` and gathers the replies' payloads. */
export async function broadcastAndCollect<T>(bus: MessageBus, type: string, payload: unknown, options: CollectOptions): Promise<Collected<T>> {
  const started = Date.now();
  const replies: { agent: string; value: T }[] = [];
  const missing: { agent: string; reason: string }[] = [];
  await Promise.all(
    [...new Set(options.agents)].map(async (agent) => {
      try {
        const reply = await bus.request(agent, { type, payload, correlationId: options.correlationId }, { timeoutMs: options.timeoutMs });
        if (reply.payload === null || reply.payload === undefined) missing.push({ agent, reason: "declined" });
        else replies.push({ agent, value: reply.payload as T });
      } catch (err) {
        missing.push({ agent, reason: MeshError.from(err).message });
      }
    }),
  );
  return { replies, missing, durationMs: Date.now() - started };
}
