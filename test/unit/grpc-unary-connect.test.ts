/**
 * The raw gRPC path with connect-es clients: the gRPC transport is served raw (deadline, cancel, errors,
 * server streams closed by the client); Connect and gRPC-Web requests go to the connect-node fallback, which is
 * loaded once, on the first of them.
 */
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type Client, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AgentService } from "../../gen/agentmesh/v1/agent_service_pb.js";
import { PayloadSchema } from "../../gen/agentmesh/v1/payload_pb.js";
import { MeshError } from "../../src/protocol/errors.js";
import { RawGrpcCall } from "../../src/transport/grpc-call.js";
import { startRawWorld, type RawWorld } from "../helpers/raw-grpc-world.js";

let world: RawWorld;
let grpcClient: Client<typeof AgentService>;

const clientOf = (make: (o: { baseUrl: string; httpVersion: "2" }) => Transport) => createClient(AgentService, make({ baseUrl: `http://${world.address}`, httpVersion: "2" }));
const input = (text: string) => create(PayloadSchema, { data: new TextEncoder().encode(text) });

beforeAll(async () => {
  world = await startRawWorld();
  grpcClient = clientOf(createGrpcTransport);
});
afterAll(async () => {
  await world?.close();
});

async function rejection(p: Promise<unknown>): Promise<ConnectError> {
  try {
    await p;
  } catch (err) {
    return ConnectError.from(err);
  }
  throw new Error("expected the call to fail");
}

describe("the raw gRPC path with a connect-es gRPC client", () => {
  it("serves a unary call raw", async () => {
    const res = await grpcClient.submitTask({ capability: "echo", input: input("hi"), correlationId: "c-2" });
    expect(new TextDecoder().decode(res.output?.data)).toBe("hi");
    expect(res.correlationId).toBe("c-2");
    expect(world.calls.at(-1)!.ctx).toBeInstanceOf(RawGrpcCall);
  });

  it("receives response headers and trailers", async () => {
    let header: Headers | undefined;
    let trailer: Headers | undefined;
    await grpcClient.submitTask({ capability: "metadata" }, { headers: { "x-question": "q" }, onHeader: (h) => (header = h), onTrailer: (t) => (trailer = t) });
    expect(header?.get("x-answer")).toBe("42");
    expect(trailer?.get("x-trailer")).toBe("done");
  });

  it("receives error codes and messages", async () => {
    const err = await rejection(grpcClient.submitTask({ capability: "mesh-error" }));
    expect(err.code).toBe(Code.NotFound);
    expect(err.rawMessage).toBe('no agent has capability "dragon" — ünïcode 100%');
    expect((await rejection(grpcClient.submitTask({ capability: "connect-error" }))).code).toBe(Code.PermissionDenied);
  });

  it("gets DEADLINE_EXCEEDED at its timeout, and the handler's signal aborts", async () => {
    const next = world.nextCall();
    const call = rejection(grpcClient.submitTask({ capability: "wait" }, { timeoutMs: 200 }));
    const seen = await next;
    expect(seen.ctx.timeoutMs()).toBeLessThanOrEqual(200);
    expect([Code.DeadlineExceeded, Code.Canceled]).toContain(((await seen.aborted) as MeshError).code);
    expect((await call).code).toBe(Code.DeadlineExceeded);
  });

  it("cancels through its AbortSignal; the handler's signal aborts with CANCELLED", async () => {
    const next = world.nextCall();
    const abort = new AbortController();
    const call = rejection(grpcClient.submitTask({ capability: "wait" }, { signal: abort.signal }));
    const seen = await next;
    abort.abort();
    expect(((await seen.aborted) as MeshError).code).toBe(Code.Canceled);
    expect((await call).code).toBe(Code.Canceled);
  });

  it("reads a server stream to its end", async () => {
    const ids: string[] = [];
    for await (const m of grpcClient.subscribe({ topic: "count:3" })) ids.push(m.envelope?.messageId ?? "");
    expect(ids).toEqual(["m0", "m1", "m2"]);
  });

  it("cancels a server stream: the implementation's iterator is closed and its signal aborted", async () => {
    const next = world.nextCall();
    const ids: string[] = [];
    const abort = new AbortController();
    const reading = (async () => {
      for await (const m of grpcClient.subscribe({ topic: "hold:5" }, { signal: abort.signal })) {
        ids.push(m.envelope?.messageId ?? "");
        if (ids.length === 2) abort.abort();
      }
    })();
    expect((await rejection(reading)).code).toBe(Code.Canceled);
    const seen = await next;
    expect(seen.ctx).toBeInstanceOf(RawGrpcCall);
    expect(((await seen.aborted) as MeshError).code).toBe(Code.Canceled);
    await seen.closed;
    // Messages already buffered when the client aborted may still have been read.
    expect(ids.slice(0, 2)).toEqual(["m0", "m1"]);
  });

  it("never loaded the fallback", () => {
    expect(world.fallbackLoads()).toBe(0);
  });
});

describe("requests the raw routes do not take", () => {
  it("Connect and gRPC-Web reach the same implementation through connect-node, loaded once on first use", async () => {
    expect(world.fallbackLoads()).toBe(0);
    const connect = clientOf(createConnectTransport);
    const res = await connect.submitTask({ capability: "echo", input: input("via connect") });
    expect(new TextDecoder().decode(res.output?.data)).toBe("via connect");
    expect(world.calls.at(-1)!.ctx).not.toBeInstanceOf(RawGrpcCall);
    const web = clientOf(createGrpcWebTransport);
    // A MeshError thrown by the implementation keeps its code on this path too.
    const err = await rejection(web.submitTask({ capability: "mesh-error" }));
    expect(err.code).toBe(Code.NotFound);
    expect(err.rawMessage).toBe('no agent has capability "dragon" — ünïcode 100%');
    expect((await rejection(web.submitTask({ capability: "connect-error" }))).code).toBe(Code.PermissionDenied);
    const failed: string[] = [];
    const streamErr = await rejection(
      (async () => {
        for await (const m of connect.subscribe({ topic: "fail:1" })) failed.push(m.envelope?.messageId ?? "");
      })(),
    );
    expect(streamErr.code).toBe(Code.Aborted);
    expect(failed).toEqual(["m0"]);
    const ids: string[] = [];
    for await (const m of web.subscribe({ topic: "count:2" })) ids.push(m.envelope?.messageId ?? "");
    expect(ids).toEqual(["m0", "m1"]);
    expect(world.fallbackLoads()).toBe(1);
  });

  it("concurrent first requests share one load of the fallback", async () => {
    const fresh = await startRawWorld();
    try {
      const connect = createClient(AgentService, createConnectTransport({ baseUrl: `http://${fresh.address}`, httpVersion: "2" }));
      const replies = await Promise.all(Array.from({ length: 8 }, (_, i) => connect.submitTask({ capability: "echo", input: input(`n${i}`) })));
      expect(replies.map((r) => new TextDecoder().decode(r.output?.data))).toEqual(Array.from({ length: 8 }, (_, i) => `n${i}`));
      expect(fresh.fallbackLoads()).toBe(1);
    } finally {
      await fresh.close();
    }
  });

  it("without raw routes, gRPC calls are served by connect-node too", async () => {
    const plain = await startRawWorld({ raw: false });
    try {
      const client = createClient(AgentService, createGrpcTransport({ baseUrl: `http://${plain.address}` }));
      const res = await client.submitTask({ capability: "echo", input: input("x") });
      expect(new TextDecoder().decode(res.output?.data)).toBe("x");
      expect(plain.calls.at(-1)!.ctx).not.toBeInstanceOf(RawGrpcCall);
    } finally {
      await plain.close();
    }
  });
});
