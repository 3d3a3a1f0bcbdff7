/** `agent-mesh solve`: runs a collaborative solve through a node and prints the solution and its trail. */
import { connectToNode, describeCallError } from "../client.js";
import { parseAddress, parseInteger, parseList, parseOptions, required, UsageError } from "../args.js";
import { payloadValue } from "../format.js";
import { fail, println, type CliIo } from "../io.js";
import { usage } from "../usage.js";

/** Runs `agent-mesh solve`; resolves with the exit code. */
export async function solveCommand(args: string[], io: CliIo): Promise<number> {
  const v = parseOptions(args, {
    to: { type: "string" },
    problem: { type: "string" },
    agents: { type: "string" },
    "phase-timeout": { type: "string" },
    json: { type: "boolean" },
    help: { type: "boolean", short: "h" },
  });
  if (v.help === true) {
    println(io.stdout, usage("solve"));
    return 0;
  }
  const to = parseAddress(required(v.to, "to"), "to");
  const problem = required(v.problem, "problem");
  if (problem.trim() === "") throw new UsageError("--problem: must not be empty");
  const agents = v.agents === undefined ? [] : parseList(v.agents);
  const phaseMs = v["phase-timeout"] === undefined ? 5000 : parseInteger(v["phase-timeout"], "phase-timeout", 1, 600_000);
  const client = connectToNode(to);
  const clientTimeoutMs = phaseMs * 4 + 5000;
  try {
    const s = await client.service.collaborativeSolve(
      { problem, agents, brainstormMs: phaseMs, critiqueMs: phaseMs, voteMs: phaseMs, implementMs: phaseMs },
      { timeoutMs: clientTimeoutMs },
    );
    const trail = payloadValue(s.trail) as { ideas?: { text: string; author: string }[]; decision?: { votes?: { agent: string; choice: string }[] } };
    println(io.stderr, `correlation_id=${s.correlationId}`);
    if (v.json === true) {
      println(io.stdout, JSON.stringify({ solution: s.solution, implementer: s.implementerId, result: payloadValue(s.result), trail, correlationId: s.correlationId, durationMs: s.durationMs }));
      return 0;
    }
    println(io.stdout, "ideas:");
    for (const i of trail.ideas ?? []) println(io.stdout, `  ${i.author}: ${i.text}`);
    println(io.stdout, "votes:");
    for (const x of trail.decision?.votes ?? []) println(io.stdout, `  ${x.agent}: ${x.choice}`);
    println(io.stdout, `solution: ${s.solution}`);
    println(io.stdout, `implemented by ${s.implementerId} in ${s.durationMs} ms: ${JSON.stringify(payloadValue(s.result))}`);
    return 0;
  } catch (err) {
    return fail(io, describeCallError(err, to, clientTimeoutMs));
  } finally {
    client.close();
  }
}
