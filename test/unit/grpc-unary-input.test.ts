/**
 * The raw gRPC path against requests no gRPC library would send (bad framing, undecodable protobuf, over-size
 * and missing messages, a malformed grpc-timeout, a deadline the client does not enforce itself): each gets a
 * gRPC status, never a crash, and the server keeps serving.
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SubmitTaskRequestSchema, SubmitTaskResponseSchema } from "../../gen/agentmesh/v1/agent_service_pb.js";
import { Code, MeshError } from "../../src/protocol/errors.js";
import { decodeGrpcMessageHeader, encodeGrpcMessage, GrpcMessageReader } from "../../src/transport/grpc-frame.js";
import { MAX_BYTES, rawRequest, startRawWorld, type RawWorld } from "../helpers/raw-grpc-world.js";

const SUBMIT = "/agentmesh.v1.AgentService/SubmitTask";

let world: RawWorld;
beforeAll(async () => {
  world = await startRawWorld();
});
afterAll(async () => {
  await world?.close();
});

const request = (capability: string) => toBinary(SubmitTaskRequestSchema, create(SubmitTaskRequestSchema, { capability }));
const prefix = (length: number, flag = 0) => {
  const b = Buffer.alloc(5);
  b[0] = flag;
  b.writeUInt32BE(length, 1);
  return b;
};

describe("the raw gRPC path with malformed requests", () => {
  it("answers a well-formed request with headers, one message and OK trailers", async () => {
    const reply = await rawRequest(world.address, SUBMIT, encodeGrpcMessage(request("echo")));
    expect(reply.headers[":status"]).toBe(200);
    expect(reply.headers["content-type"]).toBe("application/grpc");
    expect(reply.headers.date).toBeUndefined(); // gRPC does not use HTTP's date header
    expect(reply.trailers["grpc-status"]).toBe("0");
    const [message] = new GrpcMessageReader(MAX_BYTES).push(reply.body);
    expect(fromBinary(SubmitTaskResponseSchema, message).agentId).toBe("raw");
  });

  it("refuses bytes that are not the request message with INVALID_ARGUMENT", async () => {
    const reply = await rawRequest(world.address, SUBMIT, encodeGrpcMessage(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f])));
    expect(reply.status).toBe(String(Code.InvalidArgument));
    expect(decodeGrpcMessageHeader(reply.message)).toContain("agentmesh.v1.SubmitTaskRequest");
  });

  it("refuses a message over the limit with RESOURCE_EXHAUSTED before reading it", async () => {
    const reply = await rawRequest(world.address, SUBMIT, Buffer.concat([prefix(MAX_BYTES + 1), Buffer.alloc(1024)]));
    expect(reply.status).toBe(String(Code.ResourceExhausted));
  });

  it("refuses a request with no message, two messages, or a cut-off message with INVALID_ARGUMENT", async () => {
    const none = await rawRequest(world.address, SUBMIT, Buffer.alloc(0));
    expect(none.status).toBe(String(Code.InvalidArgument));
    const two = await rawRequest(world.address, SUBMIT, Buffer.concat([encodeGrpcMessage(request("echo")), encodeGrpcMessage(request("echo"))]));
    expect(two.status).toBe(String(Code.InvalidArgument));
    const cut = await rawRequest(world.address, SUBMIT, Buffer.concat([prefix(10), Buffer.alloc(4)]));
    expect(cut.status).toBe(String(Code.InvalidArgument));
  });

  it("refuses a compressed message when no encoding was sent with INTERNAL", async () => {
    const reply = await rawRequest(world.address, SUBMIT, Buffer.concat([prefix(2, 1), Buffer.alloc(2)]));
    expect(reply.status).toBe(String(Code.Internal));
  });

  it("refuses a malformed grpc-timeout with INVALID_ARGUMENT", async () => {
    const reply = await rawRequest(world.address, SUBMIT, encodeGrpcMessage(request("echo")), { "grpc-timeout": "soon" });
    expect(reply.status).toBe(String(Code.InvalidArgument));
  });

  it("ends a call at its grpc-timeout with DEADLINE_EXCEEDED and aborts the handler's signal", async () => {
    const next = world.nextCall();
    const reply = rawRequest(world.address, SUBMIT, encodeGrpcMessage(request("wait")), { "grpc-timeout": "150m" });
    const seen = await next;
    const reason = (await seen.aborted) as MeshError;
    expect(reason).toBeInstanceOf(MeshError);
    expect(reason.code).toBe(Code.DeadlineExceeded);
    expect((await reply).status).toBe(String(Code.DeadlineExceeded));
  });

  it("ends a call whose request never finishes at its deadline", async () => {
    // A request message announced but never sent, the stream left open: the deadline still ends the call.
    const reply = await rawRequest(world.address, SUBMIT, prefix(100), { "grpc-timeout": "100m" }, { endRequest: false });
    expect(reply.status).toBe(String(Code.DeadlineExceeded));
  });

  it("kept serving through all of it, without loading the fallback", async () => {
    const reply = await rawRequest(world.address, SUBMIT, encodeGrpcMessage(request("echo")));
    expect(reply.status).toBe("0");
    expect(world.fallbackLoads()).toBe(0);
  });
});
