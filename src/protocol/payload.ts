/**
 * Payload encoding: user values travel as UTF-8 JSON bytes with content type "application/json"
 * (see proto/agentmesh/v1/payload.proto). Text and raw bytes pass through with their own types.
 */
import type { Payload } from "../../gen/agentmesh/v1/payload_pb.js";
import { Code, MeshError } from "./errors.js";
import { utf8Bytes } from "./slab.js";

/** The content type of JSON payloads (also assumed when the content type is empty). */
export const JSON_CONTENT_TYPE = "application/json";
/** The content type of text payloads. */
export const TEXT_CONTENT_TYPE = "text/plain";
/** The content type of opaque binary payloads. */
export const BINARY_CONTENT_TYPE = "application/octet-stream";

const decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * The object create(PayloadSchema, …) makes, built directly: create() walks the schema by reflection, and this
 * runs for every task input and output.
 */
function payload(contentType: string, data: Uint8Array): Payload {
  return { $typeName: "agentmesh.v1.Payload", contentType, data } as Payload;
}

/**
 * Encodes a JS value as a payload: Uint8Array as binary, anything else as JSON (undefined becomes null). Short
 * JSON shares a slab (slab.ts) instead of owning an ArrayBuffer.
 */
export function toPayload(value: unknown): Payload {
  if (value instanceof Uint8Array) return payload(BINARY_CONTENT_TYPE, value);
  const json = JSON.stringify(value === undefined ? null : value);
  return payload(JSON_CONTENT_TYPE, utf8Bytes(json));
}

/** Wraps JSON text that is already encoded, validating it. `field` names it in errors. */
export function jsonTextToPayload(text: string, field: string): Payload {
  try {
    JSON.parse(text);
  } catch (err) {
    throw new MeshError(Code.InvalidArgument, `${field}: not valid JSON (${(err as Error).message})`);
  }
  return payload(JSON_CONTENT_TYPE, utf8Bytes(text));
}

/**
 * Decodes a payload: JSON to a value, text to a string, anything else to its bytes. A missing payload is
 * null. Invalid JSON or UTF-8 fails with INVALID_ARGUMENT naming `field`.
 */
export function fromPayload(payload: Payload | undefined, field = "payload"): unknown {
  if (payload === undefined) return null;
  const type = payload.contentType;
  if (type === "" || type === JSON_CONTENT_TYPE) {
    if (payload.data.length === 0) return null;
    try {
      return JSON.parse(decoder.decode(payload.data));
    } catch (err) {
      throw new MeshError(Code.InvalidArgument, `${field}: not valid JSON (${(err as Error).message})`);
    }
  }
  if (type.startsWith("text/")) {
    try {
      return decoder.decode(payload.data);
    } catch {
      throw new MeshError(Code.InvalidArgument, `${field}: not valid UTF-8 text`);
    }
  }
  return payload.data;
}

/** The JSON text of a payload, for printing (binary payloads are shown as base64 in a JSON string). */
export function payloadToJsonText(payload: Payload | undefined): string {
  const value = fromPayload(payload);
  if (value instanceof Uint8Array) return JSON.stringify(Buffer.from(value).toString("base64"));
  return JSON.stringify(value);
}
