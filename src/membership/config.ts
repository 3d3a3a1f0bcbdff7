/**
 * SWIM membership configuration. Every interval, timeout, fanout and multiplier, with its unit and the formula
 * it feeds, and the defaults (tuned for a LAN: a crashed or frozen agent is declared dead by every member
 * within about 3 s). `localSwimConfig` is a faster preset for tests on loopback.
 */
import { withDefaults } from "../protocol/config.js";

/** Options of the SWIM failure detector and dissemination. */
export interface SwimConfig {
  /** Interval between probes of one member (round-robin over a shuffled list), ms. Default 150. */
  probeIntervalMs: number;
  /** Time to wait for a direct ack before asking others to probe, ms (scaled by local awareness). Default 100. */
  probeTimeoutMs: number;
  /** Members asked to probe indirectly when a direct probe gets no ack (SWIM's k). Default 3. */
  indirectChecks: number;
  /**
   * Suspicion multiplier: the minimum suspicion timeout is suspicionMult × max(1, log10(N)) × probeIntervalMs.
   * Default 3 (with the 150 ms probe interval: 0.45 s at N ≤ 10, 1.35 s at N = 1,000; `npm run sim` measures
   * every crash declared dead everywhere within 3 s at N = 1,000 with no false deaths at 1 % message loss).
   */
  suspicionMult: number;
  /**
   * The minimum suspicion timeout is never below this, ms. Default 1000: in small meshes the formula above
   * gives 0.45 s, too little for a live member on a busy machine to hear the suspicion and refute it; from
   * N ≈ 100 up the formula is larger and this has no effect.
   */
  suspicionFloorMs: number;
  /**
   * The maximum suspicion timeout is this × the minimum; a suspicion starts at the maximum and shrinks towards
   * the minimum as independent members confirm it (Lifeguard). Default 1.5 (at N = 1,000: 1.35 to 2.0 s).
   */
  suspicionMaxTimeoutMult: number;
  /** Retransmissions of each update: retransmitMult × ceil(log10(N + 1)). Default 4. */
  retransmitMult: number;
  /** Updates piggybacked on one message at most. Default 16. */
  maxPiggybackUpdates: number;
  /** Interval of the gossip round that pushes pending updates to a few members, ms. Default 100. */
  gossipIntervalMs: number;
  /** Members per gossip round. Default 3. */
  gossipFanout: number;
  /** How long dead members still receive gossip (so a frozen member learns it was declared dead), ms. Default 5000. */
  gossipToDeadMs: number;
  /** Interval of the full member-list exchange with one random member (push-pull), ms. Default 5000. */
  pushPullIntervalMs: number;
  /** While no member is known, interval between attempts to join through the seeds, ms. Default 1000. */
  joinRetryMs: number;
  /** Interval of attempts to reach one member declared dead (how split meshes merge after a partition), ms. Default 2000. */
  reconnectIntervalMs: number;
  /** How long dead and left members stay listed (as dead/left) before they are forgotten, ms. Default 60000. */
  deadRetentionMs: number;
  /** Local health (Lifeguard awareness): timeouts are scaled by up to this factor when this node seems slow. Default 8. */
  awarenessMax: number;
}

/** LAN defaults. */
export const defaultSwimConfig: Readonly<SwimConfig> = Object.freeze({
  probeIntervalMs: 150,
  probeTimeoutMs: 100,
  indirectChecks: 3,
  suspicionMult: 3,
  suspicionFloorMs: 1000,
  suspicionMaxTimeoutMult: 1.5,
  retransmitMult: 4,
  maxPiggybackUpdates: 16,
  gossipIntervalMs: 100,
  gossipFanout: 3,
  gossipToDeadMs: 5000,
  pushPullIntervalMs: 5000,
  joinRetryMs: 1000,
  reconnectIntervalMs: 2000,
  deadRetentionMs: 60_000,
  awarenessMax: 8,
});

/** A faster preset for tests on loopback: only what differs from the LAN defaults. */
export const localSwimConfig: Readonly<Partial<SwimConfig>> = Object.freeze({
  pushPullIntervalMs: 1000,
  joinRetryMs: 200,
  reconnectIntervalMs: 500,
});

/** The defaults with `overrides` applied. */
export function swimConfig(overrides: Partial<SwimConfig> = {}): SwimConfig {
  return withDefaults(defaultSwimConfig, overrides);
}
