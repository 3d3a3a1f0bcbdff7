import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { PayloadSchema } from "../../gen/agentmesh/v1/payload_pb.js";
import { Code, MeshError } from "../../src/protocol/errors.js";
import {
  BINARY_CONTENT_TYPE,
  fromPayload,
  JSON_CONTENT_TYPE,
  jsonTextToPayload,
  payloadToJsonText,
  toPayload,
} from "../../src/protocol/payload.js";

const bytes = (s: string) => new TextEncoder().encode(s);

function expectInvalid(fn: () => unknown, field: string): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(MeshError);
  expect((caught as MeshError).code).toBe(Code.InvalidArgument);
  expect((caught as MeshError).message).toMatch(new RegExp(`^${field}: `));
}

describe("toPayload / fromPayload", () => {
  it.each([
    ["an object", { a: 1, b: [true, null, "x"], c: { d: 1.5 } }],
    ["an array", [1, "two", { three: 3 }]],
    ["a string", "héllo ✓"],
    ["a number", 42.5],
    ["zero", 0],
    ["false", false],
    ["null", null],
    ["an empty object", {}],
  ])("round-trips %s as JSON", (_what, value) => {
    const p = toPayload(value);
    expect(p.contentType).toBe(JSON_CONTENT_TYPE);
    expect(fromPayload(p)).toEqual(value);
  });

  it("encodes undefined as null", () => {
    const p = toPayload(undefined);
    expect(new TextDecoder().decode(p.data)).toBe("null");
    expect(fromPayload(p)).toBeNull();
  });

  it("passes bytes through as binary", () => {
    const data = new Uint8Array([0, 1, 2, 255]);
    const p = toPayload(data);
    expect(p.contentType).toBe(BINARY_CONTENT_TYPE);
    expect(fromPayload(p)).toEqual(data);
  });

  it.each([
    ["a missing payload", undefined, null],
    ["empty data", create(PayloadSchema, { contentType: JSON_CONTENT_TYPE }), null],
    ["an empty content type (JSON)", create(PayloadSchema, { contentType: "", data: bytes('{"x":1}') }), { x: 1 }],
    ["text", create(PayloadSchema, { contentType: "text/plain", data: bytes("just text") }), "just text"],
    ["text with a charset", create(PayloadSchema, { contentType: "text/markdown; charset=utf-8", data: bytes("# hi") }), "# hi"],
    ["other media types as bytes", create(PayloadSchema, { contentType: "image/png", data: new Uint8Array([137, 80]) }), new Uint8Array([137, 80])],
  ])("decodes %s", (_what, payload, want) => {
    expect(fromPayload(payload)).toEqual(want);
  });

  it.each([
    ["truncated JSON", bytes('{"a":'), "input"],
    ["bare words", bytes("hello"), "task.input"],
    ["invalid UTF-8", new Uint8Array([0x22, 0xff, 0x22]), "payload"],
  ])("fails on %s with INVALID_ARGUMENT naming the field", (_what, data, field) => {
    const p = create(PayloadSchema, { contentType: JSON_CONTENT_TYPE, data });
    expectInvalid(() => fromPayload(p, field), field);
  });

  it("fails on invalid UTF-8 text with INVALID_ARGUMENT naming the field", () => {
    const p = create(PayloadSchema, { contentType: "text/plain", data: new Uint8Array([0xc3, 0x28]) });
    expectInvalid(() => fromPayload(p, "output"), "output");
  });

  it("names the field 'payload' when none is given", () => {
    expectInvalid(() => fromPayload(create(PayloadSchema, { data: bytes("{") })), "payload");
  });
});

describe("jsonTextToPayload", () => {
  it("wraps valid JSON text unchanged", () => {
    const p = jsonTextToPayload('{"n": 1}', "input");
    expect(new TextDecoder().decode(p.data)).toBe('{"n": 1}');
    expect(fromPayload(p)).toEqual({ n: 1 });
  });

  it.each(["{", "undefined", "", "{'single': 1}"])("refuses %j with INVALID_ARGUMENT naming the field", (text) => {
    expectInvalid(() => jsonTextToPayload(text, "--input"), "--input");
  });
});

describe("payloadToJsonText", () => {
  it.each([
    [toPayload({ a: [1, 2] }), '{"a":[1,2]}'],
    [toPayload("s"), '"s"'],
    [undefined, "null"],
    [toPayload(new Uint8Array([1, 2, 3])), '"AQID"'],
    [create(PayloadSchema, { contentType: "text/plain", data: bytes("hi") }), '"hi"'],
  ])("prints %# as %s", (payload, text) => {
    expect(payloadToJsonText(payload)).toBe(text);
  });
});
