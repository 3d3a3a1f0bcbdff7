/**
 * What tracing costs the peer link, garbage collection included: the link request/response load (A's in-node
 * load generator keeps N node.request calls to B in flight; see agents/bench-agent.mjs) on node pairs with
 * tracing off (OTEL_SDK_DISABLED=true), as shipped (span ring) and, with --modes, recording into a ring of
 * one span (ring1: spans made and ended, almost nothing kept), of this build and, with --compare-bin, of
 * another, every node under `node --trace-gc-nvp`. Every configuration gets --warmup-ms of load first
 * (default 2000), then runs --runs times, interleaved (the order rotates each round). Per request: CPU µs of
 * both nodes (from /proc), and from V8's GC trace of both nodes the bytes promoted to the old generation by
 * scavenges and the GC pause time (scavenges and mark-compacts).
 *
 *   node bench/suites/link-gc.mjs [--compare-bin ../old/bin/agent-mesh.js] [--runs 7] [--run-ms 2000]
 *                                 [--warmup-ms 2000] [--concurrency 64] [--modes off,ring,ring1] [--json FILE]
 *
 * Needs `npm run build` (this build's dist/) and Linux /proc. Every process it starts is stopped at the end.
 */
import { writeFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { nodeClient, pollUntil } from "../lib/mesh-client.mjs";
import { AGENT_ARGS } from "../lib/pair.mjs";
import { ask, BIN, Processes } from "../lib/processes.mjs";
import { compareOptions, elapsedLog } from "../lib/compare-options.mjs";
import { cpuMeter } from "../lib/proc-stats.mjs";
import { machine, num, sp, table } from "../lib/report.mjs";
import { spread } from "../lib/stats.mjs";
import { PAYLOAD_TEXT } from "../lib/wire.mjs";

const MODES = {
  off: { label: "tracing off", env: { OTEL_SDK_DISABLED: "true" } },
  ring: { label: "span ring (default)", env: {} },
  ring1: { label: "ring of 1 span", env: { AGENT_MESH_TRACE_RING_SIZE: "1" } },
};

const { runs, runMs, warmupMs, concurrency, modes, compareBin, json } = compareOptions("link-gc", MODES, { runs: 7, runMs: 2000, warmupMs: 2000, modes: "off,ring" });
const { log, atStart } = elapsedLog();
const procs = new Processes();
let exitCode = 0;
try {
  const loadgen = await procs.startHelper("loadgen", "lib/loadgen.mjs");
  const builds = compareBin === undefined ? [["this", BIN]] : [["compare", compareBin], ["this", BIN]];
  const configs = [];
  for (const [build, bin] of builds) {
    for (const mode of modes) {
      const pair = await startTracedPair(`${build}-${mode}`, MODES[mode].env, bin);
      configs.push({ build, mode, pair, go: (ms) => ask(loadgen, { op: "submit", capability: "bench_link", address: pair.a.address, input: { peer: pair.b.id, concurrency, durationMs: ms, payload: PAYLOAD_TEXT }, timeoutMs: ms + 15_000 }, ms + 20_000) });
    }
  }
  log(`${configs.length} pairs up; ${runs} runs of ${runMs} ms each after ${warmupMs} ms of warm-up`);
  const samples = new Map(configs.map((c) => [c, []]));
  for (const cfg of configs) await measure(cfg, warmupMs);
  for (let r = 0; r < runs; r++) {
    for (let i = 0; i < configs.length; i++) {
      const cfg = configs[(i + r) % configs.length];
      samples.get(cfg).push(await measure(cfg, runMs));
    }
    log(`round ${r + 1}/${runs} done`);
  }
  const atEnd = machine();
  const results = configs.map((cfg) => {
    const list = samples.get(cfg);
    const s = (k) => spread(list.map((x) => x[k]));
    return { build: cfg.build, mode: cfg.mode, rps: s("rps"), cpuUsPerRequest: s("cpuUsPerRequest"), promotedBytesPerRequest: s("promotedBytesPerRequest"), promotedA: s("promotedA"), promotedB: s("promotedB"), gcPauseUsPerRequest: s("gcPauseUsPerRequest"), scavengesPerSecond: s("scavengesPerSecond"), markCompacts: list.reduce((a, x) => a + x.markCompacts, 0) };
  });
  const rows = results.map((r) => {
    const off = results.find((x) => x.build === r.build && x.mode === "off");
    return [
      r.build,
      MODES[r.mode].label,
      sp(r.rps, 0),
      sp(r.cpuUsPerRequest, 1),
      off && r !== off ? num(r.cpuUsPerRequest.median - off.cpuUsPerRequest.median, 1) : "",
      sp(r.promotedBytesPerRequest, 0),
      `${num(r.promotedA.median)} / ${num(r.promotedB.median)}`,
      sp(r.gcPauseUsPerRequest, 2),
      num(r.scavengesPerSecond.median, 1),
      String(r.markCompacts),
    ];
  });
  const out = [
    `link request/response (node.request A → B) at concurrency ${concurrency}, 64-byte payload; median of ${runs} runs of ${runMs} ms [min–max]; both nodes`,
    `load average at start ${atStart.loadAverage.join(" ")}, at end ${atEnd.loadAverage.join(" ")}`,
    ...(compareBin !== undefined ? [`compare build: ${compareBin}`] : []),
    table(["build", "tracing", "req/s [min–max]", "CPU µs/req", "+ µs/req", "promoted B/req", "A / B", "GC pause µs/req", "scavenges/s", "mark-compacts"], rows),
  ];
  process.stdout.write(`${out.join("\n")}\n`);
  if (json !== undefined) {
    writeFileSync(json, `${JSON.stringify({ command: `node bench/suites/link-gc.mjs ${process.argv.slice(2).join(" ")}`, machine: { ...atStart, loadAverageAtEnd: atEnd.loadAverage }, runs, runMs, concurrency, compareBin, results }, null, 2)}\n`);
  }
} catch (err) {
  log(`link-gc: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  exitCode = 1;
}
await procs.stopAll();
process.exit(exitCode);

/** Node B (echo) and node A (bench_link, seeded with B), both under --trace-gc-nvp, each with a GC tally. */
async function startTracedPair(label, env, bin) {
  const nodeArgs = ["--trace-gc-nvp"];
  const b = await procs.startNode(`${label}-b`, [...AGENT_ARGS, "--capabilities", "echo"], { env, bin, nodeArgs });
  const a = await procs.startNode(`${label}-a`, [...AGENT_ARGS, "--capabilities", "bench_link", "--seeds", b.address], { env, bin, nodeArgs });
  a.gc = gcTally(a);
  b.gc = gcTally(b);
  const client = nodeClient(a.address);
  try {
    await pollUntil(async () => (await client.service.listAgents({ capability: "echo" })).agents.some((x) => x.id === b.id), { timeoutMs: 20_000, what: `${a.id} to know ${b.id}'s echo` });
  } finally {
    client.close();
  }
  return { a, b };
}

/** Running totals of a node's GC trace lines: scavenges, bytes they promoted, mark-compacts, pause ms. */
function gcTally(node) {
  const tally = { scavenges: 0, promoted: 0, markCompacts: 0, pauseMs: 0 };
  createInterface({ input: node.child.proc.stdout }).on("line", (line) => {
    const gc = /\bgc=(\w+)/.exec(line)?.[1];
    if (gc === undefined) return;
    tally.pauseMs += Number(/\bpause=([\d.]+)/.exec(line)?.[1] ?? 0);
    if (gc === "s") {
      tally.scavenges++;
      tally.promoted += Number(/\bpromoted=(\d+)/.exec(line)?.[1] ?? 0);
    } else if (gc === "ms" || gc === "mmc") tally.markCompacts++;
  });
  return tally;
}

/** One run of `cfg` for `ms`: rate, CPU of both nodes per request, and their GC per request. */
async function measure(cfg, ms) {
  const { a, b } = cfg.pair;
  const before = [{ ...a.gc }, { ...b.gc }];
  const meter = cpuMeter({ A: a.pid, B: b.pid });
  const r = await cfg.go(ms);
  const cpu = meter.stop();
  // Let the GC lines written during the run arrive.
  await new Promise((done) => setTimeout(done, 50));
  if (r.requests === 0) throw new Error(`${cfg.build} ${cfg.mode}: no request completed (${r.firstError ?? "no error reported"})`);
  const delta = (k) => a.gc[k] - before[0][k] + (b.gc[k] - before[1][k]);
  const cpuS = Object.values(cpu.percent).reduce((s, p) => s + (p / 100) * cpu.wallS, 0);
  return {
    rps: r.rps,
    cpuUsPerRequest: (cpuS * 1e6) / r.requests,
    promotedBytesPerRequest: delta("promoted") / r.requests,
    promotedA: (a.gc.promoted - before[0].promoted) / r.requests,
    promotedB: (b.gc.promoted - before[1].promoted) / r.requests,
    gcPauseUsPerRequest: (delta("pauseMs") * 1000) / r.requests,
    scavengesPerSecond: delta("scavenges") / cpu.wallS,
    markCompacts: delta("markCompacts"),
  };
}
