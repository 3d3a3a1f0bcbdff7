/** Input validation that fails with INVALID_ARGUMENT naming the field. */
import { Code, MeshError } from "./errors.js";
import { AGENT_ID_PATTERN, CAPABILITY_PATTERN } from "./ids.js";

/** Fails unless `value` is a non-empty string. */
export function requireNonEmpty(value: string | undefined, field: string): string {
  if (value === undefined || value.length === 0) {
    throw new MeshError(Code.InvalidArgument, `${field}: must not be empty`);
  }
  return value;
}

/** Fails unless `value` is a valid capability name. */
export function requireCapability(value: string | undefined, field = "capability"): string {
  requireNonEmpty(value, field);
  if (!CAPABILITY_PATTERN.test(value as string)) {
    throw new MeshError(
      Code.InvalidArgument,
      `${field}: "${truncate(value as string)}" is not a valid capability (1-128 of A-Z a-z 0-9 . _ : / -)`,
    );
  }
  return value as string;
}

/** Fails unless `value` is a valid agent id. */
export function requireAgentId(value: string | undefined, field = "agent id"): string {
  requireNonEmpty(value, field);
  if (!AGENT_ID_PATTERN.test(value as string)) {
    throw new MeshError(
      Code.InvalidArgument,
      `${field}: "${truncate(value as string)}" is not a valid agent id (1-128 of A-Z a-z 0-9 . _ : -)`,
    );
  }
  return value as string;
}

/** Fails unless `value` is an integer within [min, max]. */
export function requireIntInRange(value: number, field: string, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new MeshError(Code.InvalidArgument, `${field}: must be an integer from ${min} to ${max}, got ${value}`);
  }
  return value;
}

function truncate(s: string): string {
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
}
