/**
 * Benchmarks on a mesh of real node processes: the collaboration patterns on 5 peers, and gossip
 * dissemination and failure detection on 10.
 *
 * The base mesh: g0 (echo, sleep), g1–g4 (echo), and, with the gossip benchmarks, g5–g8 (uppercase), all
 * built-in nodes (their example collaborator votes), joined through g0. Every base node is watched with
 * WatchMembership from here, each event timestamped on arrival.
 *
 * - consensus: ReachConsensus on g0 with voters g0–g4 (explicit), three options; round trip through a grpc-js
 *   client (as the load generator's) and the node's own duration, after a warm-up (the first 10 rounds'
 *   median is reported as the cold figure). Frozen voter: g4 gets SIGSTOP, a round with a 500 ms deadline must end at it.
 * - auction: AuctionTask(echo) on g0; bidders are the five echo agents (g0 included).
 * - load change: SubmitTask(sleep 1500 ms) on g0 (only g0 has sleep, so it runs there); time until every
 *   other node lists g0 with load ≥ 1 (ListAgents, polled every 20 ms), and back to 0 after it finished.
 * - capability announce: a 10th process (the benchmark's agent module) joins; then, on request, it announces
 *   a new capability; time until every base node's watcher reports it (UPDATE with the capability).
 * - failure detection: that 10th process gets SIGKILL; time until every base node's watcher reports it
 *   gone (LEAVE: declared dead by the SWIM failure detector).
 */
import { benchPath } from "../lib/processes.mjs";
import { rssMb } from "../lib/proc-stats.mjs";
import { grpcAgentClient, MembershipEventKind, MemberStatus, nodeClient, pollUntil, watchMembership } from "../lib/mesh-client.mjs";
import { spread } from "../lib/stats.mjs";
import { PAYLOAD_TEXT } from "../lib/wire.mjs";
import { create } from "@bufbuild/protobuf";
import { PayloadSchema } from "../../dist/gen/agentmesh/v1/payload_pb.js";

/** Voters' and bidders' count of the pattern benchmarks. */
const PEERS = 5;
/** The frozen voter's round deadline, ms. */
const FROZEN_DEADLINE_MS = 500;

/** Runs the cluster benchmarks selected in `ctx.only`; resolves with their results. */
export async function clusterSuite(ctx) {
  const { procs, only, log } = ctx;
  const gossip = only.has("gossip");
  const patterns = only.has("patterns");
  const size = gossip ? 9 : PEERS;
  const capabilities = (i) => (i === 0 ? "echo,sleep" : i < PEERS ? "echo" : "uppercase");
  const g0 = await procs.startNode("g0", ["--capabilities", capabilities(0)]);
  const rest = await Promise.all(Array.from({ length: size - 1 }, (_, i) => procs.startNode(`g${i + 1}`, ["--capabilities", capabilities(i + 1), "--seeds", g0.address])));
  const nodes = [g0, ...rest];
  const clients = nodes.map((n) => nodeClient(n.address));
  const watchers = clients.map((c) => watchMembership(c));
  try {
    await Promise.all(
      clients.map((c) =>
        pollUntil(async () => (await c.service.getStatus({})).membersAlive === size, { timeoutMs: 30_000, what: `${c.address} to see ${size} alive members` }),
      ),
    );
    await pollUntil(async () => (await clients[0].service.listAgents({ capability: "echo" })).agents.filter((a) => a.status === MemberStatus.ALIVE).length === PEERS, {
      timeoutMs: 20_000,
      what: `g0 to know ${PEERS} echo agents`,
    });
    log(`cluster: ${size} nodes up and joined`);
    await sleep(ctx.settleMs);
    const out = { nodes: size, idleRssMb: spread(nodes.map((n) => rssMb(n.pid))), idleRssMaxMb: Math.max(...nodes.map((n) => rssMb(n.pid))) };
    if (patterns) {
      const timed = grpcAgentClient(g0.address);
      try {
        out.consensus = await consensusRuns(ctx, timed, nodes);
        out.auction = await auctionRuns(ctx, timed);
        out.frozenVoter = await frozenVoter(ctx, nodes, clients, timed, size);
      } finally {
        timed.close();
      }
    }
    if (gossip) {
      out.loadChange = await loadChangeRuns(ctx, nodes, clients);
      out.membership = await joinAnnounceFailRuns(ctx, nodes, watchers, size);
    }
    return out;
  } finally {
    for (const w of watchers) w.close();
    for (const c of clients) c.close();
    await Promise.all(nodes.map((n) => procs.stop(n)));
  }
}

/** `ctx.runs` runs of `ctx.rounds` consensus rounds each: per run the median round trip (client) and node-side duration. */
async function consensusRuns(ctx, client, nodes) {
  const voters = nodes.slice(0, PEERS).map((n) => n.id);
  const request = () => ({ question: "which option is best for the benchmark?", options: ["alpha", "beta", "gamma"], voters });
  const coldMs = await warmUp(ctx, () => client.call("reachConsensus", request()));
  const rtt = [];
  const internal = [];
  let incomplete = 0;
  for (let r = 0; r < ctx.runs; r++) {
    const t = [];
    const d = [];
    for (let i = 0; i < ctx.rounds; i++) {
      const t0 = performance.now();
      const res = await client.call("reachConsensus", request());
      t.push(performance.now() - t0);
      d.push(res.durationMs);
      if (res.votes.length !== PEERS) incomplete++;
    }
    rtt.push(spread(t).median);
    internal.push(spread(d).median);
  }
  ctx.log(`consensus: ${ctx.runs} × ${ctx.rounds} rounds done`);
  return { voters: PEERS, rounds: ctx.rounds, coldMs, rttMs: spread(rtt), nodeMs: spread(internal), incomplete };
}

/** `ctx.runs` runs of `ctx.rounds` auctions each: per run the median round trip (client) and node-side duration. */
async function auctionRuns(ctx, client) {
  const input = create(PayloadSchema, { contentType: "application/json", data: new TextEncoder().encode(JSON.stringify(PAYLOAD_TEXT)) });
  const coldMs = await warmUp(ctx, () => client.call("auctionTask", { capability: "echo", input }));
  const rtt = [];
  const internal = [];
  const bidding = [];
  let incomplete = 0;
  for (let r = 0; r < ctx.runs; r++) {
    const t = [];
    const d = [];
    const b = [];
    for (let i = 0; i < ctx.rounds; i++) {
      const t0 = performance.now();
      const res = await client.call("auctionTask", { capability: "echo", input });
      t.push(performance.now() - t0);
      d.push(res.durationMs);
      b.push(res.biddingMs);
      if (res.bids.length !== PEERS || res.winnerId === "") incomplete++;
    }
    rtt.push(spread(t).median);
    internal.push(spread(d).median);
    bidding.push(spread(b).median);
  }
  ctx.log(`auction: ${ctx.runs} × ${ctx.rounds} auctions done`);
  return { bidders: PEERS, rounds: ctx.rounds, coldMs, rttMs: spread(rtt), nodeMs: spread(internal), biddingMs: spread(bidding), incomplete };
}

/** Consensus with g4 frozen (SIGSTOP): the round must end at its deadline with the other four votes. */
async function frozenVoter(ctx, nodes, clients, timed, size) {
  const voters = nodes.slice(0, PEERS).map((n) => n.id);
  const frozen = nodes[PEERS - 1];
  const rounds = [];
  for (let r = 0; r < ctx.frozenRuns; r++) {
    ctx.procs.signal(frozen, "SIGSTOP");
    let res;
    const t0 = performance.now();
    try {
      res = await timed.call("reachConsensus", { question: "frozen voter round", options: ["alpha", "beta"], voters, deadlineMs: FROZEN_DEADLINE_MS });
    } finally {
      ctx.procs.signal(frozen, "SIGCONT");
    }
    const ms = performance.now() - t0;
    rounds.push({ ms, votes: res.votes.length, abstained: res.abstained.map((a) => a.agentId), outcome: res.outcome });
    // Let the mesh settle again (the frozen node may have been suspected) before anything else runs.
    await Promise.all(
      clients.map((c) =>
        pollUntil(async () => {
          const s = await c.service.getStatus({});
          return s.membersAlive === size && s.membersSuspect === 0;
        }, { timeoutMs: 20_000, what: `${c.address} to see every member alive after the freeze` }),
      ),
    );
  }
  ctx.log(`frozen voter: ${rounds.length} rounds done`);
  return { deadlineMs: FROZEN_DEADLINE_MS, ms: spread(rounds.map((r) => r.ms)), rounds };
}

/** Load-change dissemination: g0 starts a 1.5 s sleep task; time until every other node lists g0 loaded, then unloaded. */
async function loadChangeRuns(ctx, nodes, clients) {
  const up = [];
  const down = [];
  const others = clients.slice(1);
  const loadOf = async (c) => (await c.service.listAgents({})).agents.find((a) => a.id === nodes[0].id)?.load ?? -1;
  const everyoneSees = async (predicate) => {
    const seen = others.map(() => undefined);
    await pollUntil(
      async () => {
        const loads = await Promise.all(others.map((c, i) => (seen[i] !== undefined ? undefined : loadOf(c))));
        const now = performance.now();
        loads.forEach((l, i) => {
          if (seen[i] === undefined && l !== undefined && predicate(l)) seen[i] = now;
        });
        return seen.every((s) => s !== undefined);
      },
      { timeoutMs: 15_000, intervalMs: 20, what: "every node to see g0's load change" },
    );
    return Math.max(...seen);
  };
  for (let r = 0; r < ctx.runs; r++) {
    const t0 = performance.now();
    const task = clients[0].service.submitTask({
      capability: "sleep",
      input: create(PayloadSchema, { contentType: "application/json", data: new TextEncoder().encode('{"ms":1500}') }),
      timeoutMs: 15_000,
    });
    up.push((await everyoneSees((l) => l >= 1)) - t0);
    await task;
    const t1 = performance.now();
    down.push((await everyoneSees((l) => l === 0)) - t1);
  }
  ctx.log(`load change: ${ctx.runs} runs done`);
  return { observers: others.length, loadUpMs: spread(up), loadDownMs: spread(down), pollIntervalMs: 20 };
}

/**
 * Per run: a 10th node joins (time until every base node lists it), announces a new capability (time until
 * every base node's watcher has it), then is killed (time until every base node reports it gone).
 */
async function joinAnnounceFailRuns(ctx, nodes, watchers, size) {
  const join = [];
  const announce = [];
  const detectLast = [];
  const detectFirst = [];
  for (let r = 0; r < ctx.runs; r++) {
    const id = `n${r}`;
    const since = performance.now();
    const n = await ctx.procs.startNode(id, ["--agent", benchPath("agents/bench-agent.mjs"), "--capabilities", "echo,bench_announce", "--seeds", nodes[0].address]);
    const ready = performance.now();
    const joined = await Promise.all(watchers.map((w) => w.waitFor((e) => e.agent?.id === id && e.kind !== MembershipEventKind.LEAVE, 15_000, since)));
    join.push(Math.max(...joined) - ready);

    const capability = `cap_${r}`;
    const client = nodeClient(n.address);
    const t0 = performance.now();
    try {
      await client.service.submitTask({
        capability: "bench_announce",
        input: create(PayloadSchema, { contentType: "application/json", data: new TextEncoder().encode(JSON.stringify({ capability })) }),
      });
    } finally {
      client.close();
    }
    const seen = await Promise.all(watchers.map((w) => w.waitFor((e) => e.agent?.id === id && e.agent.capabilities.includes(capability), 15_000, t0)));
    announce.push(Math.max(...seen) - t0);

    const t1 = performance.now();
    ctx.procs.signal(n, "SIGKILL");
    const gone = await Promise.all(watchers.map((w) => w.waitFor((e) => e.agent?.id === id && e.kind === MembershipEventKind.LEAVE, 30_000, t1)));
    detectLast.push(Math.max(...gone) - t1);
    detectFirst.push(Math.min(...gone) - t1);
    await n.child.exited;
  }
  ctx.log(`membership: ${ctx.runs} join/announce/kill runs done`);
  return {
    processes: size + 1,
    observers: size,
    joinSeenByAllMs: spread(join),
    announceSeenByAllMs: spread(announce),
    failureDetectedByAllMs: spread(detectLast),
    failureDetectedByFirstMs: spread(detectFirst),
  };
}

/**
 * Repeats `round` for ctx.patternWarmupMs (at least 10 times), so the JIT has compiled the path on every
 * node before it is timed; resolves with the median time of the first 10 rounds (the cold figure, ms).
 */
async function warmUp(ctx, round) {
  const end = performance.now() + ctx.patternWarmupMs;
  const first = [];
  for (let i = 0; i < 10 || performance.now() < end; i++) {
    const t0 = performance.now();
    await round();
    if (i < 10) first.push(performance.now() - t0);
  }
  return spread(first).median;
}

function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}
