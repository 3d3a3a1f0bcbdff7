/**
 * The simulator's command line and the cases it plans. Options are parsed with node's util.parseArgs; a bad
 * option is a UsageError (the command prints it with the usage and exits 2). The plan gives every (N, loss rate)
 * its meshes: many small meshes for the crash-detection tail at small N (each mesh is cheap), few large ones at
 * N = 1,000 (the join of 1,000 nodes dominates), where several updates, freezes and crashes are timed on the same
 * mesh.
 */
import { parseArgs } from "node:util";
import { defaultSwimConfig, type SwimConfig } from "../membership/config.js";
import { defaultStateConfig, type StateConfig } from "../state/config.js";
import type { CaseSpec } from "./experiment.js";

/** The usage text. */
export const usage = `usage: npm run sim -- [options]

Simulates meshes of agents (the product's Swim membership and GossipState per node) on virtual time and
reports update spread, crash detection, false positives and message rates, then checks the goals.

options:
  --sizes LIST    mesh sizes, comma-separated (default 10,100,1000)
  --loss RATE     random message loss reported beside 0 %, 0 <= RATE < 1 (default 0.01)
  --seeds N       meshes per size and loss rate (default 100 for N <= 10, 20 for N <= 100, 1 above)
  --minutes M     simulated minutes of the fault-free watch for false positives (default 10)
  --workers K     worker threads running meshes in parallel (default: the CPU count)
  --json FILE     also write every result and the summary as JSON to FILE
  --swim K=V,...  override SWIM settings to try other values (e.g. suspicionMult=3); the report says so
  --state K=V,... override state settings likewise (e.g. fanout=4)
  -h, --help      this text`;

/** A command-line mistake. */
export class UsageError extends Error {
  /** Creates the error with the message shown above the usage. */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** Parsed options. */
export interface SimOptions {
  /** Mesh sizes. */
  sizes: number[];
  /** The loss rate reported beside 0. */
  lossRate: number;
  /** Meshes per (size, loss); undefined: the defaults by size. */
  seeds: number | undefined;
  /** Simulated minutes of the fault-free watch. */
  minutes: number;
  /** Worker threads. */
  workers: number;
  /** Where to write JSON, if anywhere. */
  json: string | undefined;
  /** SWIM overrides (empty: the defaults). */
  swim: Partial<SwimConfig>;
  /** State overrides (empty: the defaults). */
  state: Partial<StateConfig>;
  /** True when help was asked for. */
  help: boolean;
}

function number(name: string, text: string, ok: (x: number) => boolean, what: string): number {
  const x = Number(text);
  if (text.trim() === "" || !Number.isFinite(x) || !ok(x)) throw new UsageError(`--${name} must be ${what}, got "${text}"`);
  return x;
}

/** Parses "key=value,key=value" into overrides of numeric fields of `defaults`. */
function overrides<T extends object>(name: string, text: string | undefined, defaults: Readonly<T>): Partial<T> {
  const out: Record<string, number> = {};
  if (text === undefined) return out as Partial<T>;
  for (const pair of text.split(",")) {
    const [key, value, extra] = pair.split("=");
    if (value === undefined || extra !== undefined) throw new UsageError(`--${name} takes key=value pairs separated by commas, got "${pair}"`);
    if (!Object.hasOwn(defaults, key) || typeof (defaults as Record<string, unknown>)[key] !== "number") {
      const keys = Object.keys(defaults).filter((k) => typeof (defaults as Record<string, unknown>)[k] === "number");
      throw new UsageError(`--${name}: unknown setting "${key}" (one of ${keys.join(", ")})`);
    }
    out[key] = number(name, value, (x) => x > 0, `a positive number for ${key}`);
  }
  return out as Partial<T>;
}

/** Parses `argv` (without node and the script); throws UsageError on a bad option. */
export function parseOptions(argv: readonly string[], cpus: number): SimOptions {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        sizes: { type: "string" },
        loss: { type: "string" },
        seeds: { type: "string" },
        minutes: { type: "string" },
        workers: { type: "string" },
        json: { type: "string" },
        swim: { type: "string" },
        state: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const str = (k: string) => values[k] as string | undefined;
  const int = (x: number) => Number.isInteger(x) && x >= 1;
  const sizesText = str("sizes") ?? "10,100,1000";
  const sizes = sizesText.split(",").map((s) => number("sizes", s, (x) => Number.isInteger(x) && x >= 3, "a comma-separated list of integers >= 3"));
  return {
    sizes: [...new Set(sizes)],
    lossRate: str("loss") === undefined ? 0.01 : number("loss", str("loss") as string, (x) => x >= 0 && x < 1, "a rate in [0, 1)"),
    seeds: str("seeds") === undefined ? undefined : number("seeds", str("seeds") as string, int, "an integer >= 1"),
    minutes: str("minutes") === undefined ? 10 : number("minutes", str("minutes") as string, (x) => x >= 0, "a number of minutes >= 0"),
    workers: str("workers") === undefined ? Math.max(1, cpus) : number("workers", str("workers") as string, int, "an integer >= 1"),
    json: str("json"),
    swim: overrides("swim", str("swim"), defaultSwimConfig),
    state: overrides("state", str("state"), defaultStateConfig),
    help: values.help === true,
  };
}

/** How one size is sampled. */
export interface SizePlan {
  /** Meshes per loss rate. */
  meshes: number;
  /** Meshes (the first ones) that also run the fault-free watch. */
  watched: number;
  /** Updates timed per mesh. */
  updates: number;
  /** Freezes timed per mesh. */
  freezes: number;
  /** Crashes timed per mesh. */
  crashes: number;
}

/** The default sampling of size `n`: about 100 crashes for the p99 where meshes are cheap, fewer at 1,000. */
export function sizePlan(n: number, seeds: number | undefined): SizePlan {
  const p: SizePlan =
    n <= 10
      ? { meshes: 100, watched: 10, updates: 1, freezes: 1, crashes: 1 }
      : n <= 100
        ? { meshes: 20, watched: 2, updates: 2, freezes: 2, crashes: 5 }
        : { meshes: 1, watched: 1, updates: 5, freezes: 5, crashes: 20 };
  if (seeds !== undefined) {
    p.meshes = seeds;
    p.watched = Math.min(p.watched, seeds);
  }
  return p;
}

/** Every case to run: for each size, for 0 and the chosen loss rate, its meshes (seeds 1, 2, ...). */
export function planCases(o: Pick<SimOptions, "sizes" | "lossRate" | "seeds" | "minutes"> & Partial<Pick<SimOptions, "swim" | "state">>): CaseSpec[] {
  const out: CaseSpec[] = [];
  const rates = o.lossRate === 0 ? [0] : [0, o.lossRate];
  for (const n of o.sizes) {
    const p = sizePlan(n, o.seeds);
    for (const lossRate of rates) {
      for (let m = 0; m < p.meshes; m++) {
        const spec: CaseSpec = { n, lossRate, seed: m + 1, fpMs: m < p.watched ? o.minutes * 60_000 : 0, updates: p.updates, freezes: p.freezes, crashes: p.crashes };
        if (o.swim !== undefined && Object.keys(o.swim).length > 0) spec.swim = o.swim;
        if (o.state !== undefined && Object.keys(o.state).length > 0) spec.state = o.state;
        out.push(spec);
      }
    }
  }
  return out;
}

/** A rough cost of a case, to start the longest first: node-seconds simulated. */
export function estimatedCost(c: CaseSpec): number {
  const simSec = 10 + c.n / 50 + c.fpMs / 1000 + c.updates * 1.5 + (c.freezes ?? 0) * 10 + c.crashes * 5;
  return c.n * simSec;
}
