/** The state layer's public surface: replicated key-value state by gossip, its config and convergence measure. */
export { GossipState, type GossipStateOptions, type GossipStats, type StateItem } from "./gossip-state.js";
export type { StateChange, StateChangeListener } from "./changes.js";
export { defaultStateConfig, fastStateConfig, stateConfig, type StateConfig } from "./config.js";
export { agreement, allAgree, roundsUntilAgreement, stateHash, type Agreement, type HashedEntry } from "./convergence.js";
export { compareVersions, isNewer, observe, tick, formatVersion, type Version } from "./versions.js";
export type { GossipReceiver, GossipSend, LivePeers, RandomSource } from "./seams.js";
export type { StoredEntry } from "./store.js";
