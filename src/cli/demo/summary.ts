/** The demo's summary: per agent, the tasks accepted and run, by capability, forwarded tasks, hops and p50 latency. */
import { table } from "../format.js";
import type { NodeProcessInfo } from "./local-mesh.js";
import type { TaskRecord } from "./tasks.js";

/** What one agent did in the demo. */
export interface AgentSummary {
  /** Agent id. */
  id: string;
  /** Process id of its node. */
  pid: number;
  /** host:port. */
  address: string;
  /** Capabilities it served. */
  capabilities: string[];
  /** Tasks submitted to it by the demo. */
  accepted: number;
  /** Tasks it ran. */
  ran: number;
  /** Tasks it ran, per capability. */
  byCapability: Record<string, number>;
  /** Tasks it ran that another agent had accepted (hops > 0). */
  forwarded: number;
  /** Sum of the hops of the tasks it ran. */
  hops: number;
  /** Median client round trip of the tasks it ran, ms (null when it ran none). */
  p50Ms: number | null;
}

/** The whole run. */
export interface DemoSummary {
  /** Tasks submitted. */
  tasks: number;
  /** Tasks that succeeded. */
  ok: number;
  /** Tasks that failed. */
  failed: number;
  /** Tasks run by another agent than the one they were submitted to. */
  forwarded: number;
  /** Wall time of the task phase, ms. */
  durationMs: number;
  /** Per agent. */
  agents: AgentSummary[];
  /** The failed tasks. */
  failures: { index: number; capability: string; entry: string; error: string }[];
}

/** The median (nearest rank) of `values`, or null when empty. */
export function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.ceil(sorted.length / 2) - 1];
}

/** Sums up `records` per agent of `nodes`. */
export function summarize(records: TaskRecord[], nodes: NodeProcessInfo[], durationMs: number): DemoSummary {
  const agents = nodes.map((n): AgentSummary => {
    const ran = records.filter((r) => r.error === undefined && r.agentId === n.id);
    const byCapability: Record<string, number> = {};
    for (const r of ran) byCapability[r.capability] = (byCapability[r.capability] ?? 0) + 1;
    const p50 = median(ran.map((r) => r.latencyMs));
    return {
      id: n.id,
      pid: n.pid,
      address: n.address,
      capabilities: n.capabilities,
      accepted: records.filter((r) => r.entry === n.id).length,
      ran: ran.length,
      byCapability,
      forwarded: ran.filter((r) => r.hops > 0).length,
      hops: ran.reduce((sum, r) => sum + r.hops, 0),
      p50Ms: p50 === null ? null : Math.round(p50),
    };
  });
  const failures = records.flatMap((r) => (r.error === undefined ? [] : [{ index: r.index, capability: r.capability, entry: r.entry, error: r.error }]));
  return {
    tasks: records.length,
    ok: records.length - failures.length,
    failed: failures.length,
    forwarded: records.filter((r) => r.error === undefined && r.agentId !== r.entry).length,
    durationMs: Math.round(durationMs),
    agents,
    failures,
  };
}

/** The summary as text: a headline, a table per agent, and the failures. */
export function summaryText(s: DemoSummary): string {
  const head = `${s.tasks} tasks in ${(s.durationMs / 1000).toFixed(1)} s: ${s.ok} ok, ${s.failed} failed; ${s.forwarded} ran on another agent than the one they were submitted to.`;
  const rows = s.agents.map((a) => [
    a.id,
    a.capabilities.join(","),
    String(a.accepted),
    String(a.ran),
    Object.entries(a.byCapability)
      .sort(([x], [y]) => x.localeCompare(y))
      .map(([c, n]) => `${c} ${n}`)
      .join(", ") || "-",
    String(a.forwarded),
    String(a.hops),
    a.p50Ms === null ? "-" : String(a.p50Ms),
  ]);
  const body = table(["AGENT", "SERVES", "ACCEPTED", "RAN", "RAN BY CAPABILITY", "FORWARDED", "HOPS", "P50 MS"], rows, new Set([2, 3, 5, 6, 7]));
  const failures = s.failures.map((f) => `  task ${f.index} (${f.capability}, submitted to ${f.entry}): ${f.error}`);
  return [head, "", body, ...(failures.length > 0 ? ["", "Failed tasks:", ...failures] : [])].join("\n");
}
