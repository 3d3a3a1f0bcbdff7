/**
 * Every process the benchmark starts goes through here, so each one is stopped at the end, on error and on
 * SIGINT/SIGTERM: SIGCONT (a frozen one must wake to die gracefully), SIGTERM, a grace period, SIGKILL.
 * Children get an IPC channel, so they also stop on their own if the benchmark process dies.
 *
 * Two kinds of children: bench helpers (servers, load generators; they report readiness over IPC with
 * `{ ready: {...} }`) and `agent-mesh node` processes (they print a JSON ready line on stdout).
 */
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

/** Path of the agent-mesh executable script. */
export const BIN = fileURLToPath(new URL("../../bin/agent-mesh.js", import.meta.url));

/** Path of a file under bench/. */
export function benchPath(relative) {
  return fileURLToPath(new URL(`../${relative}`, import.meta.url));
}

/** Resolves with `promise`, or rejects with "timed out: WHAT" after `ms`. */
export function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** The children of this benchmark run. */
export class Processes {
  #children = new Set();
  #stopping = undefined;

  /** Installs the exit and signal handlers that stop every child. */
  constructor() {
    process.on("exit", () => {
      for (const c of this.#children) if (c.alive) c.proc.kill("SIGKILL");
    });
    for (const signal of ["SIGINT", "SIGTERM"]) {
      process.once(signal, () => {
        process.stderr.write(`\nbench: ${signal}: stopping every process started\n`);
        void this.stopAll(3000).finally(() => process.exit(130));
      });
    }
  }

  /** Spawns `node [nodeArgs] script args` with an IPC channel; `name` appears in errors. */
  #spawn(name, nodeArgs, script, args, env) {
    const proc = spawn(process.execPath, [...nodeArgs, script, ...args], {
      stdio: ["ignore", "pipe", "pipe", "ipc"],
      env: { ...baseEnv(), ...env },
    });
    const child = { name, proc, alive: true, stderr: "" };
    child.exited = new Promise((resolve) => {
      proc.once("exit", (code, signal) => {
        child.alive = false;
        this.#children.delete(child);
        resolve({ code, signal });
      });
      proc.once("error", (err) => {
        child.alive = false;
        this.#children.delete(child);
        resolve({ code: null, signal: null, error: err });
      });
    });
    proc.stderr.setEncoding("utf8").on("data", (c) => {
      child.stderr = (child.stderr + c).slice(-8000);
    });
    proc.channel?.unref();
    this.#children.add(child);
    return child;
  }

  /** Starts a bench helper script (bench/RELATIVE) and resolves with it and its ready report, within `timeoutMs`. */
  async startHelper(name, relative, args = [], { env, nodeArgs = [], timeoutMs = 15_000 } = {}) {
    const child = this.#spawn(name, nodeArgs, benchPath(relative), args, env);
    pipeStdoutToStderr(child);
    const ready = await withTimeout(
      new Promise((resolve, reject) => {
        child.proc.on("message", (m) => {
          if (m?.ready !== undefined) resolve(m.ready);
        });
        void child.exited.then((e) => reject(new Error(`${name} exited before it was ready (code ${e.code}, signal ${e.signal}): ${child.stderr}`)));
      }),
      timeoutMs,
      `${name} to start`,
    );
    return { name, pid: child.proc.pid, ready, child };
  }

  /**
   * Starts `agent-mesh node --id ID --port 0 ...args` (log level warn; `bin`: another build's agent-mesh.js)
   * and resolves, within `timeoutMs`, with its id, address, capabilities and pid once it printed its ready line.
   */
  async startNode(id, args, { env, nodeArgs = [], timeoutMs = 20_000, bin = BIN } = {}) {
    const child = this.#spawn(`node ${id}`, nodeArgs, bin, ["node", "--id", id, "--port", "0", "--log-level", "warn", ...args], env);
    const lines = createInterface({ input: child.proc.stdout });
    const ready = await withTimeout(
      new Promise((resolve, reject) => {
        lines.on("line", (line) => {
          try {
            const event = JSON.parse(line);
            if (event.event === "ready") resolve(event);
          } catch {
            // not the ready line
          }
        });
        void child.exited.then((e) => reject(new Error(`node ${id} exited before it was ready (code ${e.code}, signal ${e.signal}): ${child.stderr}`)));
      }),
      timeoutMs,
      `node ${id} to print its ready line`,
    );
    return { id, address: ready.address, capabilities: ready.capabilities, pid: child.proc.pid, child };
  }

  /** Sends `signal` to a child started here. */
  signal(handle, signal) {
    if (handle.child.alive) handle.child.proc.kill(signal);
  }

  /** Stops one child: SIGCONT, SIGTERM, up to `graceMs`, then SIGKILL; resolves once it exited. */
  async stop(handle, graceMs = 5000) {
    const c = handle.child;
    if (!c.alive) return c.exited;
    c.proc.kill("SIGCONT");
    c.proc.kill("SIGTERM");
    const timer = setTimeout(() => c.proc.kill("SIGKILL"), graceMs);
    const exit = await c.exited;
    clearTimeout(timer);
    return exit;
  }

  /** Stops every child still running (as stop() does, all at once). */
  stopAll(graceMs = 5000) {
    this.#stopping ??= (async () => {
      const all = [...this.#children];
      await Promise.all(all.map((c) => this.stop({ child: c }, graceMs)));
    })().finally(() => {
      this.#stopping = undefined;
    });
    return this.#stopping;
  }

  /** How many children are running. */
  get running() {
    return this.#children.size;
  }
}

/** Our environment without tracing and logging settings (OTEL_*, AGENT_MESH_*): each benchmark sets its own. */
function baseEnv() {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("OTEL_") && !k.startsWith("AGENT_MESH_")));
}

/** Passes a helper's stdout on to our stderr (helpers report over IPC; stdout is only for their diagnostics). */
function pipeStdoutToStderr(child) {
  child.proc.stdout.setEncoding("utf8").on("data", (c) => process.stderr.write(`[${child.name}] ${c}`));
}

/** Sends `message` to a helper over IPC and resolves with its reply (`{ reply }` or `{ error }`), within `timeoutMs`. */
export function ask(helper, message, timeoutMs) {
  const proc = helper.child.proc;
  const id = Math.random().toString(36).slice(2);
  return withTimeout(
    new Promise((resolve, reject) => {
      const onMessage = (m) => {
        if (m?.id !== id) return;
        proc.off("message", onMessage);
        if (m.error !== undefined) reject(new Error(`${helper.child.name}: ${m.error}`));
        else resolve(m.reply);
      };
      proc.on("message", onMessage);
      proc.send({ ...message, id });
    }),
    timeoutMs,
    `${helper.child.name} to answer ${message.op}`,
  );
}
