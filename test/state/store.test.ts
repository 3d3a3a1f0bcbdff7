import { describe, expect, it } from "vitest";
import { tombstoneDeletedAt, tombstoneValue, VersionedStore, type StoredEntry } from "../../src/state/store.js";

const enc = new TextEncoder();
const TTL = 1000;
const live = (key: string, clock: number, origin = "a", value = "1"): StoredEntry => ({
  key,
  value: enc.encode(value),
  version: { clock: BigInt(clock), origin },
  tombstone: false,
});
const tomb = (key: string, clock: number, deletedAtMs: number, origin = "a"): StoredEntry => ({
  key,
  value: tombstoneValue(deletedAtMs),
  version: { clock: BigInt(clock), origin },
  tombstone: true,
});

describe("VersionedStore", () => {
  it("keeps only newer versions, so any order and any repetition of the same entries ends in the same map", () => {
    const entries = [live("k", 1), live("k", 3, "a", "3"), live("k", 2), live("j", 1), live("k", 3, "a", "3"), live("j", 1, "b")];
    const orders = [entries, [...entries].reverse(), [entries[4], entries[0], entries[5], entries[1], entries[3], entries[2]]];
    const hashes = orders.map((order) => {
      const s = new VersionedStore(TTL);
      for (const e of order) s.apply(e, 0);
      expect(s.get("k")?.version.clock).toBe(3n);
      expect(s.get("j")?.version.origin).toBe("b");
      return s.hash();
    });
    expect(new Set(hashes).size).toBe(1);
  });

  it("reports whether the map changed and what was there before", () => {
    const s = new VersionedStore(TTL);
    expect(s.apply(live("k", 2), 0)).toEqual({ changed: true, previous: undefined });
    const r = s.apply(live("k", 1), 0);
    expect(r.changed).toBe(false);
    expect(r.previous?.version.clock).toBe(2n);
    expect(s.apply(live("k", 2), 0).changed).toBe(false);
    expect(s.apply(live("k", 3), 0).previous?.version.clock).toBe(2n);
  });

  it("a tombstone beats older writes, keeps beating writes that arrive late, and loses to newer ones", () => {
    const s = new VersionedStore(TTL);
    s.apply(live("k", 1), 0);
    expect(s.apply(tomb("k", 2, 0), 0).changed).toBe(true);
    expect(s.get("k")?.tombstone).toBe(true);
    expect(s.apply(live("k", 1, "z"), 10).changed).toBe(false);
    expect(s.tombstoneCount).toBe(1);
    expect(s.apply(live("k", 3), 20).changed).toBe(true);
    expect(s.get("k")?.tombstone).toBe(false);
    expect(s.tombstoneCount).toBe(0);
    // a resurrected key is not collected
    expect(s.collect(10 * TTL)).toEqual([]);
    expect(s.size).toBe(1);
  });

  it("collects a tombstone ttl after its delete, not before", () => {
    const s = new VersionedStore(TTL);
    s.apply(live("k", 1), 0);
    s.apply(tomb("k", 2, 500), 600);
    expect(s.collect(500 + TTL - 1)).toEqual([]);
    expect(s.get("k")?.tombstone).toBe(true);
    expect(s.collect(500 + TTL)).toEqual(["k"]);
    expect(s.get("k")).toBeUndefined();
    expect(s.size).toBe(0);
  });

  it("refuses to keep an expired tombstone, but lets it remove an older entry", () => {
    const s = new VersionedStore(TTL);
    expect(s.apply(tomb("gone", 5, 0), TTL)).toEqual({ changed: false, previous: undefined });
    expect(s.size).toBe(0);
    s.apply(live("old", 1), 0);
    const r = s.apply(tomb("old", 2, 0), 2 * TTL);
    expect(r.changed).toBe(true);
    expect(s.get("old")).toBeUndefined();
    // an expired tombstone does not remove a newer entry
    s.apply(live("new", 9), 0);
    expect(s.apply(tomb("new", 2, 0), 2 * TTL).changed).toBe(false);
    expect(s.get("new")?.version.clock).toBe(9n);
  });

  it("times a tombstone without a readable delete time from its arrival", () => {
    const s = new VersionedStore(TTL);
    s.apply({ key: "k", value: new Uint8Array([1, 2]), version: { clock: 1n, origin: "a" }, tombstone: true }, 100);
    expect(s.collect(100 + TTL - 1)).toEqual([]);
    expect(s.collect(100 + TTL)).toEqual(["k"]);
  });

  it("lists keys in ascending order and hashes tombstones as part of the state", () => {
    const s = new VersionedStore(TTL);
    for (const k of ["b", "a", "c"]) s.apply(live(k, 1), 0);
    expect(s.sortedKeys()).toEqual(["a", "b", "c"]);
    const before = s.hash();
    s.apply(tomb("b", 2, 0), 0);
    expect(s.sortedKeys()).toEqual(["a", "b", "c"]);
    expect(s.hash()).not.toBe(before);
    s.collect(TTL);
    expect(s.sortedKeys()).toEqual(["a", "c"]);
  });
});

describe("tombstone values", () => {
  it.each([
    [tombstoneValue(1234), 1234],
    [enc.encode("{}"), -1],
    [enc.encode("not json"), -1],
    [enc.encode('{"deletedAtMs":"soon"}'), -1],
    [new Uint8Array(), -1],
  ])("reads the delete time or falls back (%#)", (value, expected) => {
    expect(tombstoneDeletedAt(value, -1)).toBe(expected);
  });
});
