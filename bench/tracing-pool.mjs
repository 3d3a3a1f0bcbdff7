/**
 * The tracing goals over several full runs: reads the JSON that `npm run bench -- --json FILE` writes, takes
 * each run's per-round ratios of the span ring and of the OTLP export to tracing off (the tracing rounds' req/s,
 * round by round: lib/stats.mjs pairedRatios), and prints each run's median and the median of all their rounds
 * pooled, with its distribution-free 95 % interval. One run's 13 rounds cannot tell 0.88× from 0.91× on a
 * shared machine; several runs pooled can. Then how often one run would pass the goal (its median at least
 * GOAL): the share of RESAMPLES runs, each as many rounds as a run has (the median count), drawn with
 * replacement from the pooled rounds (seeded, so the figure repeats).
 *
 *   node bench/tracing-pool.mjs results/run-A.json results/run-B.json ...
 *
 * Exits 2 with a message when given no file, and 1 when a file cannot be read or holds no tracing rounds.
 */
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { seededRandom } from "../dist/src/protocol/random.js";
import { num, table, TRACING_GOAL as GOAL } from "./lib/report.mjs";
import { pairedRatios, spread } from "./lib/stats.mjs";

/** The tracing figures of a full run's JSON, by mode, and the name they have there. */
const MODES = [
  ["span ring", "routed-ring@64"],
  ["OTLP export", "routed-otlp@64"],
];
const OFF = "routed-off@64";
/** Runs resampled for the share of runs that pass. */
const RESAMPLES = 20_000;

const files = process.argv.slice(2);
if (files.length === 0 || files.some((f) => f === "-h" || f === "--help")) {
  process.stderr.write("usage: node bench/tracing-pool.mjs RUN.json [RUN.json ...]  (the JSON of `npm run bench -- --json FILE`)\n");
  process.exit(files.length === 0 ? 2 : 0);
}

/** `file`'s tracing rounds: for each mode, its runs and tracing off's of the same rounds, as `{ rps }`, aligned. */
function rounds(file) {
  let results;
  try {
    results = JSON.parse(readFileSync(file, "utf8")).requestResponse?.results;
  } catch (err) {
    throw new Error(`${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const off = results?.[OFF]?.rpsRuns;
  if (!Array.isArray(off)) throw new Error(`${file}: no tracing rounds (${OFF}); a --quick run has none`);
  return MODES.map(([, key]) => {
    const on = results[key]?.rpsRuns ?? [];
    const n = Math.min(on.length, off.length);
    return { on: on.slice(0, n).map((rps) => ({ rps })), off: off.slice(0, n).map((rps) => ({ rps })) };
  });
}

/** "0.893× [0.879–0.900]": the median of the rounds' ratios and its 95 % interval (none below 6 rounds). */
function ratioText({ on, off }) {
  if (on.length === 0) return "";
  const r = pairedRatios(on, off, "rps");
  return `${num(r.median, 3)}×${r.ci95 === undefined ? "" : ` [${num(r.ci95[0], 3)}–${num(r.ci95[1], 3)}]`}`;
}

/** The middle value of `values` (the upper one of an even count: a count of rounds). */
function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1];
}

/** The share of RESAMPLES runs of `rounds` rounds, drawn with replacement from `pooled`'s ratios, whose median is at least GOAL. */
function passShare({ on, off }, rounds) {
  const ratios = on.map((r, i) => r.rps / off[i].rps).filter((x) => Number.isFinite(x));
  if (ratios.length === 0) return NaN;
  const random = seededRandom(1);
  const run = new Array(rounds);
  let passed = 0;
  for (let t = 0; t < RESAMPLES; t++) {
    for (let k = 0; k < rounds; k++) run[k] = ratios[Math.floor(random() * ratios.length)];
    if (spread(run).median >= GOAL) passed++;
  }
  return passed / RESAMPLES;
}

try {
  const runs = files.map((file) => ({ file, byMode: rounds(file) }));
  const count = (r) => Math.max(...r.byMode.map((m) => m.off.length));
  const rows = runs.map((r) => [basename(r.file), String(count(r)), ...r.byMode.map(ratioText)]);
  const pooled = MODES.map((_, m) => ({ on: runs.flatMap((r) => r.byMode[m].on), off: runs.flatMap((r) => r.byMode[m].off) }));
  rows.push([`${runs.length} runs pooled`, String(runs.reduce((a, r) => a + count(r), 0)), ...pooled.map(ratioText)]);
  process.stdout.write(`tracing ÷ tracing off, routed conc 64: the median of the rounds' ratios [its 95 % interval]\n${table(["run", "rounds", ...MODES.map(([name]) => name)], rows)}\n`);
  const perRun = median(runs.map(count));
  const shares = pooled.map((p, m) => `${MODES[m][0]} ${num(passShare(p, perRun) * 100, 0)} %`);
  process.stdout.write(`a run of ${perRun} rounds reaches ≥ ${GOAL}× in: ${shares.join(", ")} (${num(RESAMPLES)} runs resampled from the pooled rounds)\n`);
} catch (err) {
  process.stderr.write(`tracing-pool: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
