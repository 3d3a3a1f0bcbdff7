/**
 * A deterministic example collaborator, served by `agent-mesh node` without --agent so demos and tests can
 * run the collaboration patterns: it votes, brainstorms, critiques and implements with simple text rules.
 * Each agent has its own (stable) preferences, derived from its id, so rounds are not unanimous.
 */
import type { Message } from "../protocol/message.js";
import type { AgentNode } from "./agent-node.js";

/** Lower-case words of 4+ letters. */
function words(text: string): string[] {
  return text.toLowerCase().match(/[a-z][a-z'-]{3,}/g) ?? [];
}

/** A stable small number from a string (FNV-1a), for per-agent preferences. */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** How much `text` shares with `topic` (shared words), plus a per-agent preference in [0, 1). */
export function affinity(agentId: string, text: string, topic: string): number {
  const topicWords = new Set(words(topic));
  const shared = new Set(words(text).filter((w) => topicWords.has(w))).size;
  return shared + (hash(`${agentId}|${text}`) % 1000) / 1000;
}

/** Makes `node` take part in votes, brainstorms, critiques and implementations with the rules above. */
export function installExampleCollaborator(node: AgentNode): void {
  node.onVote(({ question, options }) => {
    if (options.length === 0) return undefined;
    const best = [...options].sort((a, b) => affinity(node.id, b, question) - affinity(node.id, a, question))[0];
    return { choice: best, rationale: `closest to the question by ${node.id}'s reading` };
  });
  node.onMessage((m: Message) => {
    const p = (m.payload ?? {}) as { problem?: unknown; ideas?: unknown; solution?: unknown };
    const problem = typeof p.problem === "string" ? p.problem : "";
    switch (m.type) {
      case "brainstorm": {
        const keys = [...new Set(words(problem))].sort((a, b) => hash(node.id + a) - hash(node.id + b)).slice(0, 3);
        if (keys.length === 0) return null;
        const approach = node.capabilities[hash(node.id) % Math.max(1, node.capabilities.length)] ?? "general";
        return { idea: `${approach} approach: focus on ${keys.join(", ")}` };
      }
      case "critique": {
        const ideas = Array.isArray(p.ideas) ? p.ideas.filter((i): i is string => typeof i === "string") : [];
        const scored = ideas.map((idea, i) => ({ idea: i, score: Math.min(1, affinity(node.id, idea, problem) / Math.max(1, words(problem).length)) }));
        const best = [...scored].sort((a, b) => b.score - a.score)[0];
        return {
          critiques: scored.map((c) => ({
            ...c,
            note: c === best ? "most on topic" : "less on topic",
            refined: c === best ? `${ideas[c.idea]} (checked by ${node.id})` : undefined,
          })),
        };
      }
      case "implement":
        if (typeof p.solution !== "string") return null;
        return { implementedBy: node.id, solution: p.solution, steps: words(p.solution).slice(0, 5).map((w, i) => `${i + 1}. handle ${w}`) };
      default:
        return undefined;
    }
  });
}
