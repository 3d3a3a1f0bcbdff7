/**
 * Lean idle: how `agent-mesh node` keeps the memory of a node that has started and idles low.
 *
 * While a node starts, Node.js loads some 300 modules (the node's own, protobuf-es with its descriptors,
 * connect, the OpenTelemetry API). Two things V8 does meanwhile cost memory that an idle node never uses
 * (measured in bench/README.md, "Memory at idle"):
 *
 * - nearly everything allocated while modules load survives, so V8 grows the young generation (its two
 *   semi-spaces, from 1 MiB to 8 MiB each) and keeps it grown until its memory reducer runs, some 8 s after
 *   start-up: ~7 MB of a node's RSS in its first seconds, against under 2 MB at its initial size (held there,
 *   it promotes more to the old generation, which grows ~2 MB);
 * - the module loader's URL and path functions and protobuf-es's descriptor decoding run often enough to be
 *   compiled by Sparkplug (V8's baseline compiler) and optimized by TurboFan, which pages in ~3.5 MB of the
 *   node binary's code (file-backed, but counted in the RSS of every node process) and leaves ~0.5 MB of
 *   machine code on the heap, before the node has served anything.
 *
 * So bin/agent-mesh.js calls beginLeanIdle() before it loads the CLI, and for the `node` command it sets three
 * V8 flags: `--semi-space-growth-factor=1` (the young generation keeps its initial size), `--no-turbofan` and
 * `--no-sparkplug` (functions run in V8's interpreter). Once the node serves, the node command calls
 * leanIdleReady(), which starts a watcher: every `checkMs` (an unref'd timer) it reads the CPU time the process
 * used since its previous check (process.cpuUsage(): every thread, user and system), and the first time that
 * reaches `busyCpu` of one core, it restores V8's defaults for good (growth factor 2, TurboFan and Sparkplug
 * on) and stops. From then on the node runs as it would have with V8's defaults: a node under load gets them
 * within one check (1 s by default) and its hot functions are compiled and optimized as they would have been;
 * an idle node stays lean. The price: the first check of a load runs in the interpreter, and a load light
 * enough to keep the node under `busyCpu` is served by the interpreter (which costs more CPU than compiled
 * code, so a load near the threshold crosses it). endLeanIdle() restores the defaults at once (the node command
 * calls it when the node stops or fails to start).
 *
 * CPU time rather than event-loop utilization: on a crowded machine a process preempted inside a callback
 * looks busy to the event loop but not to the CPU clock (of nine nodes joining a cluster on two shared cores,
 * eight reached 5 % event-loop utilization in their first second, while their CPU time stayed at most 10 % of a
 * core in every half second then, and 0–4 % once joined).
 *
 * V8 reads these flags when it uses them (when it considers growing the young generation, when it considers
 * compiling or optimizing a function), so setting them at run time takes effect; --max-semi-space-size, by
 * contrast, is read only when the heap is set up, which is why the young generation is held by its growth
 * factor.
 *
 * Configuration (environment of the node process; defaults in DEFAULT_LEAN_IDLE):
 *   AGENT_MESH_LEAN_IDLE           true/false: whether a node starts lean (default true)
 *   AGENT_MESH_LEAN_IDLE_CHECK_MS  how often the watcher checks whether the node is busy, ms (default 1000)
 *   AGENT_MESH_LEAN_IDLE_BUSY      CPU time over one check, as a fraction of one core, that counts as busy
 *                                  (default 0.1)
 * A V8 option given to Node.js itself (on node's command line or in NODE_OPTIONS) wins: with any of
 * --semi-space-growth-factor, --min-semi-space-size or --max-semi-space-size the young generation is left to
 * it, with any of --turbofan, --no-turbofan, --opt, --no-opt, --sparkplug, --no-sparkplug, --always-sparkplug
 * or --jitless the compilers are.
 *
 * This module imports nothing but node:v8 and ../protocol/env-vars.ts (which imports nothing), so loading it
 * before the CLI loads nothing else.
 */
import { setFlagsFromString } from "node:v8";
import { envFlag, envInt, EnvVarError } from "../protocol/env-vars.js";

/** The settings of lean idle. */
export interface LeanIdleConfig {
  /** Whether a node starts lean. Default true. */
  enabled: boolean;
  /** How often the watcher checks whether the node is busy, ms. Default 1000. */
  checkMs: number;
  /** CPU time of the process over one check, as a fraction of one core, from which the node counts as busy. Default 0.1. */
  busyCpu: number;
}

/** The defaults. */
export const DEFAULT_LEAN_IDLE: Readonly<LeanIdleConfig> = Object.freeze({ enabled: true, checkMs: 1000, busyCpu: 0.1 });

/** V8's default growth factor of the young generation (`--semi-space-growth-factor`). */
const V8_DEFAULT_GROWTH_FACTOR = 2;

/** The V8 options that, given by the user, leave the young generation to them. */
const YOUNG_GENERATION_OPTIONS = ["--semi-space-growth-factor", "--min-semi-space-size", "--max-semi-space-size"];

/** The V8 options that, given by the user, leave the compilers to them. */
const COMPILER_OPTIONS = ["--turbofan", "--no-turbofan", "--opt", "--no-opt", "--sparkplug", "--no-sparkplug", "--always-sparkplug", "--jitless"];

/** What lean idle holds back now, and why it stopped. */
export interface LeanIdleState {
  /** "off": V8 runs with its defaults (never lean, or restored); "starting": lean, the node not serving yet; "idle": lean, the node serving and watched. */
  phase: "off" | "starting" | "idle";
  /** Whether the young generation is held at its initial size. */
  youngGeneration: boolean;
  /** Whether TurboFan and Sparkplug are off. */
  compilers: boolean;
  /** Why V8's defaults were restored, once they were: "busy", or "stopped" (endLeanIdle). */
  restoredBecause: "busy" | "stopped" | undefined;
}

/** The settings from the environment; throws an EnvVarError naming the variable when one is malformed. */
export function leanIdleFromEnv(env: NodeJS.ProcessEnv = process.env): LeanIdleConfig {
  const config = { ...DEFAULT_LEAN_IDLE };
  config.enabled = envFlag(env, "AGENT_MESH_LEAN_IDLE") ?? config.enabled;
  config.checkMs = envInt(env, "AGENT_MESH_LEAN_IDLE_CHECK_MS", 10, 600_000) ?? config.checkMs;
  const busy = (env.AGENT_MESH_LEAN_IDLE_BUSY ?? "").trim();
  if (busy !== "") {
    const f = /^(\d+(\.\d*)?|\.\d+)$/.test(busy) ? Number(busy) : Number.NaN;
    if (!(f > 0 && f <= 64)) throw new EnvVarError(`AGENT_MESH_LEAN_IDLE_BUSY: expected a fraction of one core above 0 and at most 64, got "${busy}"`);
    config.busyCpu = f;
  }
  return config;
}

/** The names of the options in `execArgv` and `nodeOptions` (NODE_OPTIONS), normalized: "--max_semi_space_size=4" → "--max-semi-space-size". */
export function givenNodeOptions(execArgv: readonly string[], nodeOptions: string | undefined): Set<string> {
  const names = new Set<string>();
  for (const arg of [...execArgv, ...(nodeOptions ?? "").split(/\s+/)]) {
    if (arg.startsWith("--")) names.add(`--${arg.slice(2).split("=")[0].replaceAll("_", "-")}`);
  }
  return names;
}

let state: LeanIdleState = { phase: "off", youngGeneration: false, compilers: false, restoredBecause: undefined };
let config: LeanIdleConfig = { ...DEFAULT_LEAN_IDLE };
let watcher: NodeJS.Timeout | undefined;

/** The current state (a copy). */
export function leanIdleState(): LeanIdleState {
  return { ...state };
}

/** What beginLeanIdle reads besides the arguments; the process's own by default. */
export interface LeanIdleProcess {
  /** Environment. Default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Node's own options. Default process.execArgv. */
  execArgv?: readonly string[];
}

/**
 * For `agent-mesh node` (argv: the arguments after the program name; any other command, and --help, are left
 * alone), with lean idle enabled: sets the V8 flags described in the file comment, and returns whether it did.
 * A malformed AGENT_MESH_LEAN_IDLE* variable turns nothing on here; the node command reports it.
 */
export function beginLeanIdle(argv: readonly string[], proc: LeanIdleProcess = {}): boolean {
  if (state.phase !== "off" || argv[0] !== "node" || argv.includes("--help") || argv.includes("-h")) return false;
  const env = proc.env ?? process.env;
  try {
    config = leanIdleFromEnv(env);
  } catch {
    return false;
  }
  if (!config.enabled) return false;
  const given = givenNodeOptions(proc.execArgv ?? process.execArgv, env.NODE_OPTIONS);
  const youngGeneration = !YOUNG_GENERATION_OPTIONS.some((o) => given.has(o));
  const compilers = !COMPILER_OPTIONS.some((o) => given.has(o));
  if (!youngGeneration && !compilers) return false;
  if (youngGeneration) setFlagsFromString("--semi-space-growth-factor=1");
  if (compilers) {
    setFlagsFromString("--no-turbofan");
    setFlagsFromString("--no-sparkplug");
  }
  state = { phase: "starting", youngGeneration, compilers, restoredBecause: undefined };
  return true;
}

/**
 * The node serves: starts the watcher that restores V8's defaults the first time the node is busy (see the
 * file comment), and calls `onRestored` then. Does nothing unless beginLeanIdle() turned lean idle on.
 */
export function leanIdleReady(onRestored?: (state: LeanIdleState) => void): void {
  if (state.phase !== "starting") return;
  state.phase = "idle";
  let lastCpu = process.cpuUsage();
  let lastAt = performance.now();
  watcher = setInterval(() => {
    const cpu = process.cpuUsage(lastCpu);
    const at = performance.now();
    const busy = (cpu.user + cpu.system) / 1000 / Math.max(1, at - lastAt);
    lastCpu = process.cpuUsage();
    lastAt = at;
    if (busy < config.busyCpu) return;
    restore("busy");
    onRestored?.(leanIdleState());
  }, config.checkMs);
  watcher.unref();
}

/** Restores V8's defaults now and stops the watcher (when the node stops, or fails to start). */
export function endLeanIdle(): void {
  if (state.phase !== "off") restore("stopped");
}

/** Sets back what beginLeanIdle changed. */
function restore(because: "busy" | "stopped"): void {
  if (watcher !== undefined) clearInterval(watcher);
  watcher = undefined;
  if (state.youngGeneration) setFlagsFromString(`--semi-space-growth-factor=${V8_DEFAULT_GROWTH_FACTOR}`);
  if (state.compilers) {
    setFlagsFromString("--turbofan");
    setFlagsFromString("--sparkplug");
  }
  state = { phase: "off", youngGeneration: false, compilers: false, restoredBecause: because };
}
