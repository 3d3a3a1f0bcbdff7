/**
 * Reading the environment variables that configure a node: booleans and bounded integers, each malformed value
 * an EnvVarError naming the variable and what it expects. It imports nothing, so the CLI's start-up path
 * (cli/lean-idle.ts, loaded before anything else) can use it; layers turn the error into their own (tracing: a
 * MeshError INVALID_ARGUMENT; the CLI: a usage error).
 */

/** A malformed environment variable; the message names it, what it expects and what it holds. */
export class EnvVarError extends Error {}

/** Boolean variable `name`: "true"/"1" or "false"/"0" (any case, spaces trimmed); undefined when unset or empty. */
export function envFlag(env: NodeJS.ProcessEnv, name: string): boolean | undefined {
  const text = (env[name] ?? "").trim().toLowerCase();
  if (text === "") return undefined;
  if (text === "true" || text === "1") return true;
  if (text === "false" || text === "0") return false;
  throw new EnvVarError(`${name}: expected true or false, got "${env[name]}"`);
}

/** Integer variable `name`, from `min` to `max` (decimal digits only); undefined when unset or empty. */
export function envInt(env: NodeJS.ProcessEnv, name: string, min: number, max: number): number | undefined {
  const text = (env[name] ?? "").trim();
  if (text === "") return undefined;
  const value = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new EnvVarError(`${name}: expected an integer from ${min} to ${max}, got "${text}"`);
  }
  return value;
}
