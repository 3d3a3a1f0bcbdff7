/**
 * The link's request/response with both nodes in ONE process (two AgentNodes, real gRPC transport on loopback):
 * what the link's code costs per request/response — user and system CPU time of both sides together, p50 and
 * rate — without the wake-up latency between two processes, which on a shared machine makes the two-process
 * figures of `npm run bench` swing (the TCP floor itself moves between ~19 and ~50 µs there). Each measurement
 * runs in a fresh child process; with --compare, the same measurements of another checkout's build run
 * interleaved with this one's. Run `npm run build` first (and in the other checkout).
 *
 * Usage: node bench/link-inproc.mjs [--concurrency 1,64] [--tracing off,ring] [--runs 3] [--run-ms 2000]
 *                                   [--compare DIR]   (DIR: a checkout whose dist/ is built, e.g. of the base commit)
 */
import { execFileSync } from "node:child_process";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const SELF = fileURLToPath(import.meta.url);
const THIS_ROOT = fileURLToPath(new URL("..", import.meta.url));

if (process.argv[2] === "--child") await child(process.argv.slice(3));
else await parent();

/** One measurement: ROOT CONCURRENCY MS TRACING → one JSON line on stdout. */
async function child([root, concText, msText, tracingMode]) {
  const concurrency = Number(concText);
  const ms = Number(msText);
  const { AgentNode } = await import(`${root}/dist/src/node/agent-node.js`);
  let tracingA;
  let tracingB;
  if (tracingMode === "ring") {
    const { startTracing } = await import(`${root}/dist/src/telemetry/tracing.js`);
    tracingA = startTracing({ agentId: "a", register: false, env: {} });
    tracingB = startTracing({ agentId: "b", register: false, env: {} });
  }
  const b = await AgentNode.start({ id: "b", tracing: tracingB });
  b.onMessage((m) => (m.type === "bench.echo" ? m.payload : undefined));
  const a = await AgentNode.start({ id: "a", seeds: [b.address], tracing: tracingA });
  while (a.registry.get("b") === undefined) await new Promise((r) => setTimeout(r, 20));
  const payload = "x".repeat(62);
  const run = async (duration) => {
    const latencies = new Float64Array(4_000_000);
    let n = 0;
    const end = performance.now() + duration;
    const cpu = process.cpuUsage();
    const started = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        for (;;) {
          const t0 = performance.now();
          if (t0 >= end) return;
          await a.request("b", { type: "bench.echo", payload });
          if (n < latencies.length) latencies[n] = (performance.now() - t0) * 1000;
          n++;
        }
      }),
    );
    const wall = performance.now() - started;
    const used = process.cpuUsage(cpu);
    const sorted = latencies.subarray(0, Math.min(n, latencies.length)).sort();
    return { rps: n / (wall / 1000), p50Us: sorted[sorted.length >> 1], userUs: used.user / n, sysUs: used.system / n };
  };
  await run(Math.min(1000, ms)); // warm-up
  process.stdout.write(`${JSON.stringify(await run(ms))}\n`);
  await a.stop();
  await b.stop();
  process.exit(0);
}

async function parent() {
  const { values: v } = parseArgs({
    options: {
      concurrency: { type: "string", default: "1,64" },
      tracing: { type: "string", default: "off,ring" },
      runs: { type: "string", default: "3" },
      "run-ms": { type: "string", default: "2000" },
      compare: { type: "string" },
    },
  });
  const builds = [["this", THIS_ROOT], ...(v.compare !== undefined ? [["compare", resolve(v.compare)]] : [])];
  const configs = [];
  for (const tracing of v.tracing.split(",")) for (const c of v.concurrency.split(",")) for (const [name, root] of builds) configs.push({ name, root, c, tracing });
  const samples = new Map(configs.map((k) => [k, []]));
  for (let r = 0; r < Number(v.runs); r++) {
    const order = r % 2 === 0 ? configs : [...configs].reverse();
    for (const k of order) {
      const out = execFileSync(process.execPath, [SELF, "--child", k.root, k.c, v["run-ms"], k.tracing], { encoding: "utf8" });
      samples.get(k).push(JSON.parse(out.trim().split("\n").pop()));
    }
  }
  const median = (xs) => [...xs].sort((x, y) => x - y)[xs.length >> 1];
  const fmt = (x, d = 1) => x.toFixed(d).padStart(8);
  process.stdout.write(`link request/response, both nodes in one process; median of ${v.runs} runs of ${v["run-ms"]} ms\n`);
  process.stdout.write("build     tracing  conc     req/s   p50 µs  user µs  sys µs   (per request/response, both sides)\n");
  for (const k of configs) {
    const s = samples.get(k);
    process.stdout.write(`${k.name.padEnd(9)} ${k.tracing.padEnd(8)} ${k.c.padStart(4)} ${fmt(median(s.map((x) => x.rps)), 0)} ${fmt(median(s.map((x) => x.p50Us)))} ${fmt(median(s.map((x) => x.userUs)), 2)} ${fmt(median(s.map((x) => x.sysUs)), 2)}\n`);
  }
}
