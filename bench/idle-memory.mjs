/**
 * Idle memory of node processes, as the request/response suite reads it: starts the benchmark's node pair (B
 * serves echo; A, seeded with B, waits until it routes echo to B), waits `--settle-ms` (1500, as `npm run bench`),
 * and reads each node's RSS from /proc/PID/status — VmRSS, and its anonymous and file-backed parts (the
 * file-backed part is mostly the node binary's own pages). With --compare-bin, pairs of another build's
 * bin/agent-mesh.js run interleaved with this build's (one pair at a time, the order alternating), so both see
 * the same machine. Figures: median [min–max] over `--runs` pairs.
 *
 * Usage: node bench/idle-memory.mjs [--runs N] [--settle-ms MS] [--compare-bin FILE] [--env NAME=VALUE]...
 * (--env sets a variable for the nodes of both builds, e.g. --env AGENT_MESH_LEAN_IDLE=false.)
 */
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { startPair } from "./lib/pair.mjs";
import { BIN, Processes } from "./lib/processes.mjs";

const { values: v } = parseArgs({
  options: {
    runs: { type: "string", default: "5" },
    "settle-ms": { type: "string", default: "1500" },
    "compare-bin": { type: "string" },
    env: { type: "string", multiple: true, default: [] },
  },
});
const runs = Number(v.runs);
const settleMs = Number(v["settle-ms"]);
if (!Number.isInteger(runs) || runs < 1 || !Number.isInteger(settleMs) || settleMs < 0) {
  process.stderr.write("usage: node bench/idle-memory.mjs [--runs N] [--settle-ms MS] [--compare-bin FILE] [--env NAME=VALUE]...\n");
  process.exit(2);
}
if (v["compare-bin"] !== undefined && !existsSync(v["compare-bin"])) {
  process.stderr.write(`idle-memory: no such file: ${v["compare-bin"]}\n`);
  process.exit(2);
}
const env = Object.fromEntries(v.env.map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]));
const bins = [BIN, ...(v["compare-bin"] === undefined ? [] : [resolve(v["compare-bin"])])];

/** VmRSS, RssAnon and RssFile of `pid`, MB. */
function memory(pid) {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (field) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)[1]) / 1024;
  return { rss: kb("VmRSS"), anon: kb("RssAnon"), file: kb("RssFile") };
}

const procs = new Processes();
const samples = new Map(bins.map((b) => [b, { A: [], B: [] }]));
for (let r = 0; r < runs; r++) {
  for (const bin of r % 2 === 0 ? bins : [...bins].reverse()) {
    const pair = await startPair(procs, `idle${r}`, env, bin);
    await new Promise((done) => setTimeout(done, settleMs));
    samples.get(bin).A.push(memory(pair.a.pid));
    samples.get(bin).B.push(memory(pair.b.pid));
    await procs.stop(pair.a);
    await procs.stop(pair.b);
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
const fmt = (xs) => `${median(xs).toFixed(1)} [${Math.min(...xs).toFixed(1)}–${Math.max(...xs).toFixed(1)}]`;
process.stdout.write(`Idle RSS ${settleMs} ms after the pair is up, MB: median [min–max] of ${runs} pairs${Object.keys(env).length > 0 ? ` (env ${v.env.join(" ")})` : ""}\n`);
for (const [bin, s] of samples) {
  process.stdout.write(`${bin === BIN ? "this build" : `compare build ${bin}`}\n`);
  for (const node of ["A", "B"]) {
    const xs = s[node];
    process.stdout.write(`  node ${node}: VmRSS ${fmt(xs.map((x) => x.rss))}  anon ${fmt(xs.map((x) => x.anon))}  file-backed ${fmt(xs.map((x) => x.file))}\n`);
  }
}
process.exit(0);
