/** Lean idle's settings (src/cli/lean-idle.ts): the AGENT_MESH_LEAN_IDLE* variables, Node options of the user's own, and the commands it applies to. */
import { describe, expect, it } from "vitest";
import { beginLeanIdle, DEFAULT_LEAN_IDLE, givenNodeOptions, leanIdleFromEnv, leanIdleState } from "../../src/cli/lean-idle.js";

describe("leanIdleFromEnv", () => {
  it("defaults: on, a check every second, busy from a tenth of a core", () => {
    expect(leanIdleFromEnv({})).toEqual({ enabled: true, checkMs: 1000, busyCpu: 0.1 });
    expect(leanIdleFromEnv({})).toEqual(DEFAULT_LEAN_IDLE);
  });

  it("reads every variable", () => {
    expect(leanIdleFromEnv({ AGENT_MESH_LEAN_IDLE: "false", AGENT_MESH_LEAN_IDLE_CHECK_MS: "250", AGENT_MESH_LEAN_IDLE_BUSY: "0.5" })).toEqual({ enabled: false, checkMs: 250, busyCpu: 0.5 });
    expect(leanIdleFromEnv({ AGENT_MESH_LEAN_IDLE: " 0 " }).enabled).toBe(false);
    expect(leanIdleFromEnv({ AGENT_MESH_LEAN_IDLE: "TRUE" }).enabled).toBe(true);
    expect(leanIdleFromEnv({ AGENT_MESH_LEAN_IDLE_BUSY: "2" }).busyCpu).toBe(2);
    expect(leanIdleFromEnv({ AGENT_MESH_LEAN_IDLE_BUSY: ".25" }).busyCpu).toBe(0.25);
  });

  it("rejects malformed values, naming the variable", () => {
    expect(() => leanIdleFromEnv({ AGENT_MESH_LEAN_IDLE: "maybe" })).toThrow(/^AGENT_MESH_LEAN_IDLE: expected true or false, got "maybe"$/);
    expect(() => leanIdleFromEnv({ AGENT_MESH_LEAN_IDLE_CHECK_MS: "5" })).toThrow(/^AGENT_MESH_LEAN_IDLE_CHECK_MS: expected an integer from 10 to 600000, got "5"$/);
    expect(() => leanIdleFromEnv({ AGENT_MESH_LEAN_IDLE_CHECK_MS: "1s" })).toThrow(/AGENT_MESH_LEAN_IDLE_CHECK_MS/);
    expect(() => leanIdleFromEnv({ AGENT_MESH_LEAN_IDLE_BUSY: "0" })).toThrow(/^AGENT_MESH_LEAN_IDLE_BUSY: expected a fraction of one core above 0 and at most 64, got "0"$/);
    expect(() => leanIdleFromEnv({ AGENT_MESH_LEAN_IDLE_BUSY: "-1" })).toThrow(/AGENT_MESH_LEAN_IDLE_BUSY/);
    expect(() => leanIdleFromEnv({ AGENT_MESH_LEAN_IDLE_BUSY: "65" })).toThrow(/AGENT_MESH_LEAN_IDLE_BUSY/);
  });
});

describe("givenNodeOptions", () => {
  it("names the options of node's command line and of NODE_OPTIONS, with _ read as -", () => {
    const given = givenNodeOptions(["--max_semi_space_size=4", "--inspect"], "  --no-opt --require ./x.js ");
    expect([...given].sort()).toEqual(["--inspect", "--max-semi-space-size", "--no-opt", "--require"]);
    expect(givenNodeOptions([], undefined).size).toBe(0);
  });
});

describe("beginLeanIdle", () => {
  it("leaves V8 alone for every command but node, for --help, when disabled, and with the user's own options for both", () => {
    for (const argv of [["submit", "--to", "x:1"], ["demo"], [], ["node", "--help"], ["node", "-h"]]) expect(beginLeanIdle(argv, { env: {}, execArgv: [] })).toBe(false);
    expect(beginLeanIdle(["node", "--id", "a"], { env: { AGENT_MESH_LEAN_IDLE: "false" }, execArgv: [] })).toBe(false);
    expect(beginLeanIdle(["node", "--id", "a"], { env: { AGENT_MESH_LEAN_IDLE_BUSY: "lots" }, execArgv: [] })).toBe(false);
    expect(beginLeanIdle(["node", "--id", "a"], { env: { NODE_OPTIONS: "--max-semi-space-size=2" }, execArgv: ["--jitless"] })).toBe(false);
    expect(leanIdleState()).toEqual({ phase: "off", youngGeneration: false, compilers: false, restoredBecause: undefined });
  });
});
