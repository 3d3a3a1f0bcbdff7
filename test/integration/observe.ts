/**
 * Shared by the failure-handling integration tests: read node processes' views through the CLI (`agents --json`,
 * `status --json`) and through the AgentService client (cheap enough to poll every few tens of ms when timing
 * failure detection), and keep a stream of tasks flowing while recording each task's one outcome.
 */
import { availableParallelism, loadavg } from "node:os";
import { expect } from "vitest";
import { MemberStatus } from "../../gen/agentmesh/v1/membership_pb.js";
import { connectToNode, describeCallError, type NodeClient } from "../../src/cli/client.js";
import { statusName } from "../../src/cli/format.js";
import { fromPayload, toPayload } from "../../src/protocol/payload.js";
import type { NodeProcess, Processes } from "../helpers/processes.js";
import { waitFor } from "../helpers/wait.js";

/** An agent as `agent-mesh agents --json` prints it. */
export interface AgentJson {
  /** Agent id. */
  id: string;
  /** host:port. */
  address: string;
  /** Capabilities. */
  capabilities: string[];
  /** Tasks running. */
  load: number;
  /** Tasks at once at most. */
  capacity: number;
  /** "alive", "suspect", "dead" or "left". */
  status: string;
  /** True while it drains. */
  draining: boolean;
}

/** `agent-mesh agents --to node --json`, parsed (the run must exit 0). */
export async function agentsViaCli(procs: Processes, node: NodeProcess): Promise<AgentJson[]> {
  const r = await procs.run(["agents", "--to", node.address, "--json"]);
  expect(r.code, `agents --to ${node.id}: ${r.stderr}`).toBe(0);
  return JSON.parse(r.stdout) as AgentJson[];
}

/** `agent-mesh status --to node --json`, parsed (the run must exit 0). */
export async function statusViaCli(procs: Processes, node: NodeProcess): Promise<{ id: string; waitingTasks: number; incarnation: number; members: Record<string, number> }> {
  const r = await procs.run(["status", "--to", node.address, "--json"]);
  expect(r.code, `status --to ${node.id}: ${r.stderr}`).toBe(0);
  return JSON.parse(r.stdout) as { id: string; waitingTasks: number; incarnation: number; members: Record<string, number> };
}

/** AgentService clients of node processes, closed together. */
export class Clients {
  private readonly clients = new Map<string, NodeClient>();

  /** The client of `node` (one per address). */
  of(node: NodeProcess): NodeClient {
    let c = this.clients.get(node.address);
    if (c === undefined) this.clients.set(node.address, (c = connectToNode(node.address)));
    return c;
  }

  /** The status name `node` lists agent `id` with, or undefined when it does not list it. */
  async statusOf(node: NodeProcess, id: string): Promise<string | undefined> {
    const res = await this.of(node).service.listAgents({}, { timeoutMs: 2000 });
    const agent = res.agents.find((a) => a.id === id);
    return agent === undefined ? undefined : statusName(agent.status);
  }

  /** Tasks waiting for a capable agent on `node` (GetStatus). */
  async waitingTasks(node: NodeProcess): Promise<number> {
    return (await this.of(node).service.getStatus({}, { timeoutMs: 2000 })).waitingTasks;
  }

  /** Waits until every one of `nodes` lists every one of `ids` as alive. */
  async allAlive(nodes: NodeProcess[], ids: string[], timeoutMs = 15_000): Promise<void> {
    await Promise.all(
      nodes.map((node) =>
        waitFor(
          async () => {
            const res = await this.of(node).service.listAgents({}, { timeoutMs: 2000 });
            return ids.every((id) => res.agents.some((a) => a.id === id && a.status === MemberStatus.ALIVE));
          },
          { timeoutMs, intervalMs: 100, what: `${node.id} to list ${ids.join(", ")} as alive` },
        ),
      ),
    );
  }

  /**
   * Polls each of `observers` every `intervalMs` until it lists agent `id` as `status`; resolves with the time each
   * took, ms from `since` (a performance.now() instant) to the answer that first showed it.
   */
  async timeUntil(observers: NodeProcess[], id: string, status: string, since: number, timeoutMs: number, intervalMs = 50): Promise<Record<string, number>> {
    const times = await Promise.all(
      observers.map(async (node) => {
        await waitFor(async () => (await this.statusOf(node, id)) === status, { timeoutMs, intervalMs, what: `${node.id} to list ${id} as ${status}` });
        return [node.id, Math.round(performance.now() - since)] as const;
      }),
    );
    return Object.fromEntries(times);
  }

  /** Closes every client. */
  close(): void {
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }
}

/** One task submitted by a TaskStream and its one outcome. */
export interface TaskRecord {
  /** The correlation id the client chose (unique per submission). */
  correlationId: string;
  /** When it was submitted, performance.now() ms. */
  submittedAt: number;
  /** When its outcome arrived, performance.now() ms. */
  doneAt: number;
  /** The task id the node gave it (success only). */
  taskId?: string;
  /** The agent that ran it (success only). */
  agentId?: string;
  /** The attempt that produced the result (above 1: reassigned). */
  attempt?: number;
  /** The output (success only). */
  output?: unknown;
  /** The error, one line (failure only). */
  error?: string;
}

/** Options of a TaskStream. */
export interface TaskStreamOptions {
  /** The node every task is submitted to. */
  entry: NodeClient;
  /** The capability of every task. */
  capability: string;
  /** The input of every task. */
  input: unknown;
  /** Tasks in flight at most. */
  concurrency: number;
  /** Each task's timeout, ms. */
  timeoutMs: number;
}

/** Submits tasks without pause, `concurrency` at a time, until stopped; every outcome (or error) is recorded once. */
export class TaskStream {
  /** Every finished task, in the order outcomes arrived. */
  readonly records: TaskRecord[] = [];
  /** Submissions made (finished or not). */
  submitted = 0;
  private stopping = false;
  private readonly workers: Promise<void>[];

  /** Starts the workers. */
  constructor(private readonly options: TaskStreamOptions) {
    this.workers = Array.from({ length: options.concurrency }, (_, w) => this.worker(w));
  }

  /** The successful records. */
  get ok(): TaskRecord[] {
    return this.records.filter((r) => r.error === undefined);
  }

  /** Stops submitting and resolves once every task in flight has its outcome. */
  async stop(): Promise<TaskRecord[]> {
    this.stopping = true;
    await Promise.all(this.workers);
    return this.records;
  }

  private async worker(w: number): Promise<void> {
    const { entry, capability, input, timeoutMs } = this.options;
    for (let i = 0; !this.stopping; i++) {
      const correlationId = `stream-${w}-${i}`;
      const submittedAt = performance.now();
      this.submitted++;
      try {
        const res = await entry.service.submitTask({ capability, input: toPayload(input), timeoutMs, correlationId }, { timeoutMs: timeoutMs + 5000 });
        this.records.push({ correlationId, submittedAt, doneAt: performance.now(), taskId: res.taskId, agentId: res.agentId, attempt: res.attempt, output: fromPayload(res.output, "output") });
      } catch (err) {
        this.records.push({ correlationId, submittedAt, doneAt: performance.now(), error: describeCallError(err, entry.address) });
      }
    }
  }
}

/** The goal of the failure detector at its defaults: every survivor marks a crashed or frozen agent dead within 3 s. */
export const DETECTION_GOAL_MS = 3000;
/** The most the tests accept when the machine is overloaded (load average above its core count); printed when used. */
export const DETECTION_LIMIT_MS = 5000;

/**
 * Prints the detection times (kill or freeze → listed dead, per observer) and checks them: at most
 * DETECTION_GOAL_MS, or, only while the machine's load average exceeds its core count, DETECTION_LIMIT_MS
 * with a note saying so.
 */
export function checkDetection(what: string, times: Record<string, number>): void {
  const max = Math.max(...Object.values(times));
  const perCore = loadavg()[0] / availableParallelism();
  const overloaded = perCore > 1;
  const list = Object.entries(times)
    .map(([id, ms]) => `${id} ${ms} ms`)
    .join(", ");
  console.log(`[detection] ${what}: ${list}; max ${max} ms (load average ${perCore.toFixed(2)} per core)`);
  if (max > DETECTION_GOAL_MS && overloaded) {
    console.log(`[detection] ${what}: above the ${DETECTION_GOAL_MS} ms goal on an overloaded machine; accepting up to ${DETECTION_LIMIT_MS} ms`);
  }
  expect(max, `${what}: ${list}`).toBeLessThanOrEqual(overloaded ? DETECTION_LIMIT_MS : DETECTION_GOAL_MS);
}
