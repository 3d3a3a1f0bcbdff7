import { describe, expect, it } from "vitest";
import { compareVersions, formatVersion, isNewer, observe, tick, type Version } from "../../src/state/versions.js";

const v = (clock: number, origin: string): Version => ({ clock: BigInt(clock), origin });

describe("compareVersions", () => {
  const table: Array<[string, Version, Version, -1 | 0 | 1]> = [
    ["lower clock is older", v(1, "b"), v(2, "a"), -1],
    ["higher clock is newer whatever the origin", v(3, "a"), v(2, "z"), 1],
    ["equal clock: origin breaks the tie (lower origin older)", v(5, "a"), v(5, "b"), -1],
    ["equal clock: origin breaks the tie (higher origin newer)", v(5, "node-10"), v(5, "node-1"), 1],
    ["same clock and origin are equal", v(7, "x"), v(7, "x"), 0],
    ["origin order is by code unit, not locale", v(1, "B"), v(1, "a"), -1],
    ["clocks beyond 2^53 compare exactly", { clock: 2n ** 60n + 1n, origin: "a" }, { clock: 2n ** 60n, origin: "z" }, 1],
    ["zero clock with empty origin is the oldest", v(0, ""), v(0, "a"), -1],
  ];
  it.each(table)("%s", (_name, a, b, expected) => {
    expect(compareVersions(a, b)).toBe(expected);
    expect(compareVersions(b, a)).toBe(expected === 0 ? 0 : -expected);
  });

  it("is a total order: sorting any permutation gives the same result", () => {
    const vs = [v(2, "b"), v(1, "z"), v(2, "a"), v(3, "a"), v(1, "a")];
    const sorted = [...vs].sort(compareVersions).map(formatVersion);
    expect(sorted).toEqual(["1@a", "1@z", "2@a", "2@b", "3@a"]);
    expect([...vs].reverse().sort(compareVersions).map(formatVersion)).toEqual(sorted);
  });
});

describe("isNewer", () => {
  it.each([
    ["anything beats nothing", v(0, "a"), undefined, true],
    ["newer replaces", v(2, "a"), v(1, "a"), true],
    ["equal does not replace (idempotent)", v(2, "a"), v(2, "a"), false],
    ["older does not replace", v(1, "z"), v(2, "a"), false],
  ] as Array<[string, Version, Version | undefined, boolean]>)("%s", (_n, cand, cur, expected) => {
    expect(isNewer(cand, cur)).toBe(expected);
  });
});

describe("Lamport rules", () => {
  it.each([
    [0n, 1n],
    [41n, 42n],
    [2n ** 64n - 2n, 2n ** 64n - 1n],
  ])("a local write ticks %s to %s", (before, after) => {
    expect(tick(before)).toBe(after);
  });

  it.each([
    ["remote ahead", 3n, 10n, 11n],
    ["local ahead", 10n, 3n, 11n],
    ["equal", 5n, 5n, 6n],
    ["both zero", 0n, 0n, 1n],
  ])("receive takes max(local, remote) + 1: %s", (_n, local, remote, expected) => {
    expect(observe(local, remote)).toBe(expected);
  });

  it("a write after receiving beats what was received", () => {
    const received = v(9, "zzz");
    const clock = observe(2n, received.clock);
    expect(compareVersions({ clock: tick(clock), origin: "aaa" }, received)).toBe(1);
  });
});
