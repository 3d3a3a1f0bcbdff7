/**
 * The state layer's wire form: conversion between stored entries and the generated gossip messages, checks on
 * what arrives, and the size limits of what leaves. Conventions on top of gossip.proto:
 * - a GossipDigest that is one window of a larger state ends with a marker entry whose key is empty and which
 *   has no version (keys are never empty); its entries cover the key range from its first to its last key;
 * - a tombstone's value is the JSON `{"deletedAtMs": n}` (see store.ts);
 * - an entry's `traceparent` and `tracestate` name the span its write was made in; a traceparent that is empty
 *   or either text longer than MAX_TRACE_TEXT is no trace at all (the entry is kept without one).
 * Entries without a key or a version are skipped, never fatal.
 */
import { create } from "@bufbuild/protobuf";
import {
  DigestEntrySchema,
  GossipDigestSchema,
  GossipUpdatesSchema,
  StateEntrySchema,
  StateVersionSchema,
  type GossipDigest,
  type StateEntry,
} from "../../gen/agentmesh/v1/gossip_pb.js";
import type { Body } from "../protocol/envelope.js";
import type { WriteTrace } from "./seams.js";
import type { StoredEntry } from "./store.js";
import type { Version } from "./versions.js";

/** The key of the marker entry that flags a digest as one window of a larger state. */
export const WINDOW_MARKER_KEY = "";

/** Longest traceparent or tracestate an entry keeps, in UTF-16 code units (W3C's tracestate is at most 512 characters). */
export const MAX_TRACE_TEXT = 512;

/** A GossipDigest body listing the versions of `entries`, with the window marker when `partial`. */
export function digestBody(entries: Iterable<StoredEntry>, partial: boolean): Body {
  const list = [];
  for (const e of entries) {
    list.push(create(DigestEntrySchema, { key: e.key, version: create(StateVersionSchema, { clock: e.version.clock, origin: e.version.origin }) }));
  }
  if (partial) list.push(create(DigestEntrySchema, { key: WINDOW_MARKER_KEY }));
  return { case: "gossipDigest", value: create(GossipDigestSchema, { entries: list }) };
}

/** A GossipUpdates body carrying `entries` and asking for `wanted`. */
export function updatesBody(entries: readonly StoredEntry[], wanted: readonly string[]): Body {
  return {
    case: "gossipUpdates",
    value: create(GossipUpdatesSchema, { entries: entries.map(toStateEntry), wanted: [...wanted] }),
  };
}

/** The wire form of a stored entry. */
export function toStateEntry(e: StoredEntry): StateEntry {
  return create(StateEntrySchema, {
    key: e.key,
    value: e.value,
    version: create(StateVersionSchema, { clock: e.version.clock, origin: e.version.origin }),
    tombstone: e.tombstone,
    traceparent: e.trace?.traceparent ?? "",
    tracestate: e.trace?.tracestate ?? "",
  });
}

/** A stored entry from its wire form (the value copied, so a received frame is not kept alive); undefined when unusable. */
export function fromStateEntry(m: StateEntry): StoredEntry | undefined {
  if (m.key === WINDOW_MARKER_KEY || m.version === undefined) return undefined;
  return {
    key: m.key,
    value: m.value.slice(),
    version: { clock: m.version.clock, origin: m.version.origin },
    tombstone: m.tombstone,
    trace: entryTrace(m),
  };
}

/** The write trace an entry's wire form carries, if usable (see the file comment). */
export function entryTrace(m: StateEntry): WriteTrace | undefined {
  if (m.traceparent === "" || m.traceparent.length > MAX_TRACE_TEXT || m.tracestate.length > MAX_TRACE_TEXT) return undefined;
  return { traceparent: m.traceparent, tracestate: m.tracestate };
}

/** A received digest, read. */
export interface ReadDigest {
  /** The version of each listed key. */
  readonly versions: ReadonlyMap<string, Version>;
  /** True when the digest is one window of a larger state. */
  readonly partial: boolean;
  /** Smallest listed key (undefined when none). */
  readonly low: string | undefined;
  /** Largest listed key (undefined when none). */
  readonly high: string | undefined;
}

/** Reads a digest, skipping unusable entries. */
export function readDigest(d: GossipDigest): ReadDigest {
  const versions = new Map<string, Version>();
  let partial = false;
  let low: string | undefined;
  let high: string | undefined;
  for (const e of d.entries) {
    if (e.key === WINDOW_MARKER_KEY) {
      partial = true;
      continue;
    }
    if (e.version === undefined) continue;
    versions.set(e.key, { clock: e.version.clock, origin: e.version.origin });
    if (low === undefined || e.key < low) low = e.key;
    if (high === undefined || e.key > high) high = e.key;
  }
  return { versions, partial, low, high };
}

/** True when a receiver of digest `d` should treat `key` as one the digest lacks (it lies in what the digest covers). */
export function digestCovers(d: ReadDigest, key: string): boolean {
  if (!d.partial) return true;
  return d.low !== undefined && d.high !== undefined && key >= d.low && key <= d.high;
}

/** Bytes an entry adds to a message, roughly: its key, value and trace (UTF-16 length as a cheap upper-bound proxy for text). */
export function entryBytes(e: StoredEntry): number {
  const trace = e.trace === undefined ? 0 : (e.trace.traceparent.length + e.trace.tracestate.length) * 3;
  return e.key.length * 3 + e.value.length + trace;
}

/** The leading entries of `entries` that fit in one message: at most `maxEntries` and `maxBytes` (always at least one). */
export function withinLimits(entries: readonly StoredEntry[], maxEntries: number, maxBytes: number): StoredEntry[] {
  const out: StoredEntry[] = [];
  let bytes = 0;
  for (const e of entries) {
    if (out.length >= maxEntries) break;
    const b = entryBytes(e);
    if (out.length > 0 && bytes + b > maxBytes) break;
    out.push(e);
    bytes += b;
  }
  return out;
}
