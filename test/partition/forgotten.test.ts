/**
 * What happens after dead members are forgotten (deadRetentionMs, short here): nothing of them stays behind
 * in the transport, and a split that outlasted the retention still merges once it heals (through the seeds).
 */
import { afterEach, describe, expect, it } from "vitest";
import { MemberStatus } from "../../gen/agentmesh/v1/membership_pb.js";
import { localSwimConfig } from "../../src/membership/config.js";
import { waitForConvergence } from "../helpers/memory-mesh.js";
import { waitFor } from "../helpers/wait.js";
import { startCluster, type Cluster } from "./cluster.js";

const retention = { membership: { ...localSwimConfig, deadRetentionMs: 1500 } };

let cluster: Cluster | undefined;
afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
});

describe("forgotten members (deadRetentionMs 1500 ms)", () => {
  it("leaves no link to a crashed node on any survivor once it is forgotten", async () => {
    const c = (cluster = await startCluster(5, { config: retention }));
    const victim = c.node("n3");
    const survivors = c.nodes.filter((n) => n !== victim);
    c.network.crash(victim.address);
    await waitFor(() => c.allSee(survivors, [victim], MemberStatus.DEAD), { what: "n3 dead everywhere", timeoutMs: 8000 });
    await waitFor(() => survivors.every((n) => c.statusOf(n, "n3") === undefined), { what: "n3 forgotten everywhere", timeoutMs: 8000 });
    await waitFor(() => survivors.every((n) => n.transport.links().every((l) => l.remoteAddress !== victim.address)), {
      what: "every link to n3's address to close",
      timeoutMs: 3000,
    });
    for (const n of survivors) expect(n.transport.links().filter((l) => l.remoteAddress === victim.address)).toEqual([]);
  });

  it("merges a {n1, n2} | {n3, n4, n5} split that lasted past the retention once it heals", async () => {
    const c = (cluster = await startCluster(5, { config: retention }));
    const left = [c.node("n1"), c.node("n2")];
    const right = [c.node("n3"), c.node("n4"), c.node("n5")];
    c.network.partitionGroups(
      left.map((n) => n.address),
      right.map((n) => n.address),
    );
    const forgotten = (viewers: typeof left, subjects: typeof left) => viewers.every((v) => subjects.every((s) => c.statusOf(v, s.id) === undefined));
    await waitFor(() => forgotten(left, right) && forgotten(right, left), { what: "each side to forget the other", timeoutMs: 15_000 });
    // Membership traffic to the unreachable side was dropped, not piled up on the links that keep redialing it.
    const queued = c.nodes.flatMap((n) => n.transport.links().filter((l) => l.state.t === "backoff").map((l) => l.queued));
    expect(Math.max(0, ...queued)).toBeLessThanOrEqual(1); // what a link took while it first dialed
    const started = Date.now();
    c.network.healAll();
    await waitFor(() => c.allSee(c.nodes, c.nodes, MemberStatus.ALIVE), { what: "everyone alive everywhere after healing", timeoutMs: 15_000 });
    await waitForConvergence(c.nodes, 5000);
    console.log(`a split past the retention merged ${Date.now() - started} ms after healing`);
  });
});
