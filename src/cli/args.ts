/**
 * Argument parsing for every command: node's util.parseArgs in strict mode, plus validators for the values
 * (ports, addresses, lists, JSON). Any problem is a UsageError, which main turns into a one-line message,
 * the command's usage on stderr and exit code 2.
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { MeshError } from "../protocol/errors.js";
import { requireAgentId, requireCapability } from "../protocol/validate.js";

/** The option specs of a command, as util.parseArgs takes them. */
export type OptionSpecs = NonNullable<ParseArgsConfig["options"]>;

/** Bad command-line usage (exit code 2). Never leaves the CLI. */
export class UsageError extends Error {
  /** Creates a usage error with a one-line message. */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** The option values util.parseArgs returns for `options`. */
export type OptionValues<O extends OptionSpecs> = ReturnType<typeof parseArgs<{ args: string[]; options: O; strict: true; allowPositionals: false }>>["values"];

/** Parses `args` strictly against `options` (no positionals); unknown or malformed options are UsageErrors. */
export function parseOptions<const O extends OptionSpecs>(args: string[], options: O): OptionValues<O> {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: false }).values;
  } catch (err) {
    throw new UsageError(firstLine(err));
  }
}

/** The value of a required option, or a UsageError naming it. */
export function required<T>(value: T | undefined, option: string): T {
  if (value === undefined || value === "") throw new UsageError(`missing required option --${option}`);
  return value;
}

/** An integer from `min` to `max` written in decimal digits, or a UsageError naming the option. */
export function parseInteger(text: string, option: string, min: number, max: number): number {
  const value = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new UsageError(`--${option}: expected an integer from ${min} to ${max}, got "${text}"`);
  }
  return value;
}

/** A TCP port (0 allowed when `allowZero`, to pick a free one). */
export function parsePort(text: string, option: string, allowZero: boolean): number {
  return parseInteger(text, option, allowZero ? 0 : 1, 65_535);
}

/** A host:port address ([v6]:port allowed) with a port from 1 to 65535. */
export function parseAddress(text: string, option: string): string {
  const m = /^(\[[0-9A-Fa-f:.]+\]|[^\s:[\]/]+):([^:]*)$/.exec(text);
  if (m === null) throw new UsageError(`--${option}: expected HOST:PORT, got "${text}"`);
  const port = /^\d+$/.test(m[2]) ? Number(m[2]) : Number.NaN;
  if (!(port >= 1 && port <= 65_535)) throw new UsageError(`--${option}: port must be an integer from 1 to 65535, got "${m[2]}" in "${text}"`);
  return `${m[1]}:${port}`;
}

/** A comma-separated list with empty items dropped. */
export function parseList(text: string): string[] {
  return text
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
}

/** A list of distinct valid capability names. */
export function parseCapabilities(text: string, option: string): string[] {
  const list = parseList(text);
  if (list.length === 0) throw new UsageError(`--${option}: expected one or more capabilities separated by commas`);
  return [...new Set(list.map((c) => validated(() => requireCapability(c, `--${option}`))))];
}

/** A valid agent id. */
export function parseAgentId(text: string, option: string): string {
  return validated(() => requireAgentId(text, `--${option}`));
}

/** JSON text, parsed; a UsageError when it is not valid JSON. */
export function parseJson(text: string, option: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new UsageError(`--${option}: not valid JSON (${firstLine(err)})`);
  }
}

/** One of `choices`, or a UsageError listing them. */
export function parseChoice<const C extends readonly string[]>(text: string, option: string, choices: C): C[number] {
  if (!choices.includes(text)) throw new UsageError(`--${option}: expected one of ${choices.join(", ")}, got "${text}"`);
  return text;
}

function validated<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof MeshError) throw new UsageError(err.message);
    throw err;
  }
}

function firstLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.split("\n")[0].replace(/\.$/, "");
}

/** What a command that sends one task names: the node (--to), one capability and the JSON input. */
export interface TaskTarget {
  /** host:port of the node to call. */
  to: string;
  /** The one capability the task needs. */
  capability: string;
  /** The task's input, parsed from JSON. */
  input: unknown;
}

/** Reads --to, --capability (exactly one) and --input (JSON), all required; usage errors name the option. */
export function parseTaskTarget(v: { to?: string; capability?: string; input?: string }): TaskTarget {
  const to = parseAddress(required(v.to, "to"), "to");
  const capabilities = parseCapabilities(required(v.capability, "capability"), "capability");
  if (capabilities.length !== 1) throw new UsageError(`--capability: expected one capability, got "${v.capability}"`);
  const input = parseJson(required(v.input, "input"), "input");
  return { to, capability: capabilities[0] as string, input };
}
