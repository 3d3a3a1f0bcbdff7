/**
 * The benchmark's tracing verdict (bench/lib/report.mjs goals, bench/lib/stats.mjs pairedRatios): the goals
 * take the median of each round's ratio to tracing off (with the median's 95 % interval), are skipped when no
 * tracing ran, and the export goal fails when the receiver did not get every span of the exporting pair's tasks.
 */
import { describe, expect, it } from "vitest";
// @ts-expect-error a JavaScript module of the benchmark, without types
import { goals, receiverLine, tracingTable } from "../../bench/lib/report.mjs";
// @ts-expect-error a JavaScript module of the benchmark, without types
import { medianInterval, pairedRatios, spread } from "../../bench/lib/stats.mjs";

interface Goal {
  goal: string;
  status: string;
  value?: number;
}

/** A request/response result of `rates` (one per round) as the suite summarises it. */
function result(rates: number[]) {
  return { rps: spread(rates), p50Us: spread([1]), p99Us: spread([1]), cpuUsPerRequest: spread([1]) };
}

describe("bench tracing verdict", () => {
  it("pairs runs round by round, up to the shorter list", () => {
    const num = [{ rps: 90 }, { rps: 80 }, { rps: 50 }];
    const den = [{ rps: 100 }, { rps: 100 }];
    const r = pairedRatios(num, den, "rps");
    expect(r.n).toBe(2);
    expect([r.min, r.median, r.max].map((x: number) => Number(x.toFixed(6)))).toEqual([0.8, 0.85, 0.9]);
  });

  it("takes the median of the rounds' ratios, not the ratio of the medians", () => {
    // Tracing off drifts from round to round; export is 0.92× of it in every round.
    const off = [100, 200, 300, 400, 500];
    const otlp = off.map((x) => x * 0.92);
    const ring = [100, 100, 100, 100, 100];
    const rounds = (xs: number[]) => xs.map((rps) => ({ rps }));
    const rr = {
      results: { "routed-off@64": result(off), "routed-otlp@64": result(otlp), "routed-ring@64": result(ring) },
      tracing: {
        paired: {
          "routed-otlp@64": pairedRatios(rounds(otlp), rounds(off), "rps"),
          "routed-ring@64": pairedRatios(rounds(ring), rounds(off), "rps"),
        },
      },
    };
    const list = goals(rr, undefined, {}) as Goal[];
    const otlpGoal = list.find((g) => g.goal.startsWith("tracing on"))!;
    expect(otlpGoal.status).toBe("PASS");
    expect(otlpGoal.value).toBeCloseTo(0.92, 10);
    const ringGoal = list.find((g) => g.goal.startsWith("tracing as shipped"))!;
    expect(ringGoal.status).toBe("FAIL"); // ratios 1, 0.5, 0.33, 0.25, 0.2: median 0.33 (the medians' ratio would also fail)
    expect(ringGoal.value).toBeCloseTo(1 / 3, 10);
    expect(tracingTable(rr)).toMatch(/ring \+ OTLP\/HTTP export, 100 %.*0\.92× \[0\.92–0\.92\]/);
  });

  it("gives the median's distribution-free 95 % interval: order statistics by the binomial tail", () => {
    const ranks = (n: number) => Array.from({ length: n }, (_, i) => i + 1);
    expect(medianInterval(ranks(5))).toBeUndefined(); // 2 × ½⁵ = 6.25 % > 5 %: no interval reaches 95 %
    expect(medianInterval(ranks(6))).toEqual([1, 6]); // 2 × ½⁶ = 3.1 %
    expect(medianInterval(ranks(15))).toEqual([4, 12]); // P(Bin(15, ½) ≤ 3) = 1.76 %, ≤ 4: 5.9 %
    expect(medianInterval(ranks(20))).toEqual([6, 15]); // P(Bin(20, ½) ≤ 5) = 2.07 %, ≤ 6: 5.8 %
    const off = ranks(15).map(() => ({ rps: 100 }));
    const otlp = ranks(15).map((i) => ({ rps: 80 + i })); // ratios 0.81 … 0.95
    const r = pairedRatios(otlp, off, "rps");
    expect(r.ci95.map((x: number) => Number(x.toFixed(6)))).toEqual([0.84, 0.92]);
  });

  it("fails the export goal when spans never reached the receiver, whatever the ratio", () => {
    const off = [100, 100, 100];
    const otlp = [95, 95, 95];
    const rounds = (xs: number[]) => xs.map((rps) => ({ rps }));
    const verdict = (received: number) => {
      const tracing = {
        paired: { "routed-otlp@64": pairedRatios(rounds(otlp), rounds(off), "rps"), "routed-ring@64": pairedRatios(rounds(otlp), rounds(off), "rps") },
        sink: { spans: received, requests: 3 },
        exportedTasks: 1000,
        expectedSpans: 4000,
      };
      const rr = { results: { "routed-off@64": result(off), "routed-otlp@64": result(otlp), "routed-ring@64": result(otlp) }, tracing };
      const goal = (goals(rr, undefined, {}) as Goal[]).find((g) => g.goal.startsWith("tracing on"))!;
      return { goal, line: receiverLine(tracing) as string };
    };
    const all = verdict(4000);
    expect(all.goal.status).toBe("PASS");
    expect(all.line).toMatch(/1 000 tasks, 4 000 spans, every one received$/);
    const short = verdict(3990);
    expect(short.goal.status).toBe("FAIL");
    expect(short.goal).toMatchObject({ detail: expect.stringMatching(/10 spans never reached the receiver/) });
    expect(short.line).toMatch(/10 LOST/);
  });

  it("skips the tracing goals when no tracing ran", () => {
    const list = goals({ results: {} }, undefined, {}) as Goal[];
    expect(list.filter((g) => g.goal.startsWith("tracing")).map((g) => g.status)).toEqual(["SKIP", "SKIP"]);
  });
});
