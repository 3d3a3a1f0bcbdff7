/**
 * `agent-mesh demo`: a local mesh of node processes on loopback, tasks submitted to all of them with live
 * progress, then a summary of who did what. Every path (success, task failure, exception, a child that dies,
 * SIGINT/SIGTERM) stops all node processes before the command returns.
 */
import { abortable } from "../../protocol/abortable.js";
import { parseInteger, parseOptions } from "../args.js";
import { connectToNode, type NodeClient } from "../client.js";
import { waitForMesh } from "../demo/converge.js";
import { LocalMesh, type NodeProcessInfo } from "../demo/local-mesh.js";
import { meshPlan, taskPlan } from "../demo/plan.js";
import { createProgress, type Progress } from "../demo/progress.js";
import { summarize, summaryText } from "../demo/summary.js";
import { collaborationText, runCollaboration } from "../demo/collaboration.js";
import { runTasks } from "../demo/tasks.js";
import { fail, println, type CliIo } from "../io.js";
import { agentMeshBin } from "../paths.js";
import { onStopRequest, type StopReason } from "../signals.js";
import { usage } from "../usage.js";

/** Deadlines and limits of the demo. */
export const demoLimits = Object.freeze({
  /** Time a node process has to print its ready line, ms. */
  readyTimeoutMs: 20_000,
  /** Time the mesh has to form (every node lists every agent), ms. */
  meshTimeoutMs: 20_000,
  /** Time each task may take, ms. */
  taskTimeoutMs: 15_000,
  /** Tasks in flight at once. */
  concurrency: 8,
  /** Time node processes have to drain and exit after SIGTERM before SIGKILL, ms. */
  stopGraceMs: 8000,
});

/** Why the demo was aborted: interrupted by a signal, or a failure (a node died). */
type AbortReason = { t: "interrupted"; reason: StopReason } | { t: "failed"; message: string };

/** Runs `agent-mesh demo`; resolves with the exit code once every node process is gone. */
export async function demoCommand(args: string[], io: CliIo): Promise<number> {
  const v = parseOptions(args, {
    nodes: { type: "string" },
    tasks: { type: "string" },
    json: { type: "boolean" },
    help: { type: "boolean", short: "h" },
  });
  if (v.help === true) {
    println(io.stdout, usage("demo"));
    return 0;
  }
  const nodeCount = v.nodes === undefined ? 5 : parseInteger(v.nodes, "nodes", 3, 16);
  const taskCount = v.tasks === undefined ? 60 : parseInteger(v.tasks, "tasks", 1, 10_000);
  const json = v.json === true;
  const say = (text: string) => println(json ? io.stderr : io.stdout, text);

  const abort = new AbortController();
  const abortWith = (reason: AbortReason) => {
    if (!abort.signal.aborted) abort.abort(reason);
  };
  const stopRequest = onStopRequest();
  void stopRequest.requested.then((reason) => abortWith({ t: "interrupted", reason }));
  const mesh = new LocalMesh({ bin: agentMeshBin(), onUnexpectedExit: (message) => abortWith({ t: "failed", message }) });
  const clients: NodeClient[] = [];
  let progress: Progress | undefined;
  let nodes: NodeProcessInfo[] = [];
  try {
    const plan = meshPlan(nodeCount);
    say(`Starting ${nodeCount} agent nodes on loopback...`);
    const seed = await abortable(mesh.start(plan[0], [], demoLimits.readyTimeoutMs), abort.signal);
    const rest = await abortable(Promise.all(plan.slice(1).map((p) => mesh.start(p, [seed.address], demoLimits.readyTimeoutMs))), abort.signal);
    nodes = [seed, ...rest];
    for (const n of nodes) say(`  ${n.id}  ${n.address}  pid ${n.pid}  serves ${n.capabilities.join(", ")}`);
    clients.push(...nodes.map((n) => connectToNode(n.address)));

    const formStarted = Date.now();
    await abortable(waitForMesh(clients, nodes.map((n) => n.id), demoLimits.meshTimeoutMs, abort.signal), abort.signal);
    say(`Mesh formed in ${Date.now() - formStarted} ms: every node lists all ${nodeCount} agents.`);

    const tasks = taskPlan(taskCount, nodeCount);
    say(`Submitting ${taskCount} tasks to the ${nodeCount} nodes in turn, ${demoLimits.concurrency} at a time...`);
    progress = createProgress(taskCount, json ? io.stderr : io.stdout);
    const started = performance.now();
    const p = progress;
    const records = await abortable(
      runTasks(tasks, clients, nodes.map((n) => n.id), {
        concurrency: demoLimits.concurrency,
        timeoutMs: demoLimits.taskTimeoutMs,
        signal: abort.signal,
        onDone: (r) => p.tick(r.error === undefined),
      }),
      abort.signal,
    );
    progress.stop();
    const summary = summarize(records, nodes, performance.now() - started);
    say("Running a consensus vote and a collaborative solve among the agents...");
    const collaboration = await abortable(runCollaboration(clients[0], abort.signal), abort.signal);
    if (json) println(io.stdout, JSON.stringify({ nodes, ...summary, collaboration }));
    else say(`\n${summaryText(summary)}\n\n${collaborationText(collaboration)}\n`);
    return summary.failed > 0 ? fail(io, `${summary.failed} of ${summary.tasks} tasks failed`) : 0;
  } catch (err) {
    const reason = abort.signal.aborted ? (abort.signal.reason as AbortReason) : undefined;
    if (reason?.t === "interrupted") {
      fail(io, `demo interrupted by ${reason.reason}; stopping the nodes`);
      return reason.reason === "SIGINT" ? 130 : 143;
    }
    return fail(io, reason?.t === "failed" ? reason.message : err instanceof Error ? err.message : String(err));
  } finally {
    progress?.stop();
    for (const c of clients) c.close();
    say(`Stopping ${mesh.pids.length} node processes...`);
    await mesh.stop(demoLimits.stopGraceMs);
    stopRequest.dispose();
  }
}

