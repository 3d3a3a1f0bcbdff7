/**
 * CPU profile of the mesh's hot path: starts node B (echo) and node A (routes to B) under `node --cpu-prof` (a sample every 100 µs),
 * drives SubmitTask load on A at concurrency 64 (or --concurrency N; or the in-node link load) for a few seconds, stops
 * both nodes gracefully (so V8 writes the profiles) and prints each node's top self-time functions and
 * packages. Run `npm run build` first.
 *
 * Usage: node bench/profile.mjs [--seconds S] [--load routed|link|direct] [--concurrency N] [--top N] [--out DIR] [--tracing off|ring|otlp]
 */
import { mkdirSync, readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { summariseProfile } from "./lib/cpuprofile.mjs";
import { startReceiver } from "./lib/pair.mjs";
import { ask, benchPath, Processes } from "./lib/processes.mjs";
import { nodeClient, pollUntil } from "./lib/mesh-client.mjs";
import { num, table } from "./lib/report.mjs";
import { PAYLOAD_TEXT } from "./lib/wire.mjs";

let v;
try {
  ({ values: v } = parseArgs({
    strict: true,
    allowPositionals: false,
    options: {
      seconds: { type: "string", default: "10" },
      load: { type: "string", default: "routed" },
      top: { type: "string", default: "25" },
      out: { type: "string", default: "bench-profiles" },
      tracing: { type: "string", default: "ring" },
      concurrency: { type: "string", default: "64" },
    },
  }));
} catch (err) {
  process.stderr.write(`profile: ${err.message}\nUsage: node bench/profile.mjs [--seconds S] [--load routed|link|direct] [--concurrency N] [--top N] [--out DIR] [--tracing off|ring|otlp]\n`);
  process.exit(2);
}
const seconds = Number(v.seconds);
const top = Number(v.top);
const concurrency = Number(v.concurrency);
if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 600 || !Number.isInteger(top) || top < 1 || !Number.isInteger(concurrency) || concurrency < 1 || concurrency > 1024 || !["routed", "link", "direct"].includes(v.load) || !["off", "ring", "otlp"].includes(v.tracing)) {
  process.stderr.write("profile: --seconds 0<S≤600, --top N≥1, --concurrency 1≤N≤1024, --load routed|link|direct, --tracing off|ring|otlp\n");
  process.exit(2);
}
const out = resolve(v.out, new Date().toISOString().replace(/[:.]/g, "-"));
mkdirSync(out, { recursive: true });
const procs = new Processes();
try {
  // otlp: every span exported over OTLP/HTTP to a local receiver, as the tracing benchmark does.
  const sink = v.tracing === "otlp" ? await startReceiver(procs) : undefined;
  const env = v.tracing === "off" ? { OTEL_SDK_DISABLED: "true" } : sink !== undefined ? { OTEL_EXPORTER_OTLP_ENDPOINT: sink.ready.endpoint, OTEL_TRACES_SAMPLER: "always_on" } : {};
  const agent = ["--agent", benchPath("agents/bench-agent.mjs"), "--capacity", "256"];
  const prof = (name) => ["--cpu-prof", "--cpu-prof-interval", "100", "--cpu-prof-dir", join(out, name)];
  const b = await procs.startNode("b", [...agent, "--capabilities", "echo"], { nodeArgs: prof("B"), env });
  const a = await procs.startNode("a", [...agent, "--capabilities", "bench_link", "--seeds", b.address], { nodeArgs: prof("A"), env });
  const client = nodeClient(a.address);
  await pollUntil(async () => (await client.service.listAgents({ capability: "echo" })).agents.some((x) => x.id === "b"), { timeoutMs: 20_000, what: "a to know b" });
  client.close();
  const loadgen = await procs.startHelper("loadgen", "lib/loadgen.mjs");
  const ms = seconds * 1000;
  let r;
  if (v.load === "link") {
    r = await ask(loadgen, { op: "submit", capability: "bench_link", address: a.address, input: { peer: "b", concurrency, durationMs: ms, payload: PAYLOAD_TEXT }, timeoutMs: ms + 15_000 }, ms + 20_000);
  } else {
    r = await ask(loadgen, { op: "run", kind: "submit", capability: "echo", address: (v.load === "routed" ? a : b).address, concurrency, durationMs: ms }, ms + 15_000);
  }
  process.stdout.write(`${v.load} load at concurrency ${concurrency} for ${seconds} s (tracing ${v.tracing}): ${num(r.rps)} req/s, p50 ${num(r.p50Us)} µs, p99 ${num(r.p99Us)} µs\n`);
  await procs.stop(a, 15_000);
  await procs.stop(b, 15_000);
  for (const name of v.load === "direct" ? ["B"] : ["A", "B"]) {
    const dir = join(out, name);
    const file = readdirSync(dir).find((f) => f.endsWith(".cpuprofile"));
    if (file === undefined) throw new Error(`no profile written in ${dir}`);
    const s = summariseProfile(join(dir, file));
    const busy = s.totalMs - s.idleMs;
    process.stdout.write(`\nnode ${name}: ${join(dir, file)}\n  sampled ${num(s.totalMs)} ms, busy ${num(busy)} ms (${num((busy / s.totalMs) * 100)} %)\n\n`);
    process.stdout.write(`${table(["self time by package", "ms", "% of busy"], s.packages.slice(0, 12).map((p) => [p.name, num(p.ms), num(p.percentOfBusy, 1)]))}\n\n`);
    process.stdout.write(`${table(["top self-time functions", "ms", "% of busy"], s.functions.slice(0, top).map((f) => [f.name, num(f.ms), num(f.percentOfBusy, 1)]))}\n`);
  }
} finally {
  await procs.stopAll();
}
