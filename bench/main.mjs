/**
 * `npm run bench`: the agent-mesh benchmarks (see bench/README.md). Builds nothing itself: `npm run bench`
 * runs `npm run build` first, and this script imports dist/.
 *
 * Usage: node bench/main.mjs [--quick] [--json FILE] [--only NAME,...] [--runs N] [--run-ms MS]
 *                            [--soak-seconds S]
 * Exit codes: 0 when every benchmark ran (goals may still FAIL: see the PASS/FAIL lines), 1 when one could
 * not run, 2 on bad usage.
 */
import { existsSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { procAvailable } from "./lib/proc-stats.mjs";
import { Processes } from "./lib/processes.mjs";
import { clusterSuite } from "./suites/cluster.mjs";
import { requestResponseSuite } from "./suites/request-response.mjs";
import { clusterTable, compareTable, goalLines, goals, machine, memoryLines, receiverLine, requestResponseTable, tracingTable } from "./lib/report.mjs";

/** The benchmark groups of a full run. */
export const BENCHMARKS = ["rr", "tracing", "soak", "patterns", "gossip"];
/** Groups --only also accepts, outside the full run. */
export const EXTRA_BENCHMARKS = ["link"];

const USAGE = `Usage: npm run bench -- [options]     (or, after npm run build: node bench/main.mjs [options])

Runs every benchmark side by side on loopback (clients and servers in separate processes), prints the
tables and the PASS/FAIL lines of the goals, and stops every process it started.

Options:
  --quick             fewer and shorter runs (2 runs of 0.4 s, a 10 s soak): a fast check, not a measurement
  --json FILE         also write the results, the machine and the goals as JSON to FILE
  --only NAME,...     run only these benchmarks: ${[...BENCHMARKS, ...EXTRA_BENCHMARKS].join(", ")}
                        rr        request/response: TCP echo, grpc-js unary echo, the mesh (routed, direct,
                                  link) at concurrency 1 and 64, CPU and RSS
                        tracing   routed at concurrency 64 with tracing off / span ring / OTLP export
                        soak      sustained routed load at concurrency 64, RSS sampled every second
                        patterns  consensus and auction with 5 peers, consensus with a frozen voter
                        gossip    load-change and capability dissemination, failure detection (10 processes)
                        link      only what the link goals compare (not in the full run): TCP echo, grpc-js
                                  unary echo, the link at concurrency 1 and 64 with tracing as shipped and off
                                  (OTEL_SDK_DISABLED=true); with --compare-bin, the same link rows of that build
  --runs N            repetitions of each measurement (default 5; --quick 2)
  --run-ms MS         length of one request/response run (default 1000; --quick 400)
  --tracing-rounds N  more rounds of the three tracing configurations alone, after the request/response
                      rounds (default 8; --quick 0): their ratios rest on more samples than one-second runs
                      give; the tracing goals take the median of every round's ratio to tracing off
  --tracing-run-ms MS length of one run of those rounds (default 2000)
  --tracing-warmup-ms MS  load on each tracing pair before any of its runs is measured (default 15000;
                      --quick 300): a pair exporting spans reaches its steady rate only after ~14 s of load
  --soak-seconds S    length of the soak (default 45; --quick 10; the goal's full soak is 300)
  --compare-bin FILE  also run routed and link (conc 1 and 64; with --only link: link, tracing as shipped and
                      off) on nodes of another build's bin/agent-mesh.js, interleaved with this build's:
                      before/after figures of a change from one run
  -h, --help          this text`;

/** Parses argv; returns the options, or exits 2 with the usage on bad usage. */
function options(argv) {
  let v;
  try {
    ({ values: v } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        quick: { type: "boolean", default: false },
        "tracing-rounds": { type: "string" },
        "tracing-run-ms": { type: "string" },
        "tracing-warmup-ms": { type: "string" },
        json: { type: "string" },
        only: { type: "string" },
        runs: { type: "string" },
        "run-ms": { type: "string" },
        "soak-seconds": { type: "string" },
        "compare-bin": { type: "string" },
        help: { type: "boolean", short: "h", default: false },
      },
    }));
  } catch (err) {
    usageError(err.message);
  }
  if (v.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const only = v.only === undefined ? BENCHMARKS : v.only.split(",").map((s) => s.trim()).filter(Boolean);
  const known = [...BENCHMARKS, ...EXTRA_BENCHMARKS];
  const unknown = only.find((n) => !known.includes(n));
  if (unknown !== undefined || only.length === 0) usageError(`--only: ${unknown === undefined ? "expected benchmark names" : `unknown benchmark "${unknown}"`} (one of ${known.join(", ")})`);
  if (v.json === "") usageError("--json: expected a file name");
  const int = (text, name, min, max, fallback) => {
    if (text === undefined) return fallback;
    const n = Number(text);
    if (!Number.isInteger(n) || n < min || n > max) usageError(`--${name}: expected an integer from ${min} to ${max}, got "${text}"`);
    return n;
  };
  if (v["compare-bin"] !== undefined && !existsSync(v["compare-bin"])) usageError(`--compare-bin: no such file: ${v["compare-bin"]}`);
  const quick = v.quick;
  return {
    quick,
    json: v.json,
    only: new Set(only),
    runs: int(v.runs, "runs", 1, 50, quick ? 2 : 5),
    runMs: int(v["run-ms"], "run-ms", 100, 60_000, quick ? 400 : 1000),
    tracingRounds: int(v["tracing-rounds"], "tracing-rounds", 0, 50, quick ? 0 : 8),
    tracingRunMs: int(v["tracing-run-ms"], "tracing-run-ms", 100, 60_000, 2000),
    tracingWarmupMs: int(v["tracing-warmup-ms"], "tracing-warmup-ms", 100, 120_000, quick ? 300 : 15_000),
    soakSeconds: int(v["soak-seconds"], "soak-seconds", 2, 3600, quick ? 10 : 45),
    compareBin: v["compare-bin"] === undefined ? undefined : resolve(v["compare-bin"]),
  };
}

/** Prints `message` and the usage to stderr and exits 2. */
function usageError(message) {
  process.stderr.write(`bench: ${message}\n\n${USAGE}\n`);
  process.exit(2);
}

/** Runs the selected benchmarks and reports; resolves with the exit code. */
async function main() {
  const opts = options(process.argv.slice(2));
  if (!existsSync(fileURLToPath(new URL("../dist/src/index.js", import.meta.url)))) {
    process.stderr.write("bench: dist/ is missing: run `npm run build` first (npm run bench does)\n");
    return 1;
  }
  if (!procAvailable()) {
    process.stderr.write("bench: needs Linux /proc to read CPU time and RSS of the processes it starts\n");
    return 1;
  }
  const started = performance.now();
  const log = (line) => process.stderr.write(`[${((performance.now() - started) / 1000).toFixed(1).padStart(5)} s] ${line}\n`);
  const procs = new Processes();
  // Hard bound on the whole run: whatever hangs, every process is stopped.
  const watchdog = setTimeout(() => {
    log("bench: the run exceeded its 20-minute bound; stopping");
    void procs.stopAll(2000).finally(() => process.exit(1));
  }, 20 * 60_000);
  watchdog.unref();
  const ctx = {
    procs,
    log,
    only: opts.only,
    runs: opts.runs,
    runMs: opts.runMs,
    tracingRounds: opts.tracingRounds,
    tracingRunMs: opts.tracingRunMs,
    tracingWarmupMs: opts.tracingWarmupMs,
    warmupMs: opts.quick ? 300 : 1000,
    settleMs: opts.quick ? 500 : 1500,
    soakSeconds: opts.soakSeconds,
    compareBin: opts.compareBin,
    rounds: opts.quick ? 10 : 40,
    patternWarmupMs: opts.quick ? 500 : 2000,
    frozenRuns: opts.quick ? 1 : 3,
  };
  const report = {
    tool: "agent-mesh bench",
    command: `node bench/main.mjs ${process.argv.slice(2).join(" ")}`.trim(),
    startedAt: new Date().toISOString(),
    mode: opts.quick ? "quick" : "full",
    options: { ...opts, only: [...opts.only] },
    machine: machine(),
  };
  log(`machine: ${report.machine.cpuModel}, ${report.machine.cores} cores, Node ${report.machine.node}, load average ${report.machine.loadAverage.join(" ")}`);
  let rr;
  let cluster;
  try {
    if (["rr", "tracing", "soak", "link"].some((n) => opts.only.has(n)) || opts.compareBin !== undefined) rr = await requestResponseSuite(ctx);
    await procs.stopAll();
    if (["patterns", "gossip"].some((n) => opts.only.has(n))) cluster = await clusterSuite(ctx);
  } catch (err) {
    log(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    await procs.stopAll(2000);
    return 1;
  }
  await procs.stopAll();
  clearTimeout(watchdog);
  const elapsedS = (performance.now() - started) / 1000;
  report.elapsedS = elapsedS;
  report.machine.loadAverageAtEnd = machine().loadAverage;
  report.requestResponse = rr;
  report.cluster = cluster;
  report.goals = goals(rr, cluster, { elapsedS: opts.quick || opts.only.size < BENCHMARKS.length ? undefined : elapsedS });

  const m = report.machine;
  const out = [];
  out.push(`agent-mesh bench (${report.mode}) — ${m.cpuModel}, ${m.cores} cores, ${m.memoryMb} MB, Node ${m.node}, ${m.os}`);
  out.push(`load average at start ${m.loadAverage.join(" ")}, at end ${m.loadAverageAtEnd.join(" ")}${m.loadAverage[0] > m.cores ? "  (busy machine: figures are noisy)" : ""}`);
  if (rr !== undefined) {
    out.push("", `Request/response, ${rr.payloadBytes}-byte payload each way, loopback; median of ${rr.runs} runs of ${rr.runMs} ms [min–max]`);
    if (opts.only.has("rr") || opts.only.has("link")) out.push(requestResponseTable(rr));
    if (opts.compareBin !== undefined) out.push("", `Compare build: ${opts.compareBin}`, compareTable(rr));
    if (opts.only.has("tracing")) {
      const extra = rr.tracing.rounds > 0 ? ` and ${rr.tracing.rounds} rounds of the three alone, runs of ${rr.tracing.runMs} ms (medians of all ${rr.runs + rr.tracing.rounds})` : "";
      out.push("", `Tracing: ${rr.runs} runs of ${rr.runMs} ms among the other configurations${extra}`, tracingTable(rr), receiverLine(rr.tracing));
    }
  }
  if (cluster !== undefined) out.push("", `Mesh of real node processes; median of ${opts.runs} runs [min–max]`, clusterTable(cluster));
  out.push("", "Memory", memoryLines(rr, cluster));
  out.push("", "Goals", goalLines(report.goals));
  process.stdout.write(`${out.join("\n")}\n`);
  if (opts.json !== undefined) {
    writeFileSync(opts.json, `${JSON.stringify(report, null, 2)}\n`);
    log(`results written to ${opts.json}`);
  }
  log(`done in ${elapsedS.toFixed(0)} s`);
  return 0;
}

process.exitCode = await main();
