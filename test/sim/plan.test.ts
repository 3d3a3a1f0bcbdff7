/** The simulator's options and plan: defaults, bad usage, the cases planned per size and loss rate. */
import { describe, expect, it } from "vitest";
import { estimatedCost, parseOptions, planCases, sizePlan, UsageError } from "../../src/sim/plan.js";

describe("parseOptions", () => {
  it("has the documented defaults", () => {
    expect(parseOptions([], 4)).toEqual({ sizes: [10, 100, 1000], lossRate: 0.01, seeds: undefined, minutes: 10, workers: 4, json: undefined, swim: {}, state: {}, help: false });
  });

  it("reads every option", () => {
    const o = parseOptions(["--sizes", "5,50", "--loss", "0.05", "--seeds", "3", "--minutes", "0.5", "--workers", "1", "--json", "out.json"], 2);
    expect(o).toEqual({ sizes: [5, 50], lossRate: 0.05, seeds: 3, minutes: 0.5, workers: 1, json: "out.json", swim: {}, state: {}, help: false });
    expect(parseOptions(["-h"], 2).help).toBe(true);
  });

  it.each([
    [["--sizes", "10,x"], /--sizes must be a comma-separated list of integers >= 3, got "x"/],
    [["--sizes", "2"], /--sizes must be/],
    [["--loss", "1"], /--loss must be a rate in \[0, 1\), got "1"/],
    [["--loss=-0.1"], /--loss must be a rate/],
    [["--seeds", "0"], /--seeds must be an integer >= 1, got "0"/],
    [["--seeds", "2.5"], /--seeds must be an integer/],
    [["--minutes", "ten"], /--minutes must be a number of minutes >= 0/],
    [["--workers", ""], /--workers must be an integer >= 1/],
    [["--colour"], /Unknown option '--colour'/],
    [["extra"], /positional argument/],
    [["--seeds"], /argument missing/],
    [["--swim", "suspicionMult"], /--swim takes key=value pairs separated by commas, got "suspicionMult"/],
    [["--swim", "bogus=1"], /--swim: unknown setting "bogus" \(one of probeIntervalMs, /],
    [["--swim", "suspicionMult=0"], /--swim must be a positive number for suspicionMult, got "0"/],
    [["--state", "fanout=x"], /--state must be a positive number for fanout/],
  ])("%j is a usage error", (argv, message) => {
    expect(() => parseOptions(argv, 2)).toThrow(UsageError);
    expect(() => parseOptions(argv, 2)).toThrow(message);
  });
});

describe("overrides", () => {
  it("reads --swim and --state into the cases' configs", () => {
    const o = parseOptions(["--swim", "suspicionMult=3,probeIntervalMs=150", "--state", "fanout=4", "--sizes", "10", "--seeds", "1"], 2);
    expect(o.swim).toEqual({ suspicionMult: 3, probeIntervalMs: 150 });
    expect(o.state).toEqual({ fanout: 4 });
    const cases = planCases(o);
    expect(cases.every((c) => c.swim?.suspicionMult === 3 && c.state?.fanout === 4)).toBe(true);
    expect(planCases({ ...o, swim: {}, state: {} }).every((c) => c.swim === undefined && c.state === undefined)).toBe(true);
  });
});

describe("planCases", () => {
  it("plans by default about 100 crashes for N = 10 and 100 and 20 for N = 1,000, at 0 % and the chosen loss", () => {
    const cases = planCases({ sizes: [10, 100, 1000], lossRate: 0.01, seeds: undefined, minutes: 10 });
    const crashes = (n: number, loss: number) => cases.filter((c) => c.n === n && c.lossRate === loss).reduce((s, c) => s + c.crashes, 0);
    expect(crashes(10, 0)).toBe(100);
    expect(crashes(100, 0.01)).toBe(100);
    expect(crashes(1000, 0)).toBe(20);
    const watched = cases.filter((c) => c.fpMs > 0);
    expect(watched.every((c) => c.fpMs === 600_000)).toBe(true);
    expect(watched.filter((c) => c.n === 1000)).toHaveLength(2);
    expect(new Set(cases.filter((c) => c.n === 10 && c.lossRate === 0).map((c) => c.seed)).size).toBe(100);
  });

  it("--seeds sets the meshes of every size; a loss of 0 plans one rate only", () => {
    const cases = planCases({ sizes: [10, 1000], lossRate: 0, seeds: 2, minutes: 1 });
    expect(cases).toHaveLength(4);
    expect(sizePlan(10, 2)).toEqual({ meshes: 2, watched: 2, updates: 1, freezes: 1, crashes: 1 });
  });

  it("ranks large watched meshes as the costliest", () => {
    const [big, small] = [
      { n: 1000, lossRate: 0, seed: 1, fpMs: 600_000, updates: 5, crashes: 20 },
      { n: 100, lossRate: 0, seed: 1, fpMs: 0, updates: 2, crashes: 5 },
    ];
    expect(estimatedCost(big)).toBeGreaterThan(estimatedCost(small));
  });
});
