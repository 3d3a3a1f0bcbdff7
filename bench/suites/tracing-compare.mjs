/**
 * The cost of tracing, before and after a change, from one run: routed SubmitTask (client → A → link → B →
 * back) at concurrency 64 on node pairs of this build and, with --compare-bin, of another build, each with
 * tracing off (OTEL_SDK_DISABLED=true), as shipped (span ring only) and exporting every span over OTLP/HTTP
 * to a local receiver (always_on, batch export); with --modes, also ring-async and otlp-async (the same with
 * AGENT_MESH_TRACE_ASYNC_CONTEXT=true: the AsyncLocalStorage context manager, not the default before Node 24).
 * Every configuration gets --warmup-ms of load first (default 15000, as the full benchmark's tracing pairs:
 * an exporting node's CPU per request settles only after ~14 s; bench/README.md), then runs --runs times,
 * interleaved (the order rotates each round and reverses every other round: lib/stats.mjs roundOrder), so
 * the drift of a shared machine spreads over all of them and no configuration always follows the same one.
 * Besides the ratios to "off" (of the medians, and the median of each round's ratio: lib/stats.mjs
 * pairedRatios), the table gives the tracing cost in CPU microseconds per request (all
 * processes of the configuration, the receiver included when exporting, minus the same build's "off"), and
 * each process's CPU per request.
 *
 *   node bench/suites/tracing-compare.mjs [--compare-bin ../old/bin/agent-mesh.js] [--runs 5] [--run-ms 1000] [--warmup-ms 15000]
 *                                         [--modes off,ring,otlp,ring-async,otlp-async] [--concurrency 64] [--json FILE]
 *
 * Needs `npm run build` (this build's dist/) and Linux /proc. Every process it starts is stopped at the end.
 */
import { writeFileSync } from "node:fs";
import { startPair, startReceiver, submitLoad } from "../lib/pair.mjs";
import { ask, BIN, Processes } from "../lib/processes.mjs";
import { compareOptions, elapsedLog } from "../lib/compare-options.mjs";
import { cpuMeter } from "../lib/proc-stats.mjs";
import { machine, num, pairedText, sp, table } from "../lib/report.mjs";
import { pairedRatios, roundOrder, spread } from "../lib/stats.mjs";

const MODES = {
  off: "tracing off (OTEL_SDK_DISABLED=true)",
  ring: "span ring only (default)",
  otlp: "ring + OTLP/HTTP export, 100 %",
  "ring-async": "ring, AsyncLocalStorage context",
  "otlp-async": "ring + OTLP, AsyncLocalStorage context",
};

const { runs, runMs, warmupMs, concurrency, modes, compareBin, json } = compareOptions("tracing-compare", MODES, { runs: 5, runMs: 1000, warmupMs: 15_000, modes: "off,ring,otlp" });
const { log, atStart } = elapsedLog();
const procs = new Processes();
let exitCode = 0;
try {
  const loadgen = await procs.startHelper("loadgen", "lib/loadgen.mjs");
  const sink = modes.some((m) => m.startsWith("otlp")) ? await startReceiver(procs) : undefined;
  const otlp = { OTEL_EXPORTER_OTLP_ENDPOINT: sink?.ready.endpoint, OTEL_TRACES_SAMPLER: "always_on" };
  const als = { AGENT_MESH_TRACE_ASYNC_CONTEXT: "true" };
  const envOf = { off: { OTEL_SDK_DISABLED: "true" }, ring: {}, otlp, "ring-async": als, "otlp-async": { ...otlp, ...als } };
  const builds = compareBin === undefined ? [["this", BIN]] : [["compare", compareBin], ["this", BIN]];
  const configs = [];
  for (const [build, bin] of builds) {
    for (const mode of modes) {
      const pair = await startPair(procs, `${build}-${mode}`, envOf[mode], bin);
      configs.push({ build, mode, pids: { loadgen: loadgen.pid, A: pair.a.pid, B: pair.b.pid, ...(mode.startsWith("otlp") ? { sink: sink.pid } : {}) }, go: (ms) => submitLoad(loadgen, pair.a, concurrency, ms) });
    }
  }
  log(`${configs.length} pairs up; ${runs} runs of ${runMs} ms each after ${warmupMs} ms of warm-up`);
  const samples = new Map(configs.map((c) => [c, []]));
  for (const cfg of configs) await measure(cfg, warmupMs);
  for (let r = 0; r < runs; r++) {
    for (const cfg of roundOrder(configs, r)) samples.get(cfg).push(await measure(cfg, runMs));
    log(`round ${r + 1}/${runs} done`);
  }
  const sinkCounts = sink !== undefined ? await ask(sink, { op: "counts" }, 5000) : undefined;
  const offOf = (cfg) => configs.find((x) => x.build === cfg.build && x.mode === "off");
  const results = configs.map((cfg) => ({
    build: cfg.build,
    mode: cfg.mode,
    ...summarise(samples.get(cfg)),
    perRoundRatio: offOf(cfg) === undefined || cfg.mode === "off" ? undefined : pairedRatios(samples.get(cfg), samples.get(offOf(cfg)), "rps"),
  }));
  const atEnd = machine();
  const rows = results.map((r) => {
    const off = results.find((x) => x.build === r.build && x.mode === "off");
    return [
      r.build,
      MODES[r.mode],
      sp(r.rps, 0),
      off ? `${num(r.rps.median / off.rps.median, 2)}×` : "",
      r.perRoundRatio === undefined ? "" : pairedText(r.perRoundRatio),
      sp(r.p50Us),
      num(r.cpuUsPerRequest.median, 1),
      off ? `${num(r.cpuUsPerRequest.median / off.cpuUsPerRequest.median, 2)}×` : "",
      off && r.mode !== "off" ? num(r.cpuUsPerRequest.median - off.cpuUsPerRequest.median, 1) : "",
      Object.entries(r.perProcess).map(([name, us]) => `${name} ${num(us)}`).join(", "),
    ];
  });
  const out = [
    `tracing cost, routed SubmitTask at concurrency ${concurrency}, 64-byte payload; median of ${runs} runs of ${runMs} ms [min–max]`,
    `load average at start ${atStart.loadAverage.join(" ")}, at end ${atEnd.loadAverage.join(" ")}`,
    ...(compareBin !== undefined ? [`compare build: ${compareBin}`] : []),
    table(["build", "tracing", "req/s [min–max]", "÷ off", "÷ off per round", "p50 µs", "CPU µs/req", "÷ off", "+ µs/req", "CPU µs/req by process (medians)"], rows),
    ...(sinkCounts !== undefined ? [`spans received by the OTLP receiver: ${sinkCounts.spans} in ${sinkCounts.requests} requests (${num(sinkCounts.bytes / 1e6, 1)} MB)`] : []),
  ];
  process.stdout.write(`${out.join("\n")}\n`);
  if (json !== undefined) {
    writeFileSync(json, `${JSON.stringify({ command: `node bench/suites/tracing-compare.mjs ${process.argv.slice(2).join(" ")}`, machine: { ...atStart, loadAverageAtEnd: atEnd.loadAverage }, runs, runMs, concurrency, compareBin, results, sink: sinkCounts }, null, 2)}\n`);
  }
} catch (err) {
  log(`tracing-compare: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  exitCode = 1;
}
await procs.stopAll();
process.exit(exitCode);



/** One run of `cfg` for `ms`: the load generator's figures and the CPU time of every process per request. */
async function measure(cfg, ms) {
  const meter = cpuMeter(cfg.pids);
  const r = await cfg.go(ms);
  const cpu = meter.stop();
  if (r.requests === 0) throw new Error(`${cfg.build} ${cfg.mode}: no request completed (${r.firstError ?? "no error reported"})`);
  const perProcess = Object.fromEntries(Object.entries(cpu.percent).map(([name, p]) => [name, ((p / 100) * cpu.wallS * 1e6) / r.requests]));
  const cpuUsPerRequest = Object.values(perProcess).reduce((a, x) => a + x, 0);
  return { rps: r.rps, p50Us: r.p50Us, cpuUsPerRequest, perProcess, errors: r.errors };
}

/** Median and range of each figure over the runs. */
function summarise(list) {
  return {
    rps: spread(list.map((x) => x.rps)),
    p50Us: spread(list.map((x) => x.p50Us)),
    cpuUsPerRequest: spread(list.map((x) => x.cpuUsPerRequest)),
    perProcess: Object.fromEntries(Object.keys(list[0].perProcess).map((name) => [name, spread(list.map((x) => x.perProcess[name])).median])),
    errors: list.reduce((a, x) => a + x.errors, 0),
  };
}
