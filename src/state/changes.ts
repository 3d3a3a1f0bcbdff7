/**
 * Change events of the replicated state. Listeners hear every visible change — a value written, or a value
 * deleted — whether made here or arriving by gossip; writes that change nothing visible (a tombstone for a key
 * that had no value) stay silent. Listeners run synchronously after the change is applied, so they may read or
 * write the state; one that throws is logged and the others still run.
 */
import { MeshError } from "../protocol/errors.js";
import type { Logger } from "../protocol/logger.js";
import type { StoredEntry } from "./store.js";
import { decodeValue } from "./values.js";
import type { Version } from "./versions.js";

/** One change of the visible state, local or remote. */
export interface StateChange {
  /** The key. */
  readonly key: string;
  /** The new value; undefined when the key was deleted. */
  readonly value: unknown;
  /** True when the key was deleted. */
  readonly deleted: boolean;
  /** The version of the write or delete. */
  readonly version: Version;
  /** The agent that made it (the version's origin). */
  readonly origin: string;
  /** True when this node made it (set or delete here), false when it arrived by gossip. */
  readonly local: boolean;
}

/** Receives state changes. Called synchronously, after the change is applied; must not throw (a throw is logged and ignored). */
export type StateChangeListener = (change: StateChange) => void;

/** The listeners of one node's state. */
export class ChangeFeed {
  private readonly listeners = new Set<StateChangeListener>();

  /** Creates a feed that logs listener failures to `logger`. */
  constructor(private readonly logger: Logger) {}

  /** Adds `listener`; returns a function that removes it. */
  subscribe(listener: StateChangeListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** Tells the listeners that `entry` replaced `previous`, when that changed something visible. */
  emit(entry: StoredEntry, previous: StoredEntry | undefined, local: boolean): void {
    if (this.listeners.size === 0) return;
    const wasLive = previous !== undefined && !previous.tombstone;
    if (entry.tombstone && !wasLive) return;
    let value: unknown;
    if (!entry.tombstone) {
      try {
        value = decodeValue(entry);
      } catch (err) {
        this.logger.warn({ key: entry.key, err: MeshError.from(err).message }, "state value is not JSON");
        return;
      }
    }
    const change: StateChange = { key: entry.key, value, deleted: entry.tombstone, version: entry.version, origin: entry.version.origin, local };
    for (const listener of [...this.listeners]) {
      try {
        listener(change);
      } catch (err) {
        this.logger.warn({ key: entry.key, err: MeshError.from(err).message }, "state change listener threw");
      }
    }
  }
}
