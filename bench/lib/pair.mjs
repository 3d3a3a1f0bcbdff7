/**
 * The node pair the request/response and tracing benchmarks load: B serves `echo`, A (bench_link, seeded with B)
 * routes it to B; the closed-loop SubmitTask(echo) load through the load generator; and the OTLP receiver the
 * exporting pairs send their spans to.
 */
import { nodeClient, pollUntil } from "./mesh-client.mjs";
import { ask, benchPath } from "./processes.mjs";

/** The node arguments of the benchmark's agent module; capacity 256 so 64 requests in flight never queue. */
export const AGENT_ARGS = ["--agent", benchPath("agents/bench-agent.mjs"), "--capacity", "256"];

/** Starts node B (echo) and node A (bench_link, seeded with B) through `procs` with `env` (from `bin`, default this build), and waits until A routes echo to B. */
export async function startPair(procs, label, env, bin) {
  const b = await procs.startNode(`${label}-b`, [...AGENT_ARGS, "--capabilities", "echo"], { env, bin });
  const a = await procs.startNode(`${label}-a`, [...AGENT_ARGS, "--capabilities", "bench_link", "--seeds", b.address], { env, bin });
  const client = nodeClient(a.address);
  try {
    await pollUntil(async () => (await client.service.listAgents({ capability: "echo" })).agents.some((x) => x.id === b.id), { timeoutMs: 20_000, what: `${a.id} to know ${b.id}'s echo` });
  } finally {
    client.close();
  }
  return { a, b };
}

/** Spans a routed SubmitTask(echo) makes: on A the RPC's server span, the route span and the link send; on B the run. */
export const SPANS_PER_ROUTED_TASK = 4;

/** Starts the benchmarks' OTLP/HTTP receiver (servers/otlp-sink.mjs) through `procs`. */
export function startReceiver(procs) {
  return procs.startHelper("otlp-sink", "servers/otlp-sink.mjs");
}

/** Closed-loop SubmitTask(echo) load on `node` through the load generator, `concurrency` in flight for `ms`. */
export function submitLoad(loadgen, node, concurrency, ms) {
  return ask(loadgen, { op: "run", kind: "submit", capability: "echo", address: node.address, concurrency, durationMs: ms }, ms + 15_000);
}
