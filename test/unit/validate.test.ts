import { describe, expect, it } from "vitest";
import { Code, MeshError } from "../../src/protocol/errors.js";
import { requireAgentId, requireCapability, requireIntInRange, requireNonEmpty } from "../../src/protocol/validate.js";

function invalid(fn: () => unknown): MeshError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(MeshError);
    expect((err as MeshError).code).toBe(Code.InvalidArgument);
    return err as MeshError;
  }
  throw new Error("expected INVALID_ARGUMENT, nothing was thrown");
}

describe("requireNonEmpty", () => {
  it("returns a non-empty value", () => {
    expect(requireNonEmpty("x", "topic")).toBe("x");
  });
  it.each([undefined, ""])("refuses %j naming the field", (v) => {
    expect(invalid(() => requireNonEmpty(v, "topic")).message).toBe("topic: must not be empty");
  });
});

describe("requireCapability", () => {
  it.each(["echo", "text.summarize", "ns:tool/v2", "A-Z_09", "x".repeat(128)])("accepts %s", (c) => {
    expect(requireCapability(c)).toBe(c);
  });
  it.each([
    ["", "capability: must not be empty"],
    [undefined, "capability: must not be empty"],
    ["has space", 'capability: "has space" is not a valid capability'],
    ["émoji", 'capability: "émoji" is not a valid capability'],
    ["x".repeat(129), `capability: "${"x".repeat(40)}…" is not a valid capability`],
  ])("refuses %j", (c, message) => {
    expect(invalid(() => requireCapability(c)).message).toContain(message);
  });
  it("names the given field", () => {
    expect(invalid(() => requireCapability("a b", "task.capability")).message).toMatch(/^task\.capability: /);
  });
});

describe("requireAgentId", () => {
  it.each(["a", "node-1", "agent.eu:7", "X_y", "x".repeat(128)])("accepts %s", (id) => {
    expect(requireAgentId(id)).toBe(id);
  });
  it.each([["", "must not be empty"], ["a/b", "not a valid agent id"], ["a b", "not a valid agent id"], ["x".repeat(129), "not a valid agent id"]])(
    "refuses %j",
    (id, message) => {
      const e = invalid(() => requireAgentId(id, "id"));
      expect(e.message).toMatch(/^id: /);
      expect(e.message).toContain(message);
    },
  );
});

describe("requireIntInRange", () => {
  it.each([0, 1, 65535])("accepts %i in [0, 65535]", (n) => {
    expect(requireIntInRange(n, "port", 0, 65535)).toBe(n);
  });
  it.each([-1, 65536, 1.5, Number.NaN, Number.POSITIVE_INFINITY])("refuses %d naming the field and the range", (n) => {
    expect(invalid(() => requireIntInRange(n, "port", 0, 65535)).message).toBe(`port: must be an integer from 0 to 65535, got ${n}`);
  });
});
