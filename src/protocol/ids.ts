/**
 * Identifier helpers: unique ids for messages, tasks and correlations.
 *
 * Ids are UUID v4 strings, as crypto.randomUUID() makes them, but written as one flat string from a pool of
 * random bytes (randomUUID builds each by concatenating 20 pieces: about half a kilobyte of short-lived
 * garbage per id, and a request/reply makes three).
 */
import { randomFillSync } from "node:crypto";
import { latin1Slice } from "./slab.js";

/** Ids drawn from one refill of the random pool. */
const IDS_PER_REFILL = 256;
const pool = Buffer.allocUnsafeSlow(16 * IDS_PER_REFILL);
let poolAt = pool.length;
const HEX = Buffer.from("0123456789abcdef", "latin1");
const text = Buffer.allocUnsafeSlow(36);

/** A new globally unique id (UUID v4: 122 random bits, lowercase hex, 8-4-4-4-12). */
export function newId(): string {
  if (poolAt === pool.length) {
    randomFillSync(pool);
    poolAt = 0;
  }
  const r = poolAt;
  poolAt += 16;
  let o = 0;
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) text[o++] = 0x2d; // "-"
    let b = pool[r + i];
    if (i === 6) b = (b & 0x0f) | 0x40; // version 4
    else if (i === 8) b = (b & 0x3f) | 0x80; // variant 10xx
    text[o++] = HEX[b >> 4];
    text[o++] = HEX[b & 0x0f];
  }
  return latin1Slice.call(text, 0, 36);
}

/** Agent ids: 1–128 characters of letters, digits and `._:-`. */
export const AGENT_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

/** Capability names: 1–128 characters of letters, digits and `._:/-`. */
export const CAPABILITY_PATTERN = /^[A-Za-z0-9._:/-]{1,128}$/;
