/** Identifier helpers: unique ids for messages, tasks and correlations. */
import { randomUUID } from "node:crypto";

/** A new globally unique id (UUID v4). */
export function newId(): string {
  return randomUUID();
}

/** Agent ids: 1–128 characters of letters, digits and `._:-`. */
export const AGENT_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

/** Capability names: 1–128 characters of letters, digits and `._:/-`. */
export const CAPABILITY_PATTERN = /^[A-Za-z0-9._:/-]{1,128}$/;
