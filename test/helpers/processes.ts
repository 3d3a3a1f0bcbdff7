/**
 * Test helper for multi-process tests: spawns `agent-mesh` processes from bin/agent-mesh.js (run `npm run build`
 * first so dist/ is current), reads a node's ready line with a deadline, keeps every process's stderr, and stops
 * everything it started (SIGCONT for any it froze, SIGTERM, a deadline, then SIGKILL). Node processes get an IPC
 * channel, so they stop on their own if the test process dies; when the test process exits, every child still
 * running is killed outright (a process frozen by SIGSTOP would not notice its parent went away).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { nextEvent } from "./wait.js";

/** Path of the agent-mesh executable script. */
export const BIN = fileURLToPath(new URL("../../bin/agent-mesh.js", import.meta.url));

/** A node process that reported ready. */
export interface NodeProcess {
  /** Agent id. */
  id: string;
  /** host:port from its ready line. */
  address: string;
  /** Capabilities from its ready line. */
  capabilities: string[];
  /** Process id. */
  pid: number;
  /** Everything it wrote to stderr so far. */
  stderr(): string;
  /** True until it exits. */
  alive(): boolean;
  /** Resolves with its exit code and signal once it exits. */
  exited: Promise<Exit>;
}

/** How a process ended. */
export interface Exit {
  /** Exit code, null when killed by a signal. */
  code: number | null;
  /** The signal that ended it, or null. */
  signal: NodeJS.Signals | null;
}

/** A finished CLI run. */
export interface CliResult extends Exit {
  /** Its stdout. */
  stdout: string;
  /** Its stderr. */
  stderr: string;
}

/** Options of a node process. */
export interface NodeOptions {
  /** Agent id. */
  id: string;
  /** Capabilities (built-ins) to serve. */
  capabilities: string[];
  /** Seeds to join through. */
  seeds?: string[];
  /** More arguments. */
  args?: string[];
  /** Deadline for the ready line, ms. Default 20000. */
  readyTimeoutMs?: number;
  /** Environment variables to set for the process (on top of this process's). */
  env?: Record<string, string>;
}

interface Tracked {
  proc: ChildProcess;
  exited: Promise<Exit>;
  alive: boolean;
  /** Set for node processes: its id and stderr so far, and whether this helper sent it a fatal signal. */
  node?: { id: string; stderr: () => string; killed: boolean };
}

/** The processes a test file started; stopAll() in afterAll/afterEach leaves none behind. */
export class Processes {
  private readonly tracked: Tracked[] = [];
  private readonly killOnExit = () => {
    for (const t of this.tracked) if (t.alive) t.proc.kill("SIGKILL");
  };

  /** Tracks nothing yet; children still running when the test process exits are killed. */
  constructor() {
    process.on("exit", this.killOnExit);
  }

  /** Spawns `agent-mesh <args>` (with `env` on top of this process's environment); the process is stopped by stopAll() if still running. */
  spawn(args: string[], ipc = false, env?: Record<string, string>): { proc: ChildProcess; exited: Promise<Exit>; alive: () => boolean } {
    const proc = spawn(process.execPath, [BIN, ...args], {
      stdio: ipc ? ["ignore", "pipe", "pipe", "ipc"] : ["ignore", "pipe", "pipe"],
      env: env === undefined ? undefined : { ...process.env, ...env },
    });
    proc.channel?.unref();
    const t: Tracked = { proc, alive: true, exited: undefined as unknown as Promise<Exit> };
    t.exited = new Promise<Exit>((resolve) => {
      proc.once("exit", (code, signal) => {
        t.alive = false;
        resolve({ code, signal });
      });
      proc.once("error", () => {
        t.alive = false;
        resolve({ code: null, signal: null });
      });
    });
    this.tracked.push(t);
    return { proc, exited: t.exited, alive: () => t.alive };
  }

  /** Starts `agent-mesh node --port 0 ...` and resolves once it prints its ready line (fails with its stderr if it exits first). */
  async startNode(options: NodeOptions): Promise<NodeProcess> {
    const args = ["node", "--id", options.id, "--port", "0", "--capabilities", options.capabilities.join(","), "--log-level", "warn"];
    if (options.seeds !== undefined && options.seeds.length > 0) args.push("--seeds", options.seeds.join(","));
    args.push(...(options.args ?? []));
    const { proc, exited, alive } = this.spawn(args, true, options.env);
    let stderr = "";
    proc.stderr!.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    this.tracked[this.tracked.length - 1].node = { id: options.id, stderr: () => stderr, killed: false };
    const lines = createInterface({ input: proc.stdout! });
    const first = await nextEvent<{ ready: { address: string; capabilities: string[] } } | { exit: Exit }>(
      (deliver) => {
        lines.on("line", (line) => {
          try {
            const event = JSON.parse(line) as { event?: string; address: string; capabilities: string[] };
            if (event.event === "ready") deliver({ ready: event });
          } catch {
            // not the ready line
          }
        });
        void exited.then((exit) => deliver({ exit }));
      },
      options.readyTimeoutMs ?? 20_000,
      `the ready line of node ${options.id}`,
    );
    if ("exit" in first) {
      throw new Error(`node ${options.id} exited before it was ready (code ${first.exit.code}, signal ${first.exit.signal}): ${stderr}`);
    }
    return {
      id: options.id,
      address: first.ready.address,
      capabilities: first.ready.capabilities,
      pid: proc.pid!,
      stderr: () => stderr,
      alive,
      exited,
    };
  }

  /** Runs `agent-mesh <args>` (with `env` on top of this process's environment) to completion (killed after `timeoutMs`, default 30000) and returns its output. */
  async run(args: string[], timeoutMs = 30_000, env?: Record<string, string>): Promise<CliResult> {
    const { proc } = this.spawn(args, false, env);
    const closed = new Promise<Exit>((resolve) => proc.once("close", (code, signal) => resolve({ code, signal })));
    let stdout = "";
    let stderr = "";
    proc.stdout!.setEncoding("utf8").on("data", (c: string) => (stdout += c));
    proc.stderr!.setEncoding("utf8").on("data", (c: string) => (stderr += c));
    const timer = setTimeout(() => proc.kill("SIGKILL"), timeoutMs);
    const exit = await closed; // after the exit and after stdout and stderr are drained
    clearTimeout(timer);
    if (exit.signal === "SIGKILL") throw new Error(`agent-mesh ${args.join(" ")} did not finish within ${timeoutMs} ms; stderr: ${stderr}`);
    return { ...exit, stdout, stderr };
  }

  /** Sends `signal` to a node process started by this instance (SIGSTOP freezes it, SIGCONT resumes it). */
  signal(node: NodeProcess, signal: NodeJS.Signals): void {
    const t = this.tracked.find((c) => c.proc.pid === node.pid);
    if (t === undefined) throw new Error(`node ${node.id} (pid ${node.pid}) was not started here`);
    if (!t.alive) throw new Error(`node ${node.id} (pid ${node.pid}) has exited; cannot send ${signal}`);
    if (t.node !== undefined && signal !== "SIGSTOP" && signal !== "SIGCONT") t.node.killed = true;
    t.proc.kill(signal);
  }

  /** The node processes that exited although nothing here stopped them, each with its exit and last stderr lines. */
  unexpectedExits(): string[] {
    return this.tracked.flatMap((t) => {
      if (t.alive || t.node === undefined || t.node.killed) return [];
      const tail = t.node.stderr().trimEnd().split("\n").slice(-20).join("\n  ");
      return [`node ${t.node.id} (pid ${t.proc.pid}) exited (code ${t.proc.exitCode}, signal ${t.proc.signalCode}); last stderr lines:\n  ${tail}`];
    });
  }

  /** Stops every process still running: SIGCONT (in case it is frozen), SIGTERM, up to `graceMs` to exit, then SIGKILL (and waits for it). */
  async stopAll(graceMs = 15_000): Promise<void> {
    const alive = this.tracked.filter((t) => t.alive);
    for (const t of alive) if (t.node !== undefined) t.node.killed = true;
    for (const t of alive) t.proc.kill("SIGCONT");
    for (const t of alive) t.proc.kill("SIGTERM");
    await deadline(Promise.all(alive.map((t) => t.exited)), graceMs);
    const stuck = this.tracked.filter((t) => t.alive);
    for (const t of stuck) t.proc.kill("SIGKILL");
    await deadline(Promise.all(stuck.map((t) => t.exited)), 5000);
    this.tracked.length = 0;
  }
}

/** True while a process with `pid` exists. */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

async function deadline(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([promise, new Promise((r) => (timer = setTimeout(r, ms)))]);
  clearTimeout(timer);
}
