/**
 * The raw gRPC path (grpc-unary.ts) with a plain @grpc/grpc-js client: unary and server-streaming calls reach
 * the implementation with a working HandlerContext; errors, deadlines and cancels become the right statuses
 * and aborted signals; connect-node is never loaded for plain gRPC.
 */
import * as grpc from "@grpc/grpc-js";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { ROOT_CONTEXT, trace } from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  SubmitTaskRequestSchema,
  SubmitTaskResponseSchema,
  SubscribeRequestSchema,
  SubscribeResponseSchema,
  type SubmitTaskResponse,
  type SubscribeResponse,
} from "../../gen/agentmesh/v1/agent_service_pb.js";
import { PayloadSchema } from "../../gen/agentmesh/v1/payload_pb.js";
import { Code, MeshError } from "../../src/protocol/errors.js";
import { headersGetter } from "../../src/protocol/trace-context.js";
import { RawGrpcCall } from "../../src/transport/grpc-call.js";
import { startRawWorld, type RawWorld } from "../helpers/raw-grpc-world.js";
import { waitFor } from "../helpers/wait.js";

const SUBMIT = "/agentmesh.v1.AgentService/SubmitTask";
const SUBSCRIBE = "/agentmesh.v1.AgentService/Subscribe";

let world: RawWorld;
let client: grpc.Client;

beforeAll(async () => {
  world = await startRawWorld();
  client = new grpc.Client(world.address, grpc.credentials.createInsecure());
});

afterAll(async () => {
  client?.close();
  await world?.close();
});

const encodeSubmit = (capability: string, data = new Uint8Array(0)) =>
  Buffer.from(toBinary(SubmitTaskRequestSchema, create(SubmitTaskRequestSchema, { capability, correlationId: "c-1", input: create(PayloadSchema, { data }) })));

/** One SubmitTask through grpc-js; resolves with the response or the error, and the response metadata. */
function submit(capability: string, { metadata = new grpc.Metadata(), deadlineMs }: { metadata?: grpc.Metadata; deadlineMs?: number } = {}) {
  let headers: grpc.Metadata | undefined;
  let status: grpc.StatusObject | undefined;
  let call!: grpc.ClientUnaryCall;
  const done = new Promise<{ res?: SubmitTaskResponse; err?: grpc.ServiceError }>((resolve) => {
    call = client.makeUnaryRequest(
      SUBMIT,
      (b: Buffer) => b,
      (b: Buffer) => fromBinary(SubmitTaskResponseSchema, b),
      encodeSubmit(capability, new TextEncoder().encode("hello")),
      metadata,
      deadlineMs === undefined ? {} : { deadline: Date.now() + deadlineMs },
      (err, res) => resolve(err ? { err } : { res }),
    );
    call.on("metadata", (m) => (headers = m));
    call.on("status", (s) => (status = s));
  });
  return { call, done, headers: () => headers, status: () => status };
}

describe("the raw gRPC path with a grpc-js client", () => {
  it("serves a unary call through the implementation, with the raw context", async () => {
    const { done } = submit("echo");
    const { res, err } = await done;
    expect(err).toBeUndefined();
    expect(new TextDecoder().decode(res?.output?.data)).toBe("hello");
    expect(res?.correlationId).toBe("c-1");
    const seen = world.calls.at(-1)!;
    expect(seen.ctx).toBeInstanceOf(RawGrpcCall);
    expect(seen.ctx.method.name).toBe("SubmitTask");
    expect(seen.ctx.service.typeName).toBe("agentmesh.v1.AgentService");
    expect(seen.ctx.protocolName).toBe("grpc");
    expect(seen.ctx.timeoutMs()).toBeUndefined();
    // The signal aborts once the call has ended.
    const reason = await seen.aborted;
    expect(reason).toBeInstanceOf(MeshError);
    expect(world.fallbackLoads()).toBe(0);
  });

  it("takes its listeners off the stream once the stream closes (a closed stream keeps no call alive)", async () => {
    const { done } = submit("echo");
    expect((await done).err).toBeUndefined();
    // White-box: the call's stream, to see what is still attached to it after it closed.
    const stream = (world.calls.at(-1)!.ctx as unknown as { stream: import("node:http2").ServerHttp2Stream }).stream;
    await waitFor(() => stream.closed && stream.listenerCount("data") === 0, { what: "the stream to close and the call to detach" });
    const counts = Object.fromEntries(["data", "close", "error", "wantTrailers", "drain"].map((e) => [e, stream.listenerCount(e)]));
    expect(counts).toEqual({ data: 0, close: 0, error: 0, wantTrailers: 0, drain: 0 });
    // node:http2's own "end" listener (the stream's kMaybeDestroy) stays; the call's is gone.
    expect(stream.listeners("end").map((l) => l.name)).toEqual(["[kMaybeDestroy]"]);
  });

  it("accepts a plain init object from the implementation", async () => {
    const { res } = await submit("init").done;
    expect(res?.taskId).toBe("t-init");
  });

  it("passes request metadata the W3C propagator can read, and sends response headers and trailers", async () => {
    const metadata = new grpc.Metadata();
    metadata.set("x-question", "life");
    metadata.set("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
    const call = submit("metadata", { metadata });
    const { res } = await call.done;
    expect(new TextDecoder().decode(res?.output?.data)).toBe("life");
    expect(call.headers()?.get("x-answer")).toEqual(["42"]);
    expect(call.status()?.metadata.get("x-trailer")).toEqual(["done"]);
    const ctx = world.calls.at(-1)!.ctx;
    expect(ctx.requestHeader.get("x-question")).toBe("life");
    expect(ctx.requestHeader.has(":path")).toBe(false);
    const extracted = new W3CTraceContextPropagator().extract(ROOT_CONTEXT, ctx.requestHeader, headersGetter);
    expect(trace.getSpanContext(extracted)?.traceId).toBe("0af7651916cd43dd8448eb211c80319c");
    expect(trace.getSpanContext(extracted)?.spanId).toBe("b7ad6b7169203331");
  });

  it("sends a MeshError's code and message (percent-encoded on the wire)", async () => {
    const { err } = await submit("mesh-error").done;
    expect(err?.code).toBe(grpc.status.NOT_FOUND);
    expect(err?.details).toBe('no agent has capability "dragon" — ünïcode 100%');
  });

  it("sends a ConnectError's code and message", async () => {
    const { err } = await submit("connect-error").done;
    expect(err?.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(err?.details).toBe("not yours");
  });

  it("sends INTERNAL for any other error", async () => {
    const { err } = await submit("plain-error").done;
    expect(err?.code).toBe(grpc.status.INTERNAL);
    expect(err?.details).toBe("boom");
  });

  it("refuses a response over the size limit with RESOURCE_EXHAUSTED", async () => {
    const { err } = await submit("big").done;
    expect(err?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
  });

  it("aborts the handler's signal when the client cancels", async () => {
    const next = world.nextCall();
    const { call, done } = submit("wait");
    const seen = await next;
    call.cancel();
    const reason = (await seen.aborted) as MeshError;
    expect(reason).toBeInstanceOf(MeshError);
    expect(reason.code).toBe(Code.Canceled);
    expect((await done).err?.code).toBe(grpc.status.CANCELLED);
  });

  it("aborts the handler's signal at the deadline; the client gets DEADLINE_EXCEEDED", async () => {
    const next = world.nextCall();
    const { done } = submit("wait", { deadlineMs: 300 });
    const seen = await next;
    const left = seen.ctx.timeoutMs();
    expect(left).toBeGreaterThan(0);
    expect(left).toBeLessThanOrEqual(300);
    const reason = (await seen.aborted) as MeshError;
    // The server's timer and the client's own deadline race: either ends the call.
    expect([Code.DeadlineExceeded, Code.Canceled]).toContain(reason.code);
    expect((await done).err?.code).toBe(grpc.status.DEADLINE_EXCEEDED);
  });

  it("resets the stream when the handler's metadata cannot be sent", async () => {
    const { err } = await submit("bad-metadata").done;
    expect(err).toBeDefined();
    expect(err?.code).not.toBe(grpc.status.OK);
  });

  it("keeps serving after failures", async () => {
    const { res } = await submit("echo").done;
    expect(res?.agentId).toBe("raw");
  });
});

/** A server stream through grpc-js: messages as they arrive, and the final status. */
function subscribe(topic: string) {
  const messages: SubscribeResponse[] = [];
  const call = client.makeServerStreamRequest(
    SUBSCRIBE,
    (m: Buffer) => m,
    (b: Buffer) => fromBinary(SubscribeResponseSchema, b),
    Buffer.from(toBinary(SubscribeRequestSchema, create(SubscribeRequestSchema, { topic }))),
  );
  call.on("data", (m: SubscribeResponse) => messages.push(m));
  const status = new Promise<grpc.StatusObject>((resolve) => call.on("status", resolve));
  call.on("error", () => {
    // the status event reports it
  });
  return { call, messages, status };
}

describe("server streaming on the raw path with a grpc-js client", () => {
  it("delivers every message in order, then OK", async () => {
    const { messages, status } = subscribe("count:5");
    expect((await status).code).toBe(grpc.status.OK);
    expect(messages.map((m) => m.envelope?.messageId)).toEqual(["m0", "m1", "m2", "m3", "m4"]);
    expect(world.calls.at(-1)!.ctx).toBeInstanceOf(RawGrpcCall);
  });

  it("writes past a full flow-control window (2 000 messages of 8 KiB) without losing any", async () => {
    const { messages, status } = subscribe("bulk:2000");
    expect((await status).code).toBe(grpc.status.OK);
    expect(messages).toHaveLength(2000);
    expect(messages[1999].envelope?.messageId).toBe("m1999");
  });

  it("ends with the implementation's error status after the messages it sent", async () => {
    const { messages, status } = subscribe("fail:2");
    const s = await status;
    expect(s.code).toBe(grpc.status.ABORTED);
    expect(s.details).toBe("the topic went away");
    expect(messages).toHaveLength(2);
  });

  it("aborts the signal and closes the implementation's iterator when the client cancels", async () => {
    const next = world.nextCall();
    const { call, messages } = subscribe("hold:2");
    const seen = await next;
    await waitFor(() => messages.length === 2, { what: "two messages" });
    call.cancel();
    expect(((await seen.aborted) as MeshError).code).toBe(Code.Canceled);
    await seen.closed;
  });
});
