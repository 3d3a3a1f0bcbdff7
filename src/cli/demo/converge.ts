/** Waits until every node of the demo lists every agent as alive, polling ListAgents with a deadline. */
import { MemberStatus } from "../../../gen/agentmesh/v1/membership_pb.js";
import type { NodeClient } from "../client.js";

/** Interval between polls, ms. */
const POLL_INTERVAL_MS = 100;

/** Resolves once each of `clients` lists all of `ids` alive and not draining; rejects after `timeoutMs` naming the laggard. */
export async function waitForMesh(clients: NodeClient[], ids: string[], timeoutMs: number, signal: AbortSignal): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lagging = "";
  for (;;) {
    signal.throwIfAborted();
    const views = await Promise.all(
      clients.map(async (c) => {
        try {
          const res = await c.service.listAgents({}, { timeoutMs: 2000, signal });
          const known = res.agents.filter((a) => ids.includes(a.id) && a.status === MemberStatus.ALIVE && !a.draining);
          return { self: res.selfId, known: known.length };
        } catch (err) {
          return { self: c.address, known: -1, error: err instanceof Error ? err.message : String(err) };
        }
      }),
    );
    const behind = views.find((v) => v.known !== ids.length);
    if (behind === undefined) return;
    lagging = behind.known < 0 ? `${behind.self} does not answer` : `${behind.self} knows ${behind.known} of ${ids.length} agents`;
    if (Date.now() > deadline) throw new Error(`the mesh did not form within ${timeoutMs} ms: ${lagging}`);
    await new Promise((r) => setTimeout(r, POLL_INTERVAL_MS));
  }
}
