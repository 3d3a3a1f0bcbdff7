/**
 * What the interleaved comparison scripts (suites/tracing-compare.mjs, suites/link-gc.mjs) share: their options
 * (--compare-bin, --runs, --run-ms, --warmup-ms, --concurrency, --modes, --json), checked with a usage message
 * and exit code 2, the Linux /proc check, and a log of elapsed seconds on stderr that starts with the machine.
 */
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { procAvailable } from "./proc-stats.mjs";
import { machine } from "./report.mjs";

/**
 * The options of script `name` whose modes are the keys of `modes`; `defaults` gives runs, runMs, warmupMs
 * (the load each configuration gets before its runs are measured) and the default mode list. Exits 2 on a
 * bad option, 1 without /proc.
 */
export function compareOptions(name, modes, defaults) {
  const { values } = parseArgs({
    options: {
      "compare-bin": { type: "string" },
      runs: { type: "string", default: String(defaults.runs) },
      "run-ms": { type: "string", default: String(defaults.runMs) },
      "warmup-ms": { type: "string", default: String(defaults.warmupMs) },
      concurrency: { type: "string", default: "64" },
      modes: { type: "string", default: defaults.modes },
      json: { type: "string" },
    },
  });
  const runs = Number(values.runs);
  const runMs = Number(values["run-ms"]);
  const warmupMs = Number(values["warmup-ms"]);
  const concurrency = Number(values.concurrency);
  const chosen = values.modes.split(",").map((m) => m.trim());
  const compareBin = values["compare-bin"] === undefined ? undefined : resolve(values["compare-bin"]);
  if (!Number.isInteger(runs) || runs < 1 || !Number.isInteger(runMs) || runMs < 100 || !Number.isInteger(warmupMs) || warmupMs < 100 || warmupMs > 600_000 || !Number.isInteger(concurrency) || concurrency < 1 || chosen.some((m) => !(m in modes))) {
    process.stderr.write(`${name}: --runs ≥ 1, --run-ms ≥ 100, --warmup-ms from 100 to 600000, --concurrency ≥ 1, --modes of ${Object.keys(modes).join(", ")}\n`);
    process.exit(2);
  }
  if (compareBin !== undefined && !existsSync(compareBin)) {
    process.stderr.write(`${name}: --compare-bin: no such file: ${compareBin}\n`);
    process.exit(2);
  }
  if (!procAvailable()) {
    process.stderr.write(`${name}: needs Linux /proc\n`);
    process.exit(1);
  }
  return { runs, runMs, warmupMs, concurrency, modes: chosen, compareBin, json: values.json };
}

/** A log of lines on stderr prefixed with the seconds since this call, its first line the machine; and that machine. */
export function elapsedLog() {
  const started = performance.now();
  const log = (line) => process.stderr.write(`[${((performance.now() - started) / 1000).toFixed(1).padStart(5)} s] ${line}\n`);
  const atStart = machine();
  log(`machine: ${atStart.cpuModel}, ${atStart.cores} cores, Node ${atStart.node}, load average ${atStart.loadAverage.join(" ")}`);
  return { log, atStart };
}
