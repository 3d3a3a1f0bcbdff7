import { describe, expect, it } from "vitest";
import { MeshError } from "../../src/protocol/errors.js";
import { defaultStateConfig, fastStateConfig, stateConfig } from "../../src/state/config.js";

describe("state config", () => {
  it("has the documented defaults", () => {
    expect(defaultStateConfig).toEqual({
      gossipIntervalMs: 200,
      fanout: 3,
      maxEntriesPerMessage: 512,
      maxDigestEntries: 4096,
      maxUpdateBytes: 1024 * 1024,
      maxValueBytes: 64 * 1024,
      tombstoneTtlMs: 60_000,
    });
    expect(Object.isFrozen(defaultStateConfig)).toBe(true);
  });

  it("the fast preset overrides only timers", () => {
    expect(fastStateConfig).toEqual({ ...defaultStateConfig, gossipIntervalMs: 20, tombstoneTtlMs: 2000 });
  });

  it("applies overrides, ignoring undefined ones", () => {
    expect(stateConfig({ fanout: 5, gossipIntervalMs: undefined })).toEqual({ ...defaultStateConfig, fanout: 5 });
  });

  it.each([
    ["gossipIntervalMs", 0],
    ["fanout", 0],
    ["fanout", 1.5],
    ["maxEntriesPerMessage", 0],
    ["maxDigestEntries", 1],
    ["tombstoneTtlMs", -1],
    ["maxValueBytes", Number.NaN],
    ["tombstoneTtlMs", 100], // shorter than a round (200 ms)
  ] as const)("refuses %s = %s naming the field", (field, value) => {
    expect(() => stateConfig({ [field]: value })).toThrow(MeshError);
    expect(() => stateConfig({ [field]: value })).toThrow(field);
  });
});
