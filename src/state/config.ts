/**
 * Configuration of the replicated state: every timer and limit with its default and unit, in one place.
 * `defaultStateConfig` is tuned for a LAN; `fastStateConfig` overrides only what a test needs shorter.
 */
import { withDefaults } from "../protocol/config.js";
import { Code, MeshError } from "../protocol/errors.js";

/** Options of a GossipState. */
export interface StateConfig {
  /** Time between two gossip rounds of one node, ms. Default 200. */
  gossipIntervalMs: number;
  /** Random live peers sent a digest each round. Default 3. */
  fanout: number;
  /** Entries in one GossipUpdates at most (the rest goes in a later round); also caps its `wanted` list. Default 512. */
  maxEntriesPerMessage: number;
  /** Digest entries in one GossipDigest at most; a larger state is sent in windows that rotate across rounds. Default 4096. */
  maxDigestEntries: number;
  /** Key and value bytes in one GossipUpdates at most (one entry is always allowed), bytes. Default 1 MiB. */
  maxUpdateBytes: number;
  /** Largest encoded value `set` accepts, bytes; larger is refused with RESOURCE_EXHAUSTED. Default 64 KiB. */
  maxValueBytes: number;
  /**
   * How long a deletion marker is kept after the delete, ms; then it is collected. A node cut off for longer than
   * this may bring a deleted key back, so keep it above the longest partition expected to heal; at least
   * `gossipIntervalMs`. Default 60000.
   */
  tombstoneTtlMs: number;
}

/** Defaults tuned for a LAN. */
export const defaultStateConfig: Readonly<StateConfig> = Object.freeze({
  gossipIntervalMs: 200,
  fanout: 3,
  maxEntriesPerMessage: 512,
  maxDigestEntries: 4096,
  maxUpdateBytes: 1024 * 1024,
  maxValueBytes: 64 * 1024,
  tombstoneTtlMs: 60_000,
});

/** A fast preset for tests and local runs: short rounds and a short tombstone lifetime; limits as the defaults. */
export const fastStateConfig: Readonly<StateConfig> = Object.freeze({
  ...defaultStateConfig,
  gossipIntervalMs: 20,
  tombstoneTtlMs: 2000,
});

/** The defaults with `overrides` applied, checked; a bad field is an INVALID_ARGUMENT naming it. */
export function stateConfig(overrides: Partial<StateConfig> = {}, base: Readonly<StateConfig> = defaultStateConfig): StateConfig {
  const config = withDefaults(base, overrides);
  const atLeast = (field: keyof StateConfig, min: number, integer = true): void => {
    const v = config[field];
    if (typeof v !== "number" || !Number.isFinite(v) || v < min || (integer && !Number.isInteger(v))) {
      throw new MeshError(Code.InvalidArgument, `state config field ${field} must be ${integer ? "an integer" : "a number"} >= ${min}, got ${v}`);
    }
  };
  atLeast("gossipIntervalMs", 1, false);
  atLeast("fanout", 1);
  atLeast("maxEntriesPerMessage", 1);
  atLeast("maxDigestEntries", 2); // one window entry plus the window marker
  atLeast("maxUpdateBytes", 1);
  atLeast("maxValueBytes", 1);
  atLeast("tombstoneTtlMs", 0, false);
  if (config.tombstoneTtlMs < config.gossipIntervalMs) {
    // A delete must outlive at least one round, or it never leaves the node that made it.
    throw new MeshError(
      Code.InvalidArgument,
      `state config field tombstoneTtlMs (${config.tombstoneTtlMs}) must be at least gossipIntervalMs (${config.gossipIntervalMs})`,
    );
  }
  return config;
}
