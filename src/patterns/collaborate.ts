/**
 * Collaborative problem solving (the source document's collaborativeSolve), across agents:
 * 1. brainstorm — every agent is asked (message type "brainstorm", payload {problem}) and answers with an
 *    idea ({idea: string}) or declines (null);
 * 2. critique — every agent gets all ideas ("critique", {problem, ideas: string[]}) and answers
 *    {critiques: [{idea: index, score: 0..1, note?, refined?}]}; each idea becomes its best-scored refinement
 *    (or stays as it was);
 * 3. vote — a consensus round on the refined ideas among the agents (vote handlers);
 * 4. implement — the author of the winning idea is asked to implement it ("implement", {problem, solution});
 *    if it fails, the other agents are asked in turn.
 * Every phase has its own timeout; the whole trail comes back with the solution.
 */
import type { MeshMessageBus } from "../bus/mesh-bus.js";
import type { Clock } from "../protocol/clock.js";
import { Code, MeshError } from "../protocol/errors.js";
import { newId } from "../protocol/ids.js";
import { broadcastAndCollect, type Collected } from "./collect.js";
import { reachConsensus, type Decision } from "./consensus.js";

/** A proposed idea. */
export interface Idea {
  /** Its text. */
  text: string;
  /** The agent that proposed it. */
  author: string;
}

/** One critique of one idea. */
export interface Critique {
  /** Index of the idea in the brainstorm's list. */
  idea: number;
  /** How good, 0..1. */
  score: number;
  /** Remarks. */
  note?: string;
  /** An improved text. */
  refined?: string;
}

/** Phase timeouts, ms. */
export interface SolveTimeouts {
  /** Default 10000. */
  brainstormMs: number;
  /** Default 15000. */
  critiqueMs: number;
  /** Default 5000. */
  voteMs: number;
  /** Default 30000. */
  implementMs: number;
}

/** The default phase timeouts (the source document's 10 s and 15 s, plus vote and implementation). */
export const defaultSolveTimeouts: Readonly<SolveTimeouts> = Object.freeze({ brainstormMs: 10_000, critiqueMs: 15_000, voteMs: 5000, implementMs: 30_000 });

/** The outcome and its trail. */
export interface Solution {
  /** The chosen solution's text. */
  solution: string;
  /** The agent that implemented it. */
  implementer: string;
  /** What the implementer returned. */
  result: unknown;
  /** The round's correlation id. */
  correlationId: string;
  /** Everything that happened. */
  trail: {
    ideas: Idea[];
    brainstormMissing: { agent: string; reason: string }[];
    critiques: { agent: string; critiques: Critique[] }[];
    refined: { text: string; author: string; score: number }[];
    decision: Decision;
    implementationAttempts: { agent: string; outcome: string }[];
  };
  /** Total time, ms. */
  durationMs: number;
}

/** Options of a solve. */
export interface SolveOptions {
  /** The problem statement. */
  problem: string;
  /** Agents taking part. */
  agents: string[];
  /** Phase timeouts (defaults above). */
  timeouts?: Partial<SolveTimeouts>;
  /** Correlation id. */
  correlationId?: string;
}

/** Runs the four phases. Fails with FAILED_PRECONDITION when no idea comes up or the vote has no quorum. */
export async function collaborativeSolve(bus: MeshMessageBus, clock: Clock, options: SolveOptions): Promise<Solution> {
  if (options.problem === "") throw new MeshError(Code.InvalidArgument, "problem: must not be empty");
  if (options.agents.length === 0) throw new MeshError(Code.FailedPrecondition, "agents: nobody to collaborate with");
  const t = { ...defaultSolveTimeouts, ...options.timeouts };
  const correlationId = options.correlationId ?? newId();
  const started = clock.now();

  const brainstorm: Collected<{ idea?: unknown }> = await broadcastAndCollect(bus, "brainstorm", { problem: options.problem }, { agents: options.agents, timeoutMs: t.brainstormMs, correlationId });
  const ideas: Idea[] = brainstorm.replies.filter((r) => typeof r.value?.idea === "string" && r.value.idea !== "").map((r) => ({ text: r.value.idea as string, author: r.agent }));
  if (ideas.length === 0) throw new MeshError(Code.FailedPrecondition, `collaborative solve: no ideas (${brainstorm.missing.map((m) => `${m.agent}: ${m.reason}`).join("; ")})`);

  const critique: Collected<{ critiques?: unknown }> = await broadcastAndCollect(bus, "critique", { problem: options.problem, ideas: ideas.map((i) => i.text) }, { agents: options.agents, timeoutMs: t.critiqueMs, correlationId });
  const critiques = critique.replies.map((r) => ({ agent: r.agent, critiques: validCritiques(r.value?.critiques, ideas.length) }));
  const refined = refine(ideas, critiques);

  const decision = await reachConsensus(bus, clock, {
    question: `Which solution should we implement for: ${options.problem}`,
    options: [...new Set(refined.map((r) => r.text))],
    voters: options.agents,
    deadlineMs: t.voteMs,
    correlationId,
  });
  if (decision.choice === undefined) throw new MeshError(Code.FailedPrecondition, `collaborative solve: the vote had no quorum (${decision.votes.length} of ${decision.quorum} votes)`);
  const solution = decision.choice;

  const author = refined.find((r) => r.text === solution)?.author;
  const order = [author, ...options.agents.filter((a) => a !== author)].filter((a): a is string => a !== undefined);
  const attempts: { agent: string; outcome: string }[] = [];
  for (const agent of order) {
    try {
      const reply = await bus.request(agent, { type: "implement", payload: { problem: options.problem, solution }, correlationId }, { timeoutMs: t.implementMs });
      if (reply.payload === null || reply.payload === undefined) {
        attempts.push({ agent, outcome: "declined" });
        continue;
      }
      attempts.push({ agent, outcome: "implemented" });
      return {
        solution,
        implementer: agent,
        result: reply.payload,
        correlationId,
        trail: { ideas, brainstormMissing: brainstorm.missing, critiques, refined, decision, implementationAttempts: attempts },
        durationMs: clock.now() - started,
      };
    } catch (err) {
      attempts.push({ agent, outcome: MeshError.from(err).message });
    }
  }
  throw new MeshError(Code.Unavailable, `collaborative solve: nobody implemented "${solution}" (${attempts.map((a) => `${a.agent}: ${a.outcome}`).join("; ")})`);
}

/** Keeps the well-formed critiques of ideas that exist. */
function validCritiques(value: unknown, ideaCount: number): Critique[] {
  if (!Array.isArray(value)) return [];
  return value.filter(
    (c): c is Critique =>
      typeof c === "object" && c !== null && Number.isInteger(c.idea) && c.idea >= 0 && c.idea < ideaCount && typeof c.score === "number" && c.score >= 0 && c.score <= 1,
  );
}

/** Each idea becomes its best-scored refinement (or stays), with its mean score (pure). */
export function refine(ideas: readonly Idea[], critiques: readonly { agent: string; critiques: Critique[] }[]): { text: string; author: string; score: number }[] {
  return ideas.map((idea, i) => {
    const about = critiques.flatMap((c) => c.critiques.filter((x) => x.idea === i));
    const mean = about.length > 0 ? about.reduce((s, c) => s + c.score, 0) / about.length : 0;
    const best = about.filter((c) => typeof c.refined === "string" && c.refined !== "").sort((a, b) => b.score - a.score)[0];
    return { text: best?.refined ?? idea.text, author: idea.author, score: mean };
  });
}
