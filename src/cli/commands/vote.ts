/** `agent-mesh vote`: runs a consensus round through a node and prints the decision. */
import { ConsensusOutcome } from "../../../gen/agentmesh/v1/patterns_pb.js";
import { connectToNode, describeCallError } from "../client.js";
import { parseAddress, parseCapabilities, parseInteger, parseList, parseOptions, required, UsageError } from "../args.js";
import { fail, println, type CliIo } from "../io.js";
import { usage } from "../usage.js";

/** Extra time the client waits beyond the round's deadline, ms. */
const CLIENT_GRACE_MS = 5000;

/** Runs `agent-mesh vote`; resolves with the exit code (0 decided or tie, 1 no quorum or failure). */
export async function voteCommand(args: string[], io: CliIo): Promise<number> {
  const v = parseOptions(args, {
    to: { type: "string" },
    question: { type: "string" },
    options: { type: "string" },
    capability: { type: "string" },
    voters: { type: "string" },
    quorum: { type: "string" },
    deadline: { type: "string" },
    json: { type: "boolean" },
    help: { type: "boolean", short: "h" },
  });
  if (v.help === true) {
    println(io.stdout, usage("vote"));
    return 0;
  }
  const to = parseAddress(required(v.to, "to"), "to");
  const question = required(v.question, "question");
  if (question.trim() === "") throw new UsageError("--question: must not be empty");
  const options = parseList(required(v.options, "options"));
  if (options.length < 1) throw new UsageError("--options: expected at least one option");
  const capability = v.capability === undefined ? "" : parseCapabilities(v.capability, "capability")[0];
  const voters = v.voters === undefined ? [] : parseList(v.voters);
  const quorum = v.quorum === undefined ? 0 : parseInteger(v.quorum, "quorum", 1, 10_000);
  const deadlineMs = v.deadline === undefined ? 5000 : parseInteger(v.deadline, "deadline", 1, 600_000);
  const client = connectToNode(to);
  try {
    const d = await client.service.reachConsensus({ question, options, capability, voters, quorum, deadlineMs }, { timeoutMs: deadlineMs + CLIENT_GRACE_MS });
    const outcome = ConsensusOutcome[d.outcome].toLowerCase();
    println(io.stderr, `correlation_id=${d.correlationId}`);
    if (v.json === true) {
      println(
        io.stdout,
        JSON.stringify({
          outcome,
          choice: d.choice === "" ? null : d.choice,
          confidence: d.confidence,
          quorum: d.quorum,
          tally: d.tally.map((t) => ({ choice: t.choice, weight: t.weight, votes: t.votes })),
          votes: d.votes.map((x) => ({ agent: x.agentId, choice: x.choice, weight: x.weight, rationale: x.rationale })),
          abstained: d.abstained.map((a) => ({ agent: a.agentId, reason: a.reason })),
          correlationId: d.correlationId,
          durationMs: d.durationMs,
        }),
      );
    } else {
      println(io.stdout, `${outcome}: ${d.choice === "" ? "(no choice)" : d.choice}  confidence ${d.confidence.toFixed(2)}  quorum ${d.quorum}  ${d.durationMs} ms`);
      for (const t of d.tally) println(io.stdout, `  ${t.choice.padEnd(20)} weight ${t.weight}  votes ${t.votes}`);
      for (const x of d.votes) println(io.stdout, `  vote     ${x.agentId}: ${x.choice}${x.rationale === "" ? "" : ` (${x.rationale})`}`);
      for (const a of d.abstained) println(io.stdout, `  abstain  ${a.agentId}: ${a.reason}`);
    }
    return d.outcome === ConsensusOutcome.NO_QUORUM ? 1 : 0;
  } catch (err) {
    return fail(io, describeCallError(err, to, deadlineMs + CLIENT_GRACE_MS));
  } finally {
    client.close();
  }
}
