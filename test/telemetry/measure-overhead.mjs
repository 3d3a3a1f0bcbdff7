/**
 * Tracing overhead on the request-response hot path, in-process: node A routes tasks to node B (which has
 * the capability) over a real gRPC peer link on loopback, CONCURRENCY at a time, and the loop counts tasks
 * per second and the process's CPU time per task (user + system: steadier than throughput on a shared
 * machine). Modes run interleaved, each in its own child process (a fresh OpenTelemetry global state):
 *
 *   off     no tracing started (the API's no-ops; what a node without startTracing pays)
 *   ring    startTracing with its span ring only (the default of `agent-mesh node` without an endpoint)
 *   export  ring + export queue + OTLP/HTTP exporter to a receiver in the parent process (every root sampled)
 *
 * CPU time includes the garbage collector's and V8's helper threads, which a CPU profile of the main thread
 * does not show. Each mode runs in its own processes, so the figures also vary from process to process:
 * compare medians over several cycles.
 *
 * Usage (after `npm run build`): node test/telemetry/measure-overhead.mjs [--tasks N] [--rounds N] [--cycles N] [--work-us N]
 *                                  [--compare-dist DIR] [--modes off,ring,export]
 * (--work-us: CPU time each task's handler burns, default 0 — an echo, the worst case for relative overhead;
 * --compare-dist: another build's dist/ directory, e.g. of the commit before a change: its modes run too,
 * interleaved with this build's, for a before/after from one run)
 */
import { spawn } from "node:child_process";
import { createServer } from "node:http";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { countOtlpSpans, PROTOBUF } from "../../bench/lib/otlp-count.mjs";

const { values } = parseArgs({
  options: {
    mode: { type: "string" },
    tasks: { type: "string", default: "10000" },
    rounds: { type: "string", default: "3" },
    cycles: { type: "string", default: "3" },
    "work-us": { type: "string", default: "0" },
    endpoint: { type: "string" },
    "compare-dist": { type: "string" },
    modes: { type: "string", default: "off,ring,export" },
    dist: { type: "string" },
  },
});
const TASKS = Number(values.tasks);
const ROUNDS = Number(values.rounds);
const CYCLES = Number(values.cycles);
const WORK_US = Number(values["work-us"]);
const CONCURRENCY = 64;

if (values.mode === undefined) await parent();
else await child(values.mode, values.endpoint);

/** Runs each mode in a child process, with an OTLP receiver here for the export mode; prints a table. */
async function parent() {
  let received = 0;
  let bytes = 0;
  const server = createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      const type = String(req.headers["content-type"] ?? "");
      bytes += body.length;
      try {
        received += countOtlpSpans(body, type);
      } catch {
        // counted as bytes only
      }
      if (type.startsWith(PROTOBUF)) res.writeHead(200, { "content-type": PROTOBUF }).end();
      else res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const endpoint = `http://127.0.0.1:${server.address().port}`;
  const thisDist = fileURLToPath(new URL("../../dist/src/", import.meta.url));
  const builds = values["compare-dist"] === undefined ? [["this", thisDist]] : [["compare", new URL(`file://${values["compare-dist"].replace(/\/?$/, "/")}src/`).pathname], ["this", thisDist]];
  const modes = values.modes.split(",").map((m) => m.trim());
  const runsOf = builds.flatMap(([build, dist]) => modes.map((mode) => ({ label: `${build} ${mode}`, build, mode, dist })));
  const rates = {};
  const cpu = {};
  const dropped = {};
  for (let c = 0; c < CYCLES; c++) {
    for (const r of runsOf) {
      const out = await run(r.mode, endpoint, r.dist);
      (rates[r.label] ??= []).push(...out.rates);
      (cpu[r.label] ??= []).push(...out.cpuUsPerTask);
      dropped[r.label] = (dropped[r.label] ?? 0) + (out.dropped ?? 0);
    }
  }
  server.close();
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  console.log(`median of ${CYCLES * ROUNDS} rounds of ${TASKS} tasks (handler work ${WORK_US} µs), ${CONCURRENCY} in flight (A → B over a gRPC link on loopback):`);
  console.log(`  build    mode     tasks/s  vs off   CPU µs/task  vs off  + µs/task`);
  for (const r of runsOf) {
    const off = `${r.build} off`;
    const rate = median(rates[r.label]);
    const u = median(cpu[r.label]);
    const hasOff = rates[off] !== undefined && r.mode !== "off";
    const dr = hasOff ? `${(((rate - median(rates[off])) / median(rates[off])) * 100).toFixed(0)} %` : "";
    const du = hasOff ? `+${(((u - median(cpu[off])) / median(cpu[off])) * 100).toFixed(0)} %` : "";
    const dus = hasOff ? (u - median(cpu[off])).toFixed(1) : "";
    console.log(`  ${r.build.padEnd(8)} ${r.mode.padEnd(6)} ${rate.toFixed(0).padStart(8)}  ${dr.padStart(6)}  ${u.toFixed(1).padStart(11)}  ${du.padStart(6)}  ${dus.padStart(9)}`);
  }
  console.log(`  spans received by the OTLP receiver: ${received} (${(bytes / 1e6).toFixed(1)} MB of OTLP)`);
  const drops = Object.entries(dropped).filter(([, n]) => n > 0);
  if (drops.length > 0) console.log(`  spans dropped by export queues: ${drops.map(([label, n]) => `${label} ${n}`).join(", ")}`);
}

function run(mode, endpoint, dist) {
  return new Promise((resolve, reject) => {
    const args = ["--mode", mode, "--endpoint", endpoint, "--tasks", String(TASKS), "--rounds", String(ROUNDS), "--work-us", String(WORK_US), "--dist", dist];
    const proc = spawn(process.execPath, [fileURLToPath(import.meta.url), ...args], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    proc.stdout.on("data", (c) => (out += c));
    proc.on("exit", (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`mode ${mode} exited ${code}`))));
  });
}

/** One mode of the build in `values.dist`: two nodes, warm-up, then ROUNDS timed rounds; prints {rates, cpuUsPerTask} as JSON. */
async function child(mode, endpoint) {
  const dist = new URL(`file://${values.dist}`);
  const { AgentNode } = await import(new URL("node/agent-node.js", dist).href);
  const { startTracing } = await import(new URL("telemetry/tracing.js", dist).href);
  const tracing = (id) =>
    mode === "off" ? undefined : startTracing({ agentId: id, register: false, env: mode === "export" ? { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint } : {} });
  const ta = tracing("a");
  const tb = tracing("b");
  const a = await AgentNode.start({ id: "a", tracing: ta, capacity: 1000 });
  const b = new AgentNode({ id: "b", tracing: tb, capacity: 1000, seeds: [a.address] });
  b.announceCapability("echo", (x) => {
    const until = performance.now() + WORK_US / 1000;
    while (performance.now() < until); // burn CPU like a handler doing work
    return x;
  });
  await b.start();
  while (!a.registry.withCapability("echo").some((x) => x.id === "b")) await new Promise((r) => setTimeout(r, 20));
  const loop = async (n) => {
    let next = 0;
    const worker = async () => {
      while (next < n) {
        next++;
        await a.submit("echo", next);
      }
    };
    const started = performance.now();
    const cpu = process.cpuUsage();
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    const used = process.cpuUsage(cpu);
    return { rate: n / ((performance.now() - started) / 1000), cpuUs: (used.user + used.system) / n };
  };
  await loop(Math.min(5000, TASKS));
  const rates = [];
  const cpuUsPerTask = [];
  for (let i = 0; i < ROUNDS; i++) {
    const r = await loop(TASKS);
    rates.push(r.rate);
    cpuUsPerTask.push(r.cpuUs);
  }
  await Promise.all([a.stop(), b.stop()]);
  await Promise.all([ta?.shutdown(10_000), tb?.shutdown(10_000)]);
  // Spans the export queues dropped (a build without export statistics reports none).
  const dropped = [ta, tb].reduce((n, t) => n + (t?.exportStats?.()?.dropped ?? 0), 0);
  process.stdout.write(JSON.stringify({ rates, cpuUsPerTask, dropped }));
}
