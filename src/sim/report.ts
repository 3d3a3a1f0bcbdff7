/**
 * The simulator's report: case results grouped into one row per (N, loss rate), the table `npm run sim` prints,
 * and the check of the goals of issue 3 against those rows. Pure functions of the results, so the report can be
 * tested without running a simulation.
 */
import type { CaseResult } from "./experiment.js";
import { summarize, type Summary } from "./stats.js";

/** The fault-free watch of one row, summed over its meshes. */
export interface WatchSummary {
  /** Meshes watched. */
  meshes: number;
  /** Simulated minutes watched per mesh. */
  minutes: number;
  /** Probes of live members that failed, in all. */
  falseSuspicions: number;
  /** Running members declared dead, in all. */
  falseDeaths: number;
  /** Membership messages per node per simulated second (mean over meshes). */
  membershipPerNodePerSec: number;
  /** State messages per node per simulated second (mean over meshes). */
  statePerNodePerSec: number;
}

/** One row of the report. */
export interface Row {
  /** Nodes. */
  n: number;
  /** Random message loss. */
  lossRate: number;
  /** Meshes simulated. */
  meshes: number;
  /** Gossip rounds until an update reached every node. */
  updateRounds: Summary;
  /** Simulated ms until an update reached every node. */
  updateMs: Summary;
  /** Simulated ms from a crash until every survivor held the node dead. */
  detectMs: Summary;
  /** Simulated ms from a freeze until every other node held the node dead. */
  freezeMs: Summary;
  /** Simulated ms from the end of a freeze until every node saw every node alive again. */
  rejoinMs: Summary;
  /** The fault-free watch, when one ran. */
  watch?: WatchSummary;
  /** Running members declared dead outside the watch (during joins, updates and crash trials). */
  falseDeathsElsewhere: number;
  /** The same by phase of the experiment. */
  falseDeathsByPhase: Record<string, number>;
  /** Simulated seconds, all meshes together. */
  simulatedSec: number;
}

/** Groups `results` into rows, by N then loss rate. */
export function summarizeRows(results: readonly CaseResult[]): Row[] {
  const groups = new Map<string, CaseResult[]>();
  for (const r of results) {
    const key = `${r.spec.n}|${r.spec.lossRate}`;
    const g = groups.get(key);
    if (g === undefined) groups.set(key, [r]);
    else g.push(r);
  }
  const rows: Row[] = [];
  for (const g of groups.values()) {
    const watched = g.filter((r) => r.watch !== undefined);
    const w = watched.map((r) => r.watch as NonNullable<CaseResult["watch"]>);
    rows.push({
      n: g[0].spec.n,
      lossRate: g[0].spec.lossRate,
      meshes: g.length,
      updateRounds: summarize(g.flatMap((r) => r.updates.map((u) => u.rounds))),
      updateMs: summarize(g.flatMap((r) => r.updates.map((u) => u.ms))),
      detectMs: summarize(g.flatMap((r) => r.detections)),
      freezeMs: summarize(g.flatMap((r) => r.freezeDetections)),
      rejoinMs: summarize(g.flatMap((r) => r.rejoins)),
      watch:
        w.length === 0
          ? undefined
          : {
              meshes: w.length,
              minutes: Math.min(...w.map((x) => x.ms)) / 60_000,
              falseSuspicions: w.reduce((s, x) => s + x.falseSuspicions, 0),
              falseDeaths: w.reduce((s, x) => s + x.falseDeaths, 0),
              membershipPerNodePerSec: w.reduce((s, x) => s + x.membershipPerNodePerSec, 0) / w.length,
              statePerNodePerSec: w.reduce((s, x) => s + x.statePerNodePerSec, 0) / w.length,
            },
      falseDeathsElsewhere: g.reduce((s, r) => s + r.falseDeathsElsewhere, 0),
      falseDeathsByPhase: g.reduce<Record<string, number>>((sum, r) => {
        for (const [name, count] of Object.entries(r.falseDeathsByPhase)) sum[name] = (sum[name] ?? 0) + count;
        return sum;
      }, {}),
      simulatedSec: g.reduce((s, r) => s + r.simulatedSec, 0),
    });
  }
  return rows.sort((a, b) => a.n - b.n || a.lossRate - b.lossRate);
}

/** A percentage with up to two decimals ("1 %", "0.5 %"). */
export function percent(rate: number): string {
  return `${Number((rate * 100).toFixed(2))} %`;
}

function num(x: number, digits: number): string {
  if (Number.isNaN(x)) return "-";
  if (x === Infinity) return "never";
  return x.toFixed(digits);
}

/** Lays out `cells` as a table: columns padded to their widest cell, numbers right-aligned. */
export function layout(header: readonly string[], cells: readonly (readonly string[])[]): string {
  const all = [header, ...cells];
  const widths = header.map((_, c) => Math.max(...all.map((r) => r[c].length)));
  const line = (r: readonly string[]) => r.map((cell, c) => (c === 0 ? cell.padStart(widths[c]) : cell.padStart(widths[c]))).join("  ");
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...cells.map(line)].join("\n");
}

/** The table: one line per row. */
export function formatTable(rows: readonly Row[]): string {
  const header = [
    "N",
    "loss",
    "meshes",
    "update rounds",
    "update ms",
    "crashes",
    "dead s med",
    "p99",
    "max",
    "freezes",
    "dead s p99",
    "back s max",
    "watched",
    "false susp.",
    "false deaths",
    "msgs/node/s",
  ];
  const cells = rows.map((r) => [
    String(r.n),
    percent(r.lossRate),
    String(r.meshes),
    `${num(r.updateRounds.median, 0)} / ${num(r.updateRounds.max, 0)}`,
    `${num(r.updateMs.median, 0)} / ${num(r.updateMs.max, 0)}`,
    String(r.detectMs.count),
    num(r.detectMs.median / 1000, 2),
    num(r.detectMs.p99 / 1000, 2),
    num(r.detectMs.max / 1000, 2),
    String(r.freezeMs.count),
    num(r.freezeMs.p99 / 1000, 2),
    num(r.rejoinMs.max / 1000, 2),
    r.watch === undefined ? "-" : `${r.watch.meshes} × ${num(r.watch.minutes, 1)} min`,
    r.watch === undefined ? "-" : String(r.watch.falseSuspicions),
    r.watch === undefined ? "-" : String(r.watch.falseDeaths),
    r.watch === undefined
      ? "-"
      : `${num(r.watch.membershipPerNodePerSec + r.watch.statePerNodePerSec, 1)} (${num(r.watch.membershipPerNodePerSec, 1)}+${num(r.watch.statePerNodePerSec, 1)})`,
  ]);
  return layout(header, cells);
}

/** One goal's verdict. */
export interface GoalCheck {
  /** The goal, as issue 3 states it. */
  goal: string;
  /** PASS, FAIL, PARTIAL (no miss, but measured less than the goal asks), or NOT MEASURED (no row it applies to). */
  verdict: "PASS" | "FAIL" | "PARTIAL" | "NOT MEASURED";
  /** One line per row checked, with the numbers. */
  details: string[];
}

/** The bound of goal 3: ceil(log2 N) + 5 rounds. */
export function roundsBound(n: number): number {
  return Math.ceil(Math.log2(n)) + 5;
}

function verdict(checks: boolean[], complete = true): GoalCheck["verdict"] {
  if (checks.length === 0) return "NOT MEASURED";
  if (!checks.every((c) => c)) return "FAIL";
  return complete ? "PASS" : "PARTIAL";
}

/** Checks the goals of issue 3 against the rows; `minutes` is the watch the goal asks for (10). */
export function checkGoals(rows: readonly Row[], minutes = 10): GoalCheck[] {
  const detect = rows.filter((r) => r.detectMs.count > 0 || r.freezeMs.count > 0);
  const detectOk = detect.map((r) => (r.detectMs.count === 0 || r.detectMs.p99 <= 3000) && (r.freezeMs.count === 0 || r.freezeMs.p99 <= 3000));
  const watched = rows.filter((r) => r.watch !== undefined);
  const watchOk = watched.map((r) => (r.watch as WatchSummary).falseDeaths === 0);
  const large = rows.filter((r) => r.n >= 1000 && r.updateRounds.count > 0);
  const spreadOk = large.map((r) => r.updateRounds.median <= roundsBound(r.n));
  const lossRates = [...new Set(rows.map((r) => r.lossRate))].map(percent).join(" and ");
  const elsewhere = rows.filter((r) => r.falseDeathsElsewhere > 0);
  return [
    {
      goal: "a crashed agent is marked dead by every survivor within 3 s (p99 over runs), and a frozen one within the same bound once frozen",
      verdict: verdict(detectOk),
      details: detect.map(
        (r, i) =>
          `${detectOk[i] ? "ok  " : "MISS"} N=${r.n} loss ${percent(r.lossRate)}: crash p99 ${num(r.detectMs.p99 / 1000, 2)} s (median ${num(r.detectMs.median / 1000, 2)} s, max ${num(r.detectMs.max / 1000, 2)} s, ${r.detectMs.count} crashes); ` +
          `freeze p99 ${num(r.freezeMs.p99 / 1000, 2)} s (median ${num(r.freezeMs.median / 1000, 2)} s, ${r.freezeMs.count} freezes)`,
      ),
    },
    {
      goal: `zero false deaths over ${minutes} simulated minutes with no faults and with random loss (${lossRates})`,
      verdict: verdict(watchOk, watched.every((r) => (r.watch as WatchSummary).minutes >= minutes)),
      details: watched.map((r, i) => {
        const w = r.watch as WatchSummary;
        const short = w.minutes < minutes ? ` — SHORTER than the ${minutes} min the goal asks` : "";
        return `${watchOk[i] ? "ok  " : "MISS"} N=${r.n} loss ${percent(r.lossRate)}: ${w.falseDeaths} false deaths, ${w.falseSuspicions} false suspicions in ${w.meshes} × ${num(w.minutes, 1)} min${short}`;
      }).concat(elsewhere.map((r) => `note N=${r.n} loss ${percent(r.lossRate)}: ${r.falseDeathsElsewhere} false death(s) outside the watch (${Object.entries(r.falseDeathsByPhase).map(([name, count]) => `${name} ${count}`).join(", ")})`)),
    },
    {
      goal: "one update reaches all of 1,000 nodes within ceil(log2 N) + 5 gossip rounds (median)",
      verdict: verdict(spreadOk),
      details: large.map(
        (r, i) =>
          `${spreadOk[i] ? "ok  " : "MISS"} N=${r.n} loss ${percent(r.lossRate)}: median ${num(r.updateRounds.median, 0)} rounds (max ${num(r.updateRounds.max, 0)}), bound ${roundsBound(r.n)}`,
      ),
    },
  ];
}

/** The goals section. */
export function formatGoals(goals: readonly GoalCheck[]): string {
  return goals.map((g) => [`${g.verdict.padEnd(12)} ${g.goal}`, ...g.details.map((d) => `             ${d}`)].join("\n")).join("\n");
}
