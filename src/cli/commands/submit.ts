/** `agent-mesh submit`: submits one task to a node and prints its output. */
import { toPayload } from "../../protocol/payload.js";
import { connectToNode, describeCallError } from "../client.js";
import { parseInteger, parseOptions, parseTaskTarget } from "../args.js";
import { payloadValue } from "../format.js";
import { fail, println, type CliIo } from "../io.js";
import { usage } from "../usage.js";

/** The node's task timeout when the client sets none, ms (AgentNodeConfig.defaultTaskTimeoutMs's default). */
const NODE_DEFAULT_TASK_TIMEOUT_MS = 30_000;
/** Extra time the client waits beyond the task's timeout, so the node's own DEADLINE_EXCEEDED arrives first, ms. */
const CLIENT_GRACE_MS = 5000;

/** Runs `agent-mesh submit`; resolves with the exit code. */
export async function submitCommand(args: string[], io: CliIo): Promise<number> {
  const v = parseOptions(args, {
    to: { type: "string" },
    capability: { type: "string" },
    input: { type: "string" },
    timeout: { type: "string" },
    json: { type: "boolean" },
    help: { type: "boolean", short: "h" },
  });
  if (v.help === true) {
    println(io.stdout, usage("submit"));
    return 0;
  }
  const { to, capability, input } = parseTaskTarget(v);
  const timeoutMs = v.timeout === undefined ? undefined : parseInteger(v.timeout, "timeout", 1, 3_600_000);
  const clientTimeoutMs = (timeoutMs ?? NODE_DEFAULT_TASK_TIMEOUT_MS) + CLIENT_GRACE_MS;
  const client = connectToNode(to);
  try {
    const res = await client.service.submitTask(
      { capability, input: toPayload(input), timeoutMs: timeoutMs ?? 0 },
      { timeoutMs: clientTimeoutMs },
    );
    const output = payloadValue(res.output);
    println(io.stderr, `correlation_id=${res.correlationId} agent=${res.agentId}`);
    const printed =
      v.json === true
        ? { output, agentId: res.agentId, taskId: res.taskId, correlationId: res.correlationId, hops: res.hops, durationMs: res.durationMs }
        : output;
    println(io.stdout, JSON.stringify(printed));
    return 0;
  } catch (err) {
    return fail(io, describeCallError(err, to, clientTimeoutMs));
  } finally {
    client.close();
  }
}
