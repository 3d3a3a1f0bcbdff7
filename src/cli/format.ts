/** Output formats of the commands: agent records for --json, and plain aligned text tables. */
import { MemberStatus, type AgentInfo } from "../../gen/agentmesh/v1/membership_pb.js";
import { fromPayload } from "../protocol/payload.js";
import type { Payload } from "../../gen/agentmesh/v1/payload_pb.js";

/** An agent as `agent-mesh agents --json` prints it. */
export interface AgentRecord {
  /** Agent id. */
  id: string;
  /** host:port. */
  address: string;
  /** Capabilities it handles. */
  capabilities: string[];
  /** Tasks running now. */
  load: number;
  /** Tasks run at once at most. */
  capacity: number;
  /** Membership status in lower case: "alive", "suspect", "dead", "left" or "unspecified". */
  status: string;
  /** True while it drains. */
  draining: boolean;
}

/** The status name of `status` in lower case, e.g. "alive". */
export function statusName(status: MemberStatus): string {
  const name = MemberStatus[status] as string | undefined;
  return name === undefined ? `status_${status}` : name.toLowerCase();
}

/** The printable record of an agent. */
export function agentRecord(agent: AgentInfo): AgentRecord {
  return {
    id: agent.id,
    address: agent.address,
    capabilities: [...agent.capabilities],
    load: agent.load,
    capacity: agent.capacity,
    status: statusName(agent.status),
    draining: agent.draining,
  };
}

/** Rows of cells as a text table: a header row, columns padded to their widest cell (right-aligned where `right`). */
export function table(header: string[], rows: string[][], right: ReadonlySet<number> = new Set()): string {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? "").length)));
  return all
    .map((r) =>
      r
        .map((cell, i) => (right.has(i) ? cell.padStart(widths[i]) : cell.padEnd(widths[i])))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

/** The agents as a table (id, address, capabilities, load/capacity, status, draining). */
export function agentsTable(agents: AgentRecord[]): string {
  return table(
    ["ID", "ADDRESS", "CAPABILITIES", "LOAD", "STATUS", "DRAINING"],
    agents.map((a) => [a.id, a.address, a.capabilities.join(",") || "-", `${a.load}/${a.capacity}`, a.status, a.draining ? "yes" : "no"]),
  );
}

/** A payload as a JSON value: decoded JSON or text, or binary data as a base64 string. */
export function payloadValue(payload: Payload | undefined): unknown {
  const value = fromPayload(payload, "output");
  return value instanceof Uint8Array ? Buffer.from(value).toString("base64") : value;
}
