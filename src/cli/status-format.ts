/** Output formats of `agent-mesh status`: a node's status record, its text, the per-node table and the convergence line. */
import type { GetStatusResponse } from "../../gen/agentmesh/v1/agent_service_pb.js";
import { table } from "./format.js";

/** A node's status as `agent-mesh status --json` prints it. */
export interface StatusRecord {
  /** Agent id. */
  id: string;
  /** host:port. */
  address: string;
  /** Lifecycle: "starting", "ready", "draining" or "stopped". */
  lifecycle: string;
  /** Tasks running. */
  load: number;
  /** Tasks run at once at most. */
  capacity: number;
  /** Tasks waiting for a slot. */
  queued: number;
  /** Digest of the replicated state (equal on every node once converged). */
  stateHash: string;
  /** Entries in the replicated state. */
  stateEntries: number;
  /** The state's Lamport clock. */
  stateClock: number;
  /** Gossip rounds run by the node. */
  gossipRounds: number;
  /** Members by status as the node sees them (itself included in alive). */
  members: { alive: number; suspect: number; dead: number; left: number };
  /** The node's incarnation (raised each time it refutes a suspicion). */
  incarnation: number;
  /** The failure detector's local health score (0 healthy). */
  health: number;
  /** Tasks waiting for a capable agent to join. */
  waitingTasks: number;
}

/** A node `status --all` could not ask. */
export interface UnreachableNode {
  /** Agent id, as the first node lists it. */
  id: string;
  /** host:port. */
  address: string;
  /** Why the call failed, one line. */
  error: string;
}

/** The printable record of a GetStatus answer. */
export function statusRecord(s: GetStatusResponse): StatusRecord {
  return {
    id: s.selfId,
    address: s.address,
    lifecycle: s.lifecycle,
    load: s.load,
    capacity: s.capacity,
    queued: s.queued,
    stateHash: s.stateHash,
    stateEntries: s.stateEntries,
    stateClock: Number(s.stateClock),
    gossipRounds: Number(s.gossipRounds),
    members: { alive: s.membersAlive, suspect: s.membersSuspect, dead: s.membersDead, left: s.membersLeft },
    incarnation: Number(s.incarnation),
    health: s.health,
    waitingTasks: s.waitingTasks,
  };
}

/** The members by status in one phrase, e.g. "4 alive, 0 suspect, 1 dead, 0 left". */
function membersPhrase(m: StatusRecord["members"]): string {
  return `${m.alive} alive, ${m.suspect} suspect, ${m.dead} dead, ${m.left} left`;
}

/** One node's status as labelled lines. */
export function statusText(s: StatusRecord): string {
  const lines: [string, string][] = [
    ["node", `${s.id} at ${s.address}`],
    ["lifecycle", s.lifecycle],
    ["load", `${s.load}/${s.capacity} running, ${s.queued} queued`],
    ["state", `hash ${s.stateHash}, ${s.stateEntries} entries, clock ${s.stateClock}`],
    ["gossip", `${s.gossipRounds} rounds`],
    ["members", membersPhrase(s.members)],
    ["incarnation", String(s.incarnation)],
    ["health", `${s.health}${s.health === 0 ? " (healthy)" : " (timeouts stretched)"}`],
    ["waiting", `${s.waitingTasks} tasks for a capable agent`],
  ];
  const width = Math.max(...lines.map(([label]) => label.length));
  return lines.map(([label, value]) => `${label.padEnd(width)}  ${value}`).join("\n");
}

/** Characters of the state hash shown in the --all table. */
const SHORT_HASH = 16;

/** One row per node (unreachable ones last, marked so, with a line each after the table saying why). */
export function statusTable(nodes: StatusRecord[], unreachable: UnreachableNode[]): string {
  const rows = nodes.map((s) => [
    s.id,
    s.address,
    s.lifecycle,
    `${s.load}/${s.capacity}`,
    String(s.queued),
    s.stateHash.slice(0, SHORT_HASH),
    String(s.stateEntries),
    String(s.stateClock),
    String(s.gossipRounds),
    `${s.members.alive}/${s.members.suspect}/${s.members.dead}/${s.members.left}`,
    String(s.incarnation),
    String(s.health),
    String(s.waitingTasks),
  ]);
  for (const u of unreachable) rows.push([u.id, u.address, "unreachable", ...Array<string>(10).fill("-")]);
  const body = table(
    ["ID", "ADDRESS", "LIFECYCLE", "LOAD", "QUEUED", "STATE HASH", "ENTRIES", "CLOCK", "ROUNDS", "A/S/D/L", "INC", "HEALTH", "WAITING"],
    rows,
    new Set([4, 6, 7, 8, 10, 11, 12]),
  );
  return [body, ...unreachable.map((u) => `${u.id} (${u.address}) is unreachable: ${u.error}`)].join("\n");
}

/** The number of distinct state hashes among `nodes`. */
export function distinctDigests(nodes: StatusRecord[]): number {
  return new Set(nodes.map((s) => s.stateHash)).size;
}

/** "converged: yes" when every node reports the same state hash, else "converged: no (k distinct digests)". */
export function convergenceLine(nodes: StatusRecord[]): string {
  const k = distinctDigests(nodes);
  return k <= 1 ? "converged: yes" : `converged: no (${k} distinct digests)`;
}
