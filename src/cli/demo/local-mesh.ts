/**
 * The demo's node processes: spawns `agent-mesh node` children, reads each one's ready line, keeps the tail of
 * its stderr, reports a child that exits on its own, and stops them all (SIGTERM, a deadline, then SIGKILL).
 * Children get an IPC channel, so a child also stops when the demo process dies without cleaning up.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import type { NodePlan } from "./plan.js";

/** A running node process. */
export interface NodeProcessInfo {
  /** Agent id. */
  id: string;
  /** Process id. */
  pid: number;
  /** host:port it serves on. */
  address: string;
  /** Capabilities it serves. */
  capabilities: string[];
}

/** Options of the local mesh. */
export interface LocalMeshOptions {
  /** Path of bin/agent-mesh.js. */
  bin: string;
  /** Called once per child that exits while the mesh is not stopping, with a message naming it and its stderr tail. */
  onUnexpectedExit: (message: string) => void;
  /** Log level of the children. Default "warn". */
  logLevel?: string;
}

/** Lines of stderr kept per child. */
const STDERR_TAIL_LINES = 20;

interface Child {
  readonly id: string;
  readonly process: ChildProcess;
  readonly stderr: string[];
  readonly exited: Promise<void>;
  alive: boolean;
}

/** Node processes on loopback, stopped together. */
export class LocalMesh {
  private readonly children: Child[] = [];
  private stopping = false;
  private readonly killOnExit = () => {
    for (const c of this.children) if (c.alive) c.process.kill("SIGKILL");
  };

  /** Creates an empty mesh. */
  constructor(private readonly options: LocalMeshOptions) {
    process.on("exit", this.killOnExit);
  }

  /** Process ids of every child started, alive or not. */
  get pids(): number[] {
    return this.children.flatMap((c) => (c.process.pid === undefined ? [] : [c.process.pid]));
  }

  /** Starts the node of `plan` joining through `seeds`; resolves when it prints its ready line. */
  start(plan: NodePlan, seeds: string[], readyTimeoutMs: number): Promise<NodeProcessInfo> {
    if (this.stopping) return Promise.reject(new Error("the mesh is stopping"));
    const args = [this.options.bin, "node", "--id", plan.id, "--port", "0", "--capabilities", plan.capabilities.join(","), "--log-level", this.options.logLevel ?? "warn"];
    if (seeds.length > 0) args.push("--seeds", seeds.join(","));
    // detached: a terminal's Ctrl-C reaches the demo only; the demo stops its children itself.
    const proc = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe", "ipc"], detached: true });
    const stderr: string[] = [];
    const child: Child = {
      id: plan.id,
      process: proc,
      stderr,
      alive: true,
      exited: new Promise<void>((resolve) => proc.once("exit", () => resolve())),
    };
    this.children.push(child);
    proc.channel?.unref();
    createInterface({ input: proc.stderr! }).on("line", (line) => {
      stderr.push(line);
      if (stderr.length > STDERR_TAIL_LINES) stderr.shift();
    });

    return new Promise<NodeProcessInfo>((resolve, reject) => {
      let ready = false;
      const timer = setTimeout(() => {
        if (!ready) reject(new Error(this.describe(child, `did not report ready within ${readyTimeoutMs} ms`)));
      }, readyTimeoutMs);
      createInterface({ input: proc.stdout! }).on("line", (line) => {
        if (ready) return;
        const event = parseReady(line);
        if (event === undefined) return;
        ready = true;
        clearTimeout(timer);
        resolve({ id: plan.id, pid: proc.pid ?? 0, address: event.address, capabilities: event.capabilities });
      });
      proc.once("error", (err) => {
        child.alive = false;
        clearTimeout(timer);
        reject(new Error(`cannot start ${plan.id}: ${err.message}`));
      });
      proc.once("exit", (code, signal) => {
        child.alive = false;
        clearTimeout(timer);
        // Let the last stderr lines arrive before describing the exit.
        setImmediate(() => {
          const message = this.describe(child, `exited unexpectedly (${signal !== null ? `signal ${signal}` : `exit code ${code}`})`);
          if (!ready) reject(new Error(message));
          else if (!this.stopping) this.options.onUnexpectedExit(message);
        });
      });
    });
  }

  /** Stops every child: SIGTERM, wait up to `graceMs` for them to drain and exit, then SIGKILL what remains. */
  async stop(graceMs: number): Promise<void> {
    this.stopping = true;
    const alive = this.children.filter((c) => c.alive);
    for (const c of alive) c.process.kill("SIGTERM");
    await withDeadline(Promise.all(alive.map((c) => c.exited)), graceMs);
    const stuck = this.children.filter((c) => c.alive);
    for (const c of stuck) c.process.kill("SIGKILL");
    await withDeadline(Promise.all(stuck.map((c) => c.exited)), 5000);
    process.off("exit", this.killOnExit);
  }

  private describe(child: Child, what: string): string {
    const tail = child.stderr.length > 0 ? `; last stderr lines:\n  ${child.stderr.join("\n  ")}` : "; no stderr output";
    return `node ${child.id} (pid ${child.process.pid ?? "?"}) ${what}${tail}`;
  }
}

function parseReady(line: string): { address: string; capabilities: string[] } | undefined {
  try {
    const event = JSON.parse(line) as { event?: unknown; address?: unknown; capabilities?: unknown };
    if (event.event === "ready" && typeof event.address === "string" && Array.isArray(event.capabilities)) {
      return { address: event.address, capabilities: event.capabilities.map(String) };
    }
  } catch {
    // not the ready line
  }
  return undefined;
}

async function withDeadline(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([promise, new Promise((r) => (timer = setTimeout(r, ms)))]);
  clearTimeout(timer);
}
