/** The demo's collaboration round: a consensus vote and a collaborative solve among the demo's agents. */
import { ConsensusOutcome } from "../../../gen/agentmesh/v1/patterns_pb.js";
import type { NodeClient } from "../client.js";
import { payloadValue } from "../format.js";

/** What the demo shows of the collaboration patterns. */
export interface CollaborationSummary {
  /** The vote: its question, outcome, choice and how each agent voted. */
  vote: { question: string; outcome: string; choice: string; votes: { agent: string; choice: string }[]; durationMs: number };
  /** The solve: ideas, solution and implementer. */
  solve: { problem: string; ideas: { author: string; text: string }[]; solution: string; implementer: string; durationMs: number };
}

/** The phase timeout the demo gives each collaboration phase, ms. */
const PHASE_MS = 3000;

/** Runs a vote and a collaborative solve through `client`. */
export async function runCollaboration(client: NodeClient, signal: AbortSignal): Promise<CollaborationSummary> {
  const question = "Which release cadence should the mesh team adopt";
  const d = await client.service.reachConsensus(
    { question, options: ["weekly release train", "monthly release", "continuous delivery"], deadlineMs: PHASE_MS },
    { timeoutMs: PHASE_MS * 2, signal },
  );
  const problem = "plan the release notes for the next mesh release with a short checklist";
  const s = await client.service.collaborativeSolve(
    { problem, brainstormMs: PHASE_MS, critiqueMs: PHASE_MS, voteMs: PHASE_MS, implementMs: PHASE_MS },
    { timeoutMs: PHASE_MS * 5, signal },
  );
  const trail = payloadValue(s.trail) as { ideas?: { author: string; text: string }[] };
  return {
    vote: {
      question,
      outcome: ConsensusOutcome[d.outcome].toLowerCase(),
      choice: d.choice,
      votes: d.votes.map((v) => ({ agent: v.agentId, choice: v.choice })),
      durationMs: d.durationMs,
    },
    solve: { problem, ideas: trail.ideas ?? [], solution: s.solution, implementer: s.implementerId, durationMs: s.durationMs },
  };
}

/** The collaboration round as text. */
export function collaborationText(c: CollaborationSummary): string {
  const lines = [
    `Consensus (${c.vote.durationMs} ms): "${c.vote.question}?" → ${c.vote.choice} (${c.vote.outcome})`,
    ...c.vote.votes.map((v) => `  ${v.agent} voted ${v.choice}`),
    `Collaborative solve (${c.solve.durationMs} ms): "${c.solve.problem}"`,
    ...c.solve.ideas.map((i) => `  idea from ${i.author}: ${i.text}`),
    `  chosen: ${c.solve.solution}`,
    `  implemented by ${c.solve.implementer}`,
  ];
  return lines.join("\n");
}
