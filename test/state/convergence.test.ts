import { describe, expect, it } from "vitest";
import { agreement, allAgree, fnv1a64, roundsUntilAgreement, stateHash, type HashedEntry } from "../../src/state/convergence.js";

const enc = new TextEncoder();
const e = (key: string, clock: number, origin: string, tombstone = false): HashedEntry => ({ key, version: { clock: BigInt(clock), origin }, tombstone });

describe("fnv1a64", () => {
  it.each([
    ["", "cbf29ce484222325"],
    ["a", "af63dc4c8601ec8c"],
    ["foobar", "85944171f73967e8"],
  ])("matches the reference vector for %j", (input, expected) => {
    expect(fnv1a64(enc.encode(input))).toBe(expected);
  });
});

describe("stateHash", () => {
  it("is equal for equal states and differs when a key, clock, origin or tombstone flag differs", () => {
    const base = [e("a", 1, "n1"), e("b", 2, "n2")];
    const h = stateHash(base);
    expect(stateHash([e("a", 1, "n1"), e("b", 2, "n2")])).toBe(h);
    expect(h).toMatch(/^[0-9a-f]{16}$/);
    const variants = [
      [e("a", 1, "n1"), e("c", 2, "n2")],
      [e("a", 1, "n1"), e("b", 3, "n2")],
      [e("a", 1, "n1"), e("b", 2, "n3")],
      [e("a", 1, "n1"), e("b", 2, "n2", true)],
      [e("a", 1, "n1")],
      [],
    ];
    const all = new Set([h, ...variants.map(stateHash)]);
    expect(all.size).toBe(variants.length + 1);
  });

  it("cannot be fooled by moving text between key and origin", () => {
    expect(stateHash([e("ab", 1, "c")])).not.toBe(stateHash([e("a", 1, "bc")]));
  });
});

describe("agreement", () => {
  it.each([
    [[], true, 0, 0],
    [["x"], true, 1, 1],
    [["x", "x", "x"], true, 1, 3],
    [["x", "y", "x"], false, 2, 2],
  ] as Array<[string[], boolean, number, number]>)("%j", (hashes, agreed, distinct, largest) => {
    const a = agreement(hashes);
    expect(a).toEqual({ agreed, nodes: hashes.length, distinct, largestGroup: largest });
    expect(allAgree(hashes)).toBe(agreed);
  });
});

describe("roundsUntilAgreement", () => {
  it("counts the rounds run before all agree, 0 when they already do, undefined past the limit", () => {
    let state = ["a", "b", "c"];
    const steps = [["a", "a", "c"], ["a", "a", "a"]];
    let calls = 0;
    expect(roundsUntilAgreement(() => (state = steps[calls++]), () => state, 10)).toBe(2);
    expect(roundsUntilAgreement(() => {}, () => ["z", "z"], 10)).toBe(0);
    let runs = 0;
    expect(roundsUntilAgreement(() => runs++, () => ["a", "b"], 4)).toBeUndefined();
    expect(runs).toBe(4);
  });
});
