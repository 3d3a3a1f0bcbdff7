/**
 * What the demo runs: which capabilities each node serves (overlapping, so routing has choices and some tasks
 * must be forwarded) and the list of tasks (capability, input, the node it is submitted to).
 */

/** One node of the demo mesh. */
export interface NodePlan {
  /** Agent id. */
  id: string;
  /** Built-in capabilities it serves. */
  capabilities: string[];
}

/** One task of the demo. */
export interface TaskPlan {
  /** Position in the run, from 0. */
  index: number;
  /** Index of the node it is submitted to. */
  entry: number;
  /** The capability it needs. */
  capability: string;
  /** Its input. */
  input: unknown;
}

const TEXT_TOOLS = ["echo", "uppercase", "reverse", "wordcount"];

const TEXTS = [
  "agents discover peers by gossip and route tasks to the least loaded capable agent",
  "no central orchestrator decides who runs what",
  "every hop is a span of one trace and the correlation id is on every log line",
  "a node that drains finishes its running tasks and accepts no new ones",
  "peer links batch envelopes written in the same tick into one frame",
];

/**
 * The demo mesh of `n` nodes: node i serves two neighbouring text tools; every node but the first serves
 * `sleep`; only the last serves `keywords`. Tasks that reach a node without their capability are forwarded.
 */
export function meshPlan(n: number): NodePlan[] {
  return Array.from({ length: n }, (_, i) => {
    const capabilities = [TEXT_TOOLS[i % TEXT_TOOLS.length], TEXT_TOOLS[(i + 1) % TEXT_TOOLS.length]];
    if (i > 0) capabilities.push("sleep");
    if (i === n - 1) capabilities.push("keywords");
    return { id: `agent-${i + 1}`, capabilities };
  });
}

const MIX = ["sleep", "uppercase", "sleep", "reverse", "wordcount", "sleep", "keywords", "echo"];

/** `count` tasks over a mesh of `nodes` nodes: a fixed mix of capabilities, submitted to the nodes in turn. */
export function taskPlan(count: number, nodes: number): TaskPlan[] {
  return Array.from({ length: count }, (_, index) => {
    const capability = MIX[index % MIX.length];
    const text = TEXTS[index % TEXTS.length];
    const input = capability === "sleep" ? { ms: 40 + ((index * 37) % 160) } : capability === "echo" ? { index, text } : text;
    return { index, entry: index % nodes, capability, input };
  });
}
