/**
 * The benchmark's agent module (`agent-mesh node --agent bench/agents/bench-agent.mjs --capabilities ...`):
 *
 * - `echo`: returns its input (as the built-in echo does);
 * - `bench_link`: a load generator inside the node. Input `{peer, concurrency, durationMs, payload}`: keeps
 *   `concurrency` requests of message type "bench.echo" in flight to agent `peer` over the peer link
 *   (node.request: the Message API, one envelope each way, matched by correlation) for `durationMs`, and
 *   returns the count, the rate, p50/p99 latency (µs) and this process's CPU use. No client hop: this
 *   measures the link itself;
 * - `bench_announce`: input `{capability}`: announces that new capability (served by echo) to the mesh now;
 * - every node answers "bench.echo" requests with their payload.
 */

/** Registers the capabilities and the "bench.echo" answerer on `node`. */
export default function benchAgent(node) {
  node.announceCapability("echo", (input) => input);
  node.announceCapability("bench_link", (input, ctx) => linkLoad(node, input, ctx.signal));
  node.announceCapability("bench_announce", (input) => {
    node.announceCapability(input.capability, (x) => x);
    return { announced: input.capability };
  });
  node.onMessage((m) => (m.type === "bench.echo" ? m.payload : undefined));
}

/** Runs the closed-loop link load described in the file comment. */
async function linkLoad(node, input, signal) {
  const { peer, concurrency = 1, durationMs = 1000, payload = null } = input ?? {};
  if (typeof peer !== "string" || peer === "") throw new Error('bench_link: input.peer must name an agent');
  const latencies = new Float64Array(4_000_000);
  let count = 0;
  let errors = 0;
  let firstError;
  const cpu = process.cpuUsage();
  const started = performance.now();
  const end = started + durationMs;
  const worker = async () => {
    while (!signal.aborted) {
      const t0 = performance.now();
      if (t0 >= end) return;
      try {
        await node.request(peer, { type: "bench.echo", payload });
        if (count < latencies.length) latencies[count] = (performance.now() - t0) * 1000;
        count++;
      } catch (err) {
        errors++;
        firstError ??= err instanceof Error ? err.message : String(err);
        if (errors > 100) return;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const wallMs = performance.now() - started;
  const used = process.cpuUsage(cpu);
  const sorted = latencies.subarray(0, Math.min(count, latencies.length)).sort();
  const q = (p) => (sorted.length === 0 ? null : sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]);
  return {
    requests: count,
    errors,
    firstError,
    wallMs,
    rps: count / (wallMs / 1000),
    p50Us: q(0.5),
    p99Us: q(0.99),
    cpuPercent: ((used.user + used.system) / 1000 / wallMs) * 100,
  };
}
