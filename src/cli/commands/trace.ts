/**
 * `agent-mesh trace`: a task's trace without a collector. Asks the node named by --to for the agents it
 * knows, asks each of them (GetSpans) for the spans of the correlation id kept in its ring of recent spans,
 * joins them into one tree per trace by parent span id across nodes, and prints a waterfall (or JSON).
 */
import { parseArgs } from "node:util";
import { MemberStatus } from "../../../gen/agentmesh/v1/membership_pb.js";
import { SpanKind, type Span } from "../../../gen/agentmesh/v1/trace_pb.js";
import { buildTraces, durationMs, eventOffsetMs, flatten, renderWaterfall, statusName, type TraceTree } from "../../telemetry/waterfall.js";
import { parseAddress, parseInteger, required, UsageError } from "../args.js";
import { connectToNode, describeCallError } from "../client.js";
import { fail, println, type CliIo } from "../io.js";
import { usage } from "../usage.js";

/** How long `trace` waits for each node's answer by default, ms. */
export const DEFAULT_TRACE_TIMEOUT_MS = 5000;

/** What one agent answered: its spans and ring size, or why it could not be asked. */
type Answer = { agentId: string; address: string; spans: Span[]; ringCapacity: number } | { agentId: string; address: string; error: string };

/** Runs `agent-mesh trace`; resolves with the exit code (1 when no node holds a span of the correlation id). */
export async function traceCommand(args: string[], io: CliIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: { to: { type: "string" }, json: { type: "boolean" }, timeout: { type: "string" }, help: { type: "boolean", short: "h" } },
      strict: true,
      allowPositionals: true,
    });
  } catch (err) {
    throw new UsageError((err instanceof Error ? err.message : String(err)).split("\n")[0].replace(/\.$/, ""));
  }
  const v = parsed.values;
  if (v.help === true) {
    println(io.stdout, usage("trace"));
    return 0;
  }
  const to = parseAddress(required(v.to, "to"), "to");
  if (parsed.positionals.length === 0) throw new UsageError("missing CORRELATION_ID (the id `agent-mesh submit` prints as correlation_id=...)");
  if (parsed.positionals.length > 1) throw new UsageError(`expected one CORRELATION_ID, got ${parsed.positionals.length}: ${parsed.positionals.join(" ")}`);
  const correlationId = parsed.positionals[0];
  if (correlationId.trim() === "") throw new UsageError("CORRELATION_ID: must not be empty");
  const timeoutMs = v.timeout === undefined ? DEFAULT_TRACE_TIMEOUT_MS : parseInteger(v.timeout, "timeout", 1, 3_600_000);

  const client = connectToNode(to);
  let members: { agentId: string; address: string }[];
  try {
    const listed = await client.service.listAgents({}, { timeoutMs });
    members = listed.agents
      .filter((a) => a.status !== MemberStatus.DEAD && a.status !== MemberStatus.LEFT && a.address !== "")
      .map((a) => ({ agentId: a.id, address: a.id === listed.selfId ? to : a.address }));
    if (!members.some((m) => m.agentId === listed.selfId)) members.unshift({ agentId: listed.selfId, address: to });
  } catch (err) {
    return fail(io, describeCallError(err, to, timeoutMs));
  } finally {
    client.close();
  }

  const answers = await Promise.all(members.map((m) => askSpans(m, correlationId, timeoutMs)));
  for (const a of answers) {
    if ("error" in a) println(io.stderr, `agent-mesh: note: agent ${a.agentId} at ${a.address} did not answer (${a.error}); its spans are missing`);
    else if (a.ringCapacity === 0) println(io.stderr, `agent-mesh: note: agent ${a.agentId} keeps no spans (tracing is off there)`);
  }
  const spans = answers.flatMap((a) => ("spans" in a ? a.spans : []));
  const asked = answers.filter((a) => "spans" in a).length;
  if (spans.length === 0) {
    return fail(
      io,
      `no spans with correlation id "${correlationId}" on the ${asked} agent${asked === 1 ? "" : "s"} asked: unknown id, or its spans left the nodes' rings of recent spans (AGENT_MESH_TRACE_RING_SIZE)`,
    );
  }
  const traces = buildTraces(spans);
  if (v.json === true) {
    println(io.stdout, JSON.stringify({ correlationId, traces: traces.map(traceRecord), missingAgents: answers.flatMap((a) => ("error" in a ? [{ id: a.agentId, address: a.address, error: a.error }] : [])) }));
  } else {
    println(io.stdout, traces.map((t) => renderWaterfall(t)).join("\n\n"));
  }
  return 0;
}

/** The spans one agent holds for `correlationId`, or why it could not be asked. */
async function askSpans(member: { agentId: string; address: string }, correlationId: string, timeoutMs: number): Promise<Answer> {
  const client = connectToNode(member.address);
  try {
    const res = await client.service.getSpans({ correlationId }, { timeoutMs });
    return { ...member, spans: res.spans, ringCapacity: res.ringCapacity };
  } catch (err) {
    return { ...member, error: describeCallError(err, member.address, timeoutMs) };
  } finally {
    client.close();
  }
}

/**
 * A trace as `--json` prints it: spans depth-first with their depth, events (with their time after the span's
 * start) and links; times as decimal strings of Unix ns.
 */
function traceRecord(tree: TraceTree) {
  return {
    traceId: tree.traceId,
    agents: tree.agents,
    durationMs: Number(tree.endUnixNanos - tree.startUnixNanos) / 1e6,
    spans: flatten(tree).map(({ span, depth }) => ({
      traceId: span.traceId,
      spanId: span.spanId,
      parentSpanId: span.parentSpanId,
      name: span.name,
      agentId: span.agentId,
      kind: (SpanKind[span.kind] as string | undefined)?.toLowerCase() ?? "unspecified",
      depth,
      startUnixNanos: span.startUnixNanos.toString(),
      endUnixNanos: span.endUnixNanos.toString(),
      durationMs: durationMs(span),
      status: statusName(span),
      statusMessage: span.statusMessage,
      attributes: span.attributes,
      events: span.events.map((e) => ({ name: e.name, timeUnixNanos: e.timeUnixNanos.toString(), offsetMs: eventOffsetMs(span, e), attributes: e.attributes })),
      links: span.links.map((l) => ({ traceId: l.traceId, spanId: l.spanId, attributes: l.attributes })),
    })),
  };
}
