/**
 * `agent-mesh status`: a node's view of itself and the mesh (AgentService.GetStatus). With --all, also the
 * status of every alive member that node lists, one row per node, and whether their replicated states agree.
 */
import { MemberStatus } from "../../../gen/agentmesh/v1/membership_pb.js";
import { parseAddress, parseInteger, parseOptions, required } from "../args.js";
import { connectToNode, describeCallError } from "../client.js";
import { fail, println, type CliIo } from "../io.js";
import { convergenceLine, distinctDigests, statusRecord, statusTable, statusText, type StatusRecord, type UnreachableNode } from "../status-format.js";
import { usage } from "../usage.js";

/** How long `status` waits for each node's answer by default, ms. */
export const DEFAULT_STATUS_TIMEOUT_MS = 5000;

/** Runs `agent-mesh status`; resolves with the exit code (1 only when the node named by --to does not answer). */
export async function statusCommand(args: string[], io: CliIo): Promise<number> {
  const v = parseOptions(args, {
    to: { type: "string" },
    all: { type: "boolean" },
    json: { type: "boolean" },
    timeout: { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  if (v.help === true) {
    println(io.stdout, usage("status"));
    return 0;
  }
  const to = parseAddress(required(v.to, "to"), "to");
  const timeoutMs = v.timeout === undefined ? DEFAULT_STATUS_TIMEOUT_MS : parseInteger(v.timeout, "timeout", 1, 3_600_000);
  const client = connectToNode(to);
  let first: StatusRecord;
  let others: { id: string; address: string }[] = [];
  try {
    const [status, listed] = await Promise.all([
      client.service.getStatus({}, { timeoutMs }),
      v.all === true ? client.service.listAgents({}, { timeoutMs }) : undefined,
    ]);
    first = statusRecord(status);
    others = (listed?.agents ?? []).filter((a) => a.id !== first.id && a.status === MemberStatus.ALIVE).map((a) => ({ id: a.id, address: a.address }));
  } catch (err) {
    return fail(io, describeCallError(err, to, timeoutMs));
  } finally {
    client.close();
  }
  if (v.all !== true) {
    println(io.stdout, v.json === true ? JSON.stringify(first) : statusText(first));
    return 0;
  }
  const answers = await Promise.all(others.map((member) => askStatus(member, timeoutMs)));
  const nodes = [first, ...answers.flatMap((a) => ("status" in a ? [a.status] : []))];
  const unreachable = answers.flatMap((a) => ("error" in a ? [a] : []));
  if (v.json === true) {
    println(io.stdout, JSON.stringify({ nodes, unreachable, converged: distinctDigests(nodes) <= 1, distinctDigests: distinctDigests(nodes) }));
  } else {
    println(io.stdout, statusTable(nodes, unreachable));
    println(io.stdout, convergenceLine(nodes));
  }
  return 0;
}

/** The status of one member, or why it could not be had. */
async function askStatus(member: { id: string; address: string }, timeoutMs: number): Promise<{ status: StatusRecord } | UnreachableNode> {
  const client = connectToNode(member.address);
  try {
    return { status: statusRecord(await client.service.getStatus({}, { timeoutMs })) };
  } catch (err) {
    return { ...member, error: describeCallError(err, member.address, timeoutMs) };
  } finally {
    client.close();
  }
}
