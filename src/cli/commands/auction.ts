/** `agent-mesh auction`: auctions a task through a node and prints the bids, the winner and the result. */
import { toPayload } from "../../protocol/payload.js";
import { connectToNode, describeCallError } from "../client.js";
import { parseInteger, parseOptions, parseTaskTarget } from "../args.js";
import { payloadValue } from "../format.js";
import { fail, println, type CliIo } from "../io.js";
import { usage } from "../usage.js";

/** Time the client allows beyond bidding and the task's run, ms. */
const CLIENT_GRACE_MS = 5000;

/** Runs `agent-mesh auction`; resolves with the exit code. */
export async function auctionCommand(args: string[], io: CliIo): Promise<number> {
  const v = parseOptions(args, {
    to: { type: "string" },
    capability: { type: "string" },
    input: { type: "string" },
    deadline: { type: "string" },
    timeout: { type: "string" },
    json: { type: "boolean" },
    help: { type: "boolean", short: "h" },
  });
  if (v.help === true) {
    println(io.stdout, usage("auction"));
    return 0;
  }
  const { to, capability, input } = parseTaskTarget(v);
  const biddingDeadlineMs = v.deadline === undefined ? 2000 : parseInteger(v.deadline, "deadline", 1, 600_000);
  const timeoutMs = v.timeout === undefined ? 30_000 : parseInteger(v.timeout, "timeout", 1, 3_600_000);
  const clientTimeoutMs = biddingDeadlineMs + timeoutMs + CLIENT_GRACE_MS;
  const client = connectToNode(to);
  try {
    const a = await client.service.auctionTask(
      { capability, input: toPayload(input), biddingDeadlineMs, timeoutMs },
      { timeoutMs: clientTimeoutMs },
    );
    const output = payloadValue(a.output);
    println(io.stderr, `correlation_id=${a.correlationId} winner=${a.winnerId}`);
    const bids = a.bids.map((b) => ({ agent: b.bid?.agentId ?? "", score: Number(b.score.toFixed(4)), load: b.bid?.load ?? 0, capacity: b.bid?.capacity ?? 0 }));
    if (v.json === true) {
      println(
        io.stdout,
        JSON.stringify({
          winner: a.winnerId,
          output,
          bids,
          declined: a.declined.map((d) => ({ agent: d.agentId, reason: d.reason })),
          awards: a.awards.map((w) => ({ agent: w.agentId, outcome: w.outcome })),
          taskId: a.taskId,
          correlationId: a.correlationId,
          biddingMs: a.biddingMs,
          durationMs: a.durationMs,
        }),
      );
    } else {
      println(io.stdout, `bids (closed after ${a.biddingMs} ms):`);
      for (const b of bids) println(io.stdout, `  ${b.agent.padEnd(16)} score ${b.score.toFixed(3)}  load ${b.load}/${b.capacity}`);
      for (const d of a.declined) println(io.stdout, `  ${d.agentId.padEnd(16)} no bid: ${d.reason}`);
      for (const w of a.awards) println(io.stdout, `award ${w.agentId}: ${w.outcome}`);
      println(io.stdout, `winner ${a.winnerId} in ${a.durationMs} ms: ${JSON.stringify(output)}`);
    }
    return 0;
  } catch (err) {
    return fail(io, describeCallError(err, to, clientTimeoutMs));
  } finally {
    client.close();
  }
}
