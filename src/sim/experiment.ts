/**
 * One simulated case: a mesh of N nodes at one loss rate and seed, built, joined and left to settle, then put
 * through the measurements `npm run sim` reports, in this order on the same mesh:
 * 1. a fault-free watch (no crash) of `fpMs` simulated ms: false suspicions, false deaths, messages per node per s;
 * 2. state updates: GossipState.set on a random node, timed until every running node holds the value;
 * 3. freezes: a random node's traffic is dropped for 5 s while its process runs on (a SIGSTOP as the network sees
 *    it), timed until every other node holds it dead, then until every node sees every node alive again;
 * 4. crashes: a random node crashes (at a random phase), timed until every survivor holds it dead, then 2 s pass.
 * Everything runs at the default configuration unless the spec overrides it. Deterministic for a given spec.
 */
import type { SwimConfig } from "../membership/config.js";
import { defaultStateConfig, type StateConfig } from "../state/config.js";
import { SwimMesh } from "./swim-mesh.js";
import { deriveSeed, seededRandom } from "./virtual-clock.js";

/** What to simulate. */
export interface CaseSpec {
  /** Nodes. */
  n: number;
  /** Fraction of messages lost at random. */
  lossRate: number;
  /** PRNG seed of the run. */
  seed: number;
  /** Simulated ms of the fault-free watch; 0 skips it. */
  fpMs: number;
  /** State updates to time. */
  updates: number;
  /** Freezes to time (one after another, on the same mesh). Default 0. */
  freezes?: number;
  /** Crashes to time (one after another, on the same mesh). */
  crashes: number;
  /** SWIM overrides (default none: the LAN defaults). */
  swim?: Partial<SwimConfig>;
  /** State overrides (default none). */
  state?: Partial<StateConfig>;
}

/** The fault-free watch. */
export interface WatchResult {
  /** Simulated ms watched. */
  ms: number;
  /** Probes of live members that failed (each starts or confirms a suspicion of a member that is fine). */
  falseSuspicions: number;
  /** Times a node declared a running member dead. */
  falseDeaths: number;
  /** Membership messages sent per node per simulated second. */
  membershipPerNodePerSec: number;
  /** State messages sent per node per simulated second. */
  statePerNodePerSec: number;
}

/** One update's spread. */
export interface UpdateResult {
  /** Simulated ms until every running node held the value; null when it had not after the limit. */
  ms: number | null;
  /** The same in state gossip rounds: ceil(ms / gossipIntervalMs). */
  rounds: number | null;
}

/** What a case measured. */
export interface CaseResult {
  /** The spec, as run. */
  spec: CaseSpec;
  /** Simulated ms from the first start until every node saw every other alive; null when that never happened. */
  joinMs: number | null;
  /** Simulated ms then waited for dissemination to calm down. */
  settleMs: number;
  /** The fault-free watch, when run. */
  watch?: WatchResult;
  /** The updates. */
  updates: UpdateResult[];
  /** Per crash: simulated ms until every survivor held the crashed node dead; null when not within the limit. */
  detections: (number | null)[];
  /** Per freeze: simulated ms until every other node held the frozen node dead; null when not while frozen. */
  freezeDetections: (number | null)[];
  /** Per freeze: simulated ms from the end of the freeze until every node saw every node alive; null when not within the limit. */
  rejoins: (number | null)[];
  /** Running members declared dead at any time outside the watch (should be 0). */
  falseDeathsElsewhere: number;
  /** The same by phase (join, settle, updates, freezes, crashes); phases with none are left out. */
  falseDeathsByPhase: Record<string, number>;
  /** Simulated seconds run in all. */
  simulatedSec: number;
  /** Wall-clock ms this case took. */
  wallMs: number;
  /** Wall-clock ms of each phase. */
  phaseWallMs: Record<"join" | "settle" | "watch" | "updates" | "freezes" | "crashes", number>;
}

const joinLimitMs = 300_000;
const settleLimitMs = 120_000;
const updateLimitMs = 60_000;
const detectLimitMs = 60_000;
/** How long a frozen node stays cut off. */
export const freezeMs = 5000;
const rejoinLimitMs = 60_000;

/** Runs one case. */
export function runCase(spec: CaseSpec): CaseResult {
  const wallStart = Date.now();
  let lap = wallStart;
  const phase = (): number => {
    const now = Date.now();
    const ms = now - lap;
    lap = now;
    return ms;
  };
  const random = seededRandom(deriveSeed(spec.seed, 1_000_003));
  let falseDeaths = 0;
  let current = "join";
  const byPhase: Record<string, number> = {};
  let freezing = false; // deaths while a node is frozen (of it, and by it of others) are the point, not false
  const mesh: SwimMesh = new SwimMesh({
    n: spec.n,
    seed: spec.seed,
    lossRate: spec.lossRate,
    config: spec.swim,
    stateConfig: spec.state,
    onEvent: (_observer, event) => {
      if (event.t === "leave" && event.reason === "dead") {
        const t = mesh.view.index(event.agent.id);
        if (t !== undefined && !mesh.nodes[t].crashed && !freezing) {
          falseDeaths++;
          byPhase[current] = (byPhase[current] ?? 0) + 1;
        }
      }
    },
  });
  const startMs = mesh.clock.now();
  const joinMs = mesh.runUntil(() => mesh.converged(), joinLimitMs, 100) ?? null;
  const joinWall = phase();
  current = "settle";

  // Settle: until a simulated second passes with less than one piggybacked update per ten nodes.
  const settleStart = mesh.clock.now();
  for (;;) {
    const before = mesh.net.stats.piggybacked;
    mesh.clock.advance(1000);
    if (mesh.net.stats.piggybacked - before <= spec.n / 10 || mesh.clock.now() - settleStart >= settleLimitMs) break;
  }
  const settleMs = mesh.clock.now() - settleStart;
  const settleWall = phase();
  current = "watch";

  let watch: WatchResult | undefined;
  if (spec.fpMs > 0) {
    const suspicions = () => mesh.nodes.reduce((s, n) => s + n.swim.stats.suspicions, 0);
    const s0 = suspicions();
    const d0 = falseDeaths;
    const { membership: m0, state: st0 } = { ...mesh.net.stats.sentByKind };
    mesh.clock.advance(spec.fpMs);
    const perNodeSec = spec.n * (spec.fpMs / 1000);
    watch = {
      ms: spec.fpMs,
      falseSuspicions: suspicions() - s0,
      falseDeaths: falseDeaths - d0,
      membershipPerNodePerSec: (mesh.net.stats.sentByKind.membership - m0) / perNodeSec,
      statePerNodePerSec: (mesh.net.stats.sentByKind.state - st0) / perNodeSec,
    };
  }

  const watchWall = phase();
  current = "updates";
  const interval = spec.state?.gossipIntervalMs ?? defaultStateConfig.gossipIntervalMs;
  const updates: UpdateResult[] = [];
  for (let u = 0; u < spec.updates; u++) {
    mesh.clock.advance(1000 * random());
    const running = mesh.survivors();
    const origin = running[Math.floor(random() * running.length)];
    const key = `sim/update/${u}`;
    const setAt = mesh.clock.now();
    let doneAt: number | undefined;
    origin.state.set(key, { from: origin.id, u });
    mesh.whenEverywhere(key, (at) => (doneAt = at));
    mesh.runUntil(() => doneAt !== undefined, updateLimitMs, 50);
    const ms = doneAt === undefined ? null : doneAt - setAt;
    updates.push({ ms, rounds: ms === null ? null : Math.max(1, Math.ceil(ms / interval)) });
  }

  const updatesWall = phase();
  current = "freezes";
  const freezeDetections: (number | null)[] = [];
  const rejoins: (number | null)[] = [];
  for (let f = 0; f < (spec.freezes ?? 0); f++) {
    mesh.clock.advance(1000 * random());
    const running = mesh.survivors();
    const frozen = running[Math.floor(random() * running.length)];
    const frozenAt = mesh.clock.now();
    let doneAt: number | undefined;
    freezing = true;
    mesh.isolate(frozen);
    const stopWatching = mesh.whenGoneEverywhere(frozen, (at) => (doneAt = at));
    mesh.clock.advanceTo(frozenAt + freezeMs);
    stopWatching();
    freezeDetections.push(doneAt === undefined ? null : doneAt - frozenAt);
    mesh.restore(frozen);
    rejoins.push(mesh.runUntil(() => mesh.converged(), rejoinLimitMs, 100) ?? null);
    freezing = false;
    mesh.clock.advance(2000);
  }

  const freezesWall = phase();
  current = "crashes";
  const detections: (number | null)[] = [];
  for (let c = 0; c < spec.crashes; c++) {
    mesh.clock.advance(1000 * random());
    const running = mesh.survivors();
    const victim = running[Math.floor(random() * running.length)];
    const crashAt = mesh.clock.now();
    let doneAt: number | undefined;
    mesh.crash(victim);
    mesh.whenGoneEverywhere(victim, (at) => (doneAt = at));
    mesh.runUntil(() => doneAt !== undefined, detectLimitMs, 100);
    detections.push(doneAt === undefined ? null : doneAt - crashAt);
    mesh.clock.advance(2000);
  }

  const crashesWall = phase();
  const watched = watch?.falseDeaths ?? 0;
  return {
    spec,
    joinMs,
    settleMs,
    watch,
    updates,
    detections,
    freezeDetections,
    rejoins,
    falseDeathsElsewhere: falseDeaths - watched,
    falseDeathsByPhase: Object.fromEntries(Object.entries(byPhase).filter(([name]) => name !== "watch")),
    simulatedSec: (mesh.clock.now() - startMs) / 1000,
    wallMs: Date.now() - wallStart,
    phaseWallMs: { join: joinWall, settle: settleWall, watch: watchWall, updates: updatesWall, freezes: freezesWall, crashes: crashesWall },
  };
}
