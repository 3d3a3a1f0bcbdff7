/** `agent-mesh agents`: lists the agents a node knows, as a table or as JSON. */
import { connectToNode, describeCallError } from "../client.js";
import { parseAddress, parseInteger, parseOptions, required } from "../args.js";
import { agentRecord, agentsTable } from "../format.js";
import { fail, println, type CliIo } from "../io.js";
import { usage } from "../usage.js";

/** How long `agents` waits for an answer by default, ms. */
export const DEFAULT_AGENTS_TIMEOUT_MS = 5000;

/** Runs `agent-mesh agents`; resolves with the exit code. */
export async function agentsCommand(args: string[], io: CliIo): Promise<number> {
  const v = parseOptions(args, {
    to: { type: "string" },
    json: { type: "boolean" },
    timeout: { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  if (v.help === true) {
    println(io.stdout, usage("agents"));
    return 0;
  }
  const to = parseAddress(required(v.to, "to"), "to");
  const timeoutMs = v.timeout === undefined ? DEFAULT_AGENTS_TIMEOUT_MS : parseInteger(v.timeout, "timeout", 1, 3_600_000);
  const client = connectToNode(to);
  try {
    const res = await client.service.listAgents({}, { timeoutMs });
    const agents = res.agents.map(agentRecord);
    println(io.stdout, v.json === true ? JSON.stringify(agents) : agentsTable(agents));
    return 0;
  } catch (err) {
    return fail(io, describeCallError(err, to, timeoutMs));
  } finally {
    client.close();
  }
}
