/**
 * GossipState: a key-value map replicated on every node by anti-entropy gossip, last writer wins.
 *
 * Each round (every `gossipIntervalMs`, the first one at a random phase so nodes do not fire in lockstep) a node
 * sends a digest — every key's version, or a rotating window of them when the state is large — to `fanout`
 * random live peers. The receiver answers with one GossipUpdates: the entries it has newer than the digest, the
 * entries the digest lacks, and `wanted`, the keys the digest has newer. The digest's sender applies those and,
 * when `wanted` is not empty, answers once more with those entries and an empty `wanted`, which ends the exchange.
 * No exchange keeps state between messages and applying an entry is idempotent, so lost, duplicated, reordered or
 * late messages cost at most a round. Writes tick the node's Lamport clock; applying a remote entry sets it to
 * max(local, remote) + 1, so a node's next write beats everything it has seen.
 *
 * Depends only on its seams: a Clock for time and timers, a random source, `send`, `receive` and `peers`.
 */
import { systemClock, type Clock, type TimerHandle } from "../protocol/clock.js";
import type { Body } from "../protocol/envelope.js";
import { Code, MeshError } from "../protocol/errors.js";
import { silentLogger, type Logger } from "../protocol/logger.js";
import type { GossipDigest, GossipUpdates } from "../../gen/agentmesh/v1/gossip_pb.js";
import { ChangeFeed, type StateChangeListener } from "./changes.js";
import { stateConfig, type StateConfig } from "./config.js";
import { nextDigestWindow } from "./digest-window.js";
import { sample } from "./sample.js";
import type { GossipReceiver, GossipSend, LivePeers, RandomSource, TraceOfWrite, WriteTrace } from "./seams.js";
import { tombstoneValue, VersionedStore, type StoredEntry } from "./store.js";
import { checkKey, decodeValue, encodeValue } from "./values.js";
import { compareVersions, isNewer, observe, tick, type Version } from "./versions.js";
import { digestBody, digestCovers, fromStateEntry, readDigest, updatesBody, withinLimits } from "./wire.js";

export type { StateChange, StateChangeListener } from "./changes.js";

/** How a GossipState is built. */
export interface GossipStateOptions {
  /** This node's id: the origin of its writes. */
  selfId: string;
  /** Sends a gossip body to a peer, best effort. */
  send: GossipSend;
  /** The live peers now (membership decides). */
  peers: LivePeers;
  /** Time and timers; default the system clock. */
  clock?: Clock;
  /** Random source for peer choice and round phase; default Math.random. */
  random?: RandomSource;
  /** Overrides of `defaultStateConfig`. */
  config?: Partial<StateConfig>;
  /** Where problems are logged; default silent. */
  logger?: Logger;
  /** The Lamport clock to start from; default 0. A node that restarts may seed it (e.g. with the wall clock) so its new writes beat its old ones. */
  initialLamport?: bigint;
  /** The trace context of the work making a local write, kept with the entry and sent with it; default: none. */
  traceOf?: TraceOfWrite;
}

/** One live key with its value. */
export interface StateItem {
  /** The key. */
  readonly key: string;
  /** The value. */
  readonly value: unknown;
  /** Its version. */
  readonly version: Version;
}

/** Counters of one node's gossip, for measurements. */
export interface GossipStats {
  /** Rounds run. */
  rounds: number;
  /** Digests sent. */
  digestsSent: number;
  /** GossipUpdates sent. */
  updatesSent: number;
  /** Entries sent in GossipUpdates. */
  entriesSent: number;
  /** Bodies `send` threw on. */
  sendFailures: number;
  /** Received entries that were newer and applied. */
  entriesApplied: number;
  /** Received entries that were not newer. */
  entriesStale: number;
  /** Tombstones collected. */
  tombstonesCollected: number;
}

type Lifecycle = { t: "stopped" } | { t: "running"; timer: TimerHandle | undefined };

/** Replicated key-value state of one node. */
export class GossipState implements GossipReceiver {
  /** This node's id. */
  readonly selfId: string;
  /** The effective configuration. */
  readonly config: Readonly<StateConfig>;
  private readonly sendFn: GossipSend;
  private readonly peers: LivePeers;
  private readonly clock: Clock;
  private readonly random: RandomSource;
  private readonly logger: Logger;
  private readonly traceOf: TraceOfWrite | undefined;
  private readonly store: VersionedStore;
  private readonly changes: ChangeFeed;
  private readonly counters: GossipStats = {
    rounds: 0,
    digestsSent: 0,
    updatesSent: 0,
    entriesSent: 0,
    sendFailures: 0,
    entriesApplied: 0,
    entriesStale: 0,
    tombstonesCollected: 0,
  };
  private lamport: bigint;
  private lifecycle: Lifecycle = { t: "stopped" };
  private digestCursor: string | undefined;

  /** Creates the state of node `options.selfId`; rounds begin with `start()`, receiving works at once. */
  constructor(options: GossipStateOptions) {
    if (options.selfId === "") throw new MeshError(Code.InvalidArgument, "selfId must not be empty");
    this.selfId = options.selfId;
    this.config = Object.freeze(stateConfig(options.config));
    this.sendFn = options.send;
    this.peers = options.peers;
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    this.logger = (options.logger ?? silentLogger).child({ layer: "state", agent: options.selfId });
    this.lamport = options.initialLamport ?? 0n;
    this.traceOf = options.traceOf;
    this.store = new VersionedStore(this.config.tombstoneTtlMs);
    this.changes = new ChangeFeed(this.logger);
  }

  // ---- the map ----

  /** Writes `value` (anything JSON.stringify accepts) under `key`; returns the write's version. */
  set(key: string, value: unknown): Version {
    checkKey(key);
    const bytes = encodeValue(key, value, this.config.maxValueBytes);
    this.lamport = tick(this.lamport);
    const entry: StoredEntry = { key, value: bytes, version: { clock: this.lamport, origin: this.selfId }, tombstone: false, trace: this.writeTrace(key) };
    const { previous } = this.store.apply(entry, this.clock.now());
    this.changes.emit(entry, previous, true);
    return entry.version;
  }

  /** The value of `key` (decoded JSON; `T` is the caller's claim, unchecked), undefined when absent or deleted; DATA_LOSS when not JSON. */
  get<T = unknown>(key: string): T | undefined {
    const e = this.store.get(key);
    return e === undefined || e.tombstone ? undefined : (decodeValue(e) as T);
  }

  /** True when `key` has a value. */
  has(key: string): boolean {
    const e = this.store.get(key);
    return e !== undefined && !e.tombstone;
  }

  /** Deletes `key` (a tombstone replicates the delete); returns false, doing nothing, when it had no value. */
  delete(key: string): boolean {
    checkKey(key);
    const current = this.store.get(key);
    if (current === undefined || current.tombstone) return false;
    this.lamport = tick(this.lamport);
    const now = this.clock.now();
    const entry: StoredEntry = { key, value: tombstoneValue(now), version: { clock: this.lamport, origin: this.selfId }, tombstone: true, trace: this.writeTrace(key) };
    const { previous } = this.store.apply(entry, now);
    this.changes.emit(entry, previous, true);
    return true;
  }

  /** The live keys starting with `prefix` (default all), ascending. */
  keys(prefix = ""): string[] {
    const out: string[] = [];
    for (const key of this.store.sortedKeys()) {
      if (key.startsWith(prefix) && !(this.store.get(key) as StoredEntry).tombstone) out.push(key);
    }
    return out;
  }

  /** The live entries whose key starts with `prefix` (default all), ascending by key; DATA_LOSS when a value is not JSON. */
  entries(prefix = ""): StateItem[] {
    return this.keys(prefix).map((key) => {
      const e = this.store.get(key) as StoredEntry;
      return { key, value: decodeValue(e), version: e.version };
    });
  }

  /** The stored entry of `key` as replicated (raw value bytes; tombstones too), or undefined. */
  getEntry(key: string): StoredEntry | undefined {
    return this.store.get(key);
  }

  /** Entries held, tombstones included (what digests list). */
  get storedCount(): number {
    return this.store.size;
  }

  /** Calls `listener` on every visible change, local or remote; returns a function that unsubscribes it. */
  onChange(listener: StateChangeListener): () => void {
    return this.changes.subscribe(listener);
  }

  /** The convergence hash of this node's whole state (see convergence.ts): equal on nodes holding the same versions. */
  digestHash(): string {
    this.collect();
    return this.store.hash();
  }

  /** This node's Lamport clock now. */
  get lamportClock(): bigint {
    return this.lamport;
  }

  /** A copy of the gossip counters. */
  stats(): GossipStats {
    return { ...this.counters };
  }

  // ---- rounds ----

  /** True between start() and stop(). */
  get running(): boolean {
    return this.lifecycle.t === "running";
  }

  /** Starts the periodic rounds; the first comes after a random fraction of the interval. Idempotent. */
  start(): void {
    if (this.lifecycle.t === "running") return;
    const lifecycle: Lifecycle = { t: "running", timer: undefined };
    this.lifecycle = lifecycle;
    this.schedule(lifecycle, this.random() * this.config.gossipIntervalMs);
  }

  /** Stops the periodic rounds (receiving goes on). Idempotent. */
  stop(): void {
    if (this.lifecycle.t === "running") this.lifecycle.timer?.cancel();
    this.lifecycle = { t: "stopped" };
  }

  /** Runs one round now: collects expired tombstones and sends a digest to `fanout` random live peers. */
  runRound(): void {
    this.counters.rounds++;
    this.collect();
    const targets = sample(this.peers(), this.config.fanout, this.random, this.selfId);
    if (targets.length === 0) return;
    const window = nextDigestWindow(this.store.sortedKeys(), this.digestCursor, this.config.maxDigestEntries);
    this.digestCursor = window.cursor;
    const body = digestBody(
      window.keys.map((k) => this.store.get(k) as StoredEntry),
      window.partial,
    );
    for (const peer of targets) {
      this.counters.digestsSent++;
      this.sendTo(peer, body);
    }
  }

  private schedule(lifecycle: Extract<Lifecycle, { t: "running" }>, delayMs: number): void {
    lifecycle.timer = this.clock.setTimeout(() => {
      if (this.lifecycle !== lifecycle) return;
      try {
        this.runRound();
      } catch (err) {
        this.logger.warn({ err: MeshError.from(err).message }, "gossip round failed");
      }
      if (this.lifecycle === lifecycle) this.schedule(lifecycle, this.config.gossipIntervalMs);
    }, delayMs);
  }

  // ---- receiving ----

  /** Takes a received body; true when it was a gossip body (digest or updates). */
  receive(fromPeerId: string, body: Body): boolean {
    switch (body.case) {
      case "gossipDigest":
        this.onDigest(fromPeerId, body.value);
        return true;
      case "gossipUpdates":
        this.onUpdates(fromPeerId, body.value);
        return true;
      default:
        return false;
    }
  }

  /** Answers a digest: what we have newer or it lacks, and what it has newer. */
  private onDigest(from: string, digest: GossipDigest): void {
    this.collect();
    const theirs = readDigest(digest);
    const push: StoredEntry[] = [];
    const wanted: string[] = [];
    for (const [key, version] of theirs.versions) {
      const mine = this.store.get(key);
      if (isNewer(version, mine?.version)) wanted.push(key);
      else if (mine !== undefined && compareVersions(mine.version, version) > 0) push.push(mine);
    }
    for (const mine of this.store.values()) {
      if (!theirs.versions.has(mine.key) && digestCovers(theirs, mine.key)) push.push(mine);
    }
    const max = this.config.maxEntriesPerMessage;
    // Over the limit, send a random part: peers answering the same node then send different parts.
    const entries = withinLimits(push.length > max ? sample(push, max, this.random) : push, max, this.config.maxUpdateBytes);
    const ask = wanted.length > max ? sample(wanted, max, this.random) : wanted;
    if (entries.length > 0 || ask.length > 0) this.sendUpdates(from, entries, ask);
  }

  /** Applies pushed entries and answers `wanted` (with an empty `wanted`, so the exchange ends). */
  private onUpdates(from: string, updates: GossipUpdates): void {
    const now = this.clock.now();
    for (const m of updates.entries) {
      const entry = fromStateEntry(m);
      if (entry === undefined) continue;
      const { changed, previous } = this.store.apply(entry, now);
      if (!changed) {
        this.counters.entriesStale++;
        continue;
      }
      this.counters.entriesApplied++;
      this.lamport = observe(this.lamport, entry.version.clock);
      this.changes.emit(entry, previous, false);
    }
    if (updates.wanted.length === 0) return;
    const found: StoredEntry[] = [];
    const seen = new Set<string>();
    for (const key of updates.wanted) {
      if (seen.has(key)) continue;
      seen.add(key);
      const mine = this.store.get(key);
      if (mine !== undefined) found.push(mine);
    }
    const entries = withinLimits(found, this.config.maxEntriesPerMessage, this.config.maxUpdateBytes);
    if (entries.length > 0) this.sendUpdates(from, entries, []);
  }

  // ---- helpers ----

  /** The trace context of the work writing `key` now, when that is traced (a seam that throws costs the trace, not the write). */
  private writeTrace(key: string): WriteTrace | undefined {
    try {
      return this.traceOf?.();
    } catch (err) {
      this.logger.debug({ key, err: MeshError.from(err).message }, "trace of a write not taken");
      return undefined;
    }
  }

  private sendUpdates(peer: string, entries: StoredEntry[], wanted: string[]): void {
    this.counters.updatesSent++;
    this.counters.entriesSent += entries.length;
    this.sendTo(peer, updatesBody(entries, wanted));
  }

  private sendTo(peer: string, body: Body): void {
    try {
      this.sendFn(peer, body);
    } catch (err) {
      this.counters.sendFailures++;
      this.logger.debug({ peer, body: body.case, err: MeshError.from(err).message }, "gossip send failed");
    }
  }

  private collect(): void {
    this.counters.tombstonesCollected += this.store.collect(this.clock.now()).length;
  }
}
