/**
 * Values as the state replicates them: any JSON-serialisable value, carried as the UTF-8 bytes of its JSON in
 * StateEntry.value. Encoding checks what the wire cannot carry; decoding gives a fresh copy each time, so a
 * caller cannot change a replicated value by mutating what it got.
 */
import { Code, MeshError } from "../protocol/errors.js";
import type { StoredEntry } from "./store.js";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Refuses keys the wire cannot carry (the empty key marks digest windows): INVALID_ARGUMENT. */
export function checkKey(key: string): void {
  if (typeof key !== "string" || key === "") throw new MeshError(Code.InvalidArgument, "state key must be a non-empty string");
}

/** The UTF-8 JSON of `value` under `key`; INVALID_ARGUMENT when not serialisable, RESOURCE_EXHAUSTED above `maxBytes`. */
export function encodeValue(key: string, value: unknown, maxBytes: number): Uint8Array {
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch (err) {
    throw new MeshError(Code.InvalidArgument, `value of key "${key}" is not JSON-serialisable: ${String(err)}`, { cause: err });
  }
  if (json === undefined) throw new MeshError(Code.InvalidArgument, `value of key "${key}" is not JSON-serialisable`);
  const bytes = encoder.encode(json);
  if (bytes.length > maxBytes) {
    throw new MeshError(Code.ResourceExhausted, `value of key "${key}" is ${bytes.length} bytes, more than maxValueBytes (${maxBytes})`);
  }
  return bytes;
}

/** The JSON value of an entry, freshly parsed; DATA_LOSS naming the key when its bytes are not JSON. */
export function decodeValue(e: StoredEntry): unknown {
  try {
    return JSON.parse(decoder.decode(e.value));
  } catch (err) {
    throw new MeshError(Code.DataLoss, `value of key "${e.key}" is not valid JSON`, { cause: err });
  }
}
