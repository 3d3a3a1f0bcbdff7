/** Runs the demo's tasks against the node processes with bounded concurrency, recording who ran what. */
import { toPayload } from "../../protocol/payload.js";
import { describeCallError, type NodeClient } from "../client.js";
import type { TaskPlan } from "./plan.js";

/** The outcome of one demo task. */
export interface TaskRecord {
  /** The task's position in the run. */
  index: number;
  /** The capability it needed. */
  capability: string;
  /** The agent it was submitted to. */
  entry: string;
  /** The agent that ran it (undefined when it failed). */
  agentId?: string;
  /** Hops from the entry agent to the one that ran it. */
  hops: number;
  /** Round trip seen by the client, ms. */
  latencyMs: number;
  /** The error, when it failed. */
  error?: string;
}

/** Options of runTasks. */
export interface RunTasksOptions {
  /** Tasks in flight at most. */
  concurrency: number;
  /** Time each task may take, ms. */
  timeoutMs: number;
  /** Stops submitting (and cancels calls in flight) when aborted. */
  signal: AbortSignal;
  /** Called as each task finishes. */
  onDone: (record: TaskRecord) => void;
}

/** Submits `tasks`, each to the node `clients[task.entry]`, at most `concurrency` at once. */
export async function runTasks(tasks: TaskPlan[], clients: NodeClient[], entryIds: string[], options: RunTasksOptions): Promise<TaskRecord[]> {
  const records: TaskRecord[] = [];
  let next = 0;
  const worker = async () => {
    while (next < tasks.length && !options.signal.aborted) {
      const task = tasks[next++];
      const record = await runOne(task, clients[task.entry], entryIds[task.entry], options);
      if (options.signal.aborted) return;
      records.push(record);
      options.onDone(record);
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency, tasks.length) }, worker));
  return records.sort((a, b) => a.index - b.index);
}

async function runOne(task: TaskPlan, client: NodeClient, entry: string, options: RunTasksOptions): Promise<TaskRecord> {
  const started = performance.now();
  const base = { index: task.index, capability: task.capability, entry };
  try {
    const res = await client.service.submitTask(
      { capability: task.capability, input: toPayload(task.input), timeoutMs: options.timeoutMs },
      { timeoutMs: options.timeoutMs + 2000, signal: options.signal },
    );
    return { ...base, agentId: res.agentId, hops: res.hops, latencyMs: performance.now() - started };
  } catch (err) {
    return { ...base, hops: 0, latencyMs: performance.now() - started, error: describeCallError(err, client.address) };
  }
}
