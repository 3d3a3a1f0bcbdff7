/** The report: rows from case results, the table, and the goal checks (PASS, FAIL, NOT MEASURED), on made-up results. */
import { describe, expect, it } from "vitest";
import type { CaseResult } from "../../src/sim/experiment.js";
import { checkGoals, formatGoals, formatTable, percent, roundsBound, summarizeRows } from "../../src/sim/report.js";

function result(n: number, lossRate: number, seed: number, o: Partial<CaseResult> = {}): CaseResult {
  return {
    spec: { n, lossRate, seed, fpMs: o.watch === undefined ? 0 : o.watch.ms, updates: 1, crashes: 1 },
    joinMs: 1000,
    settleMs: 1000,
    updates: [{ ms: 400, rounds: 2 }],
    detections: [2000],
    freezeDetections: [2200],
    rejoins: [1500],
    falseDeathsElsewhere: 0,
    falseDeathsByPhase: {},
    simulatedSec: 30,
    wallMs: 10,
    phaseWallMs: { join: 1, settle: 1, watch: 1, updates: 1, freezes: 1, crashes: 5 },
    ...o,
  };
}

const watch = (falseDeaths: number, minutes = 10) => ({
  ms: minutes * 60_000,
  falseSuspicions: 3,
  falseDeaths,
  membershipPerNodePerSec: 11,
  statePerNodePerSec: 15,
});

describe("summarizeRows", () => {
  it("groups by N and loss rate, sorted, pooling samples and summing the watch", () => {
    const rows = summarizeRows([
      result(100, 0.01, 1, { detections: [1000, 3000], watch: watch(0) }),
      result(10, 0, 1),
      result(100, 0.01, 2, { detections: [2000, null], updates: [{ ms: 900, rounds: 5 }], watch: watch(1) }),
      result(100, 0, 1),
    ]);
    expect(rows.map((r) => [r.n, r.lossRate, r.meshes])).toEqual([
      [10, 0, 1],
      [100, 0, 1],
      [100, 0.01, 2],
    ]);
    const r = rows[2];
    expect(r.detectMs).toEqual({ count: 4, missing: 1, median: 2000, p99: Infinity, max: Infinity });
    expect(r.updateRounds.max).toBe(5);
    expect(r.watch).toEqual({ meshes: 2, minutes: 10, falseSuspicions: 6, falseDeaths: 1, membershipPerNodePerSec: 11, statePerNodePerSec: 15 });
    expect(rows[0].watch).toBeUndefined();
  });
});

describe("formatTable", () => {
  it("prints one line per row under a header, 'never' for a detection that did not happen", () => {
    const text = formatTable(summarizeRows([result(10, 0, 1, { watch: watch(0) }), result(1000, 0.01, 1, { detections: [null] })]));
    const lines = text.split("\n");
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(/^\s+N\s+loss\s+meshes\s+update rounds\s+update ms\s+crashes\s+dead s med\s+p99\s+max\s+freezes\s+dead s p99\s+back s max\s+watched\s+false susp\.\s+false deaths\s+msgs\/node\/s$/);
    expect(lines[2]).toMatch(/^\s*10\s+0 %\s+1\s+2 \/ 2\s+400 \/ 400\s+1\s+2\.00\s+2\.00\s+2\.00\s+1\s+2\.20\s+1\.50\s+1 × 10\.0 min\s+3\s+0\s+26\.0 \(11\.0\+15\.0\)$/);
    expect(lines[3]).toMatch(/1000\s+1 %.*never\s+never\s+never\s+1\s+2\.20\s+1\.50\s+-\s+-\s+-\s+-$/);
  });

  it("formats loss rates as percentages", () => {
    expect(percent(0.01)).toBe("1 %");
    expect(percent(0.005)).toBe("0.5 %");
    expect(percent(0)).toBe("0 %");
  });
});

describe("checkGoals", () => {
  it("passes when every row meets each goal", () => {
    const goals = checkGoals(
      summarizeRows([result(10, 0, 1, { watch: watch(0) }), result(1000, 0, 1, { watch: watch(0), updates: [{ ms: 2000, rounds: 10 }] })]),
    );
    expect(goals.map((g) => g.verdict)).toEqual(["PASS", "PASS", "PASS"]);
    expect(goals[2].details[0]).toMatch(/N=1000 loss 0 %: median 10 rounds \(max 10\), bound 15/);
  });

  it("fails the detection goal on a slow freeze too", () => {
    const goals = checkGoals(summarizeRows([result(100, 0, 1, { freezeDetections: [3500] })]));
    expect(goals[0].verdict).toBe("FAIL");
    expect(goals[0].details[0]).toMatch(/^MISS N=100 loss 0 %: crash p99 2\.00 s .*; freeze p99 3\.50 s \(median 3\.50 s, 1 freezes\)$/);
  });

  it("fails a goal any row misses, naming the row and its numbers", () => {
    const goals = checkGoals(
      summarizeRows([
        result(1000, 0.01, 1, { detections: [2500, 3400], watch: watch(2), updates: [{ ms: 4000, rounds: 20 }] }),
        result(10, 0, 1, { watch: watch(0) }),
      ]),
    );
    expect(goals.map((g) => g.verdict)).toEqual(["FAIL", "FAIL", "FAIL"]);
    expect(goals[0].details.find((d) => d.startsWith("MISS"))).toMatch(/N=1000 loss 1 %: crash p99 3\.40 s/);
    expect(goals[1].details.find((d) => d.startsWith("MISS"))).toMatch(/N=1000 loss 1 %: 2 false deaths/);
    expect(formatGoals(goals)).toMatch(/^FAIL {9}a crashed agent/m);
  });

  it("says NOT MEASURED without a row of 1,000 nodes, and PARTIAL for a watch shorter than the goal's 10 minutes", () => {
    const goals = checkGoals(summarizeRows([result(100, 0, 1, { watch: watch(0, 2), falseDeathsElsewhere: 1, falseDeathsByPhase: { join: 1 } })]));
    expect(goals[2].verdict).toBe("NOT MEASURED");
    expect(goals[1].verdict).toBe("PARTIAL");
    expect(goals[1].details[0]).toMatch(/SHORTER than the 10 min/);
    expect(goals[1].details[1]).toMatch(/N=100 loss 0 %: 1 false death\(s\) outside the watch \(join 1\)/);
    expect(roundsBound(1000)).toBe(15);
    expect(roundsBound(1024)).toBe(15);
  });
});
