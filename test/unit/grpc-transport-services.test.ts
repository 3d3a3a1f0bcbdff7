/**
 * GrpcTransport serves the node's other services on its port: plain-gRPC unary calls on the raw path by default
 * (connect-node with rawClientCalls off), Connect requests through connect-node; peer links keep working
 * beside them.
 */
import { create } from "@bufbuild/protobuf";
import { createClient, type HandlerContext } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { afterEach, describe, expect, it } from "vitest";
import { Health, HealthCheckResponse_ServingStatus, HealthCheckResponseSchema } from "../../gen/grpc/health/v1/health_pb.js";
import { RawGrpcCall } from "../../src/transport/grpc-call.js";
import { GrpcTransport, serviceRegistration } from "../../src/transport/grpc-transport.js";
import type { Transport } from "../../src/transport/transport.js";
import { note, startPeer } from "../helpers/link-host.js";
import { waitFor } from "../helpers/wait.js";

const started: Transport[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((t) => t.stop()));
});

/** A transport serving a Health service that records the contexts of its calls. */
async function healthPeer(id: string, rawClientCalls?: boolean) {
  const contexts: HandlerContext[] = [];
  const health = serviceRegistration(Health, {
    check: (_req, ctx) => {
      contexts.push(ctx);
      return create(HealthCheckResponseSchema, { status: HealthCheckResponse_ServingStatus.SERVING });
    },
  });
  const transport = new GrpcTransport({ port: 0, services: [health], config: rawClientCalls === undefined ? {} : { rawClientCalls } });
  started.push(transport);
  const peer = await startPeer(id, transport);
  return { peer, contexts, baseUrl: `http://${transport.address}` };
}

describe("GrpcTransport's client-facing services", () => {
  it("serves plain-gRPC unary calls raw and Connect calls through connect-node, beside a peer link", async () => {
    const { peer, contexts, baseUrl } = await healthPeer("a");
    const grpc = createClient(Health, createGrpcTransport({ baseUrl }));
    expect((await grpc.check({})).status).toBe(HealthCheckResponse_ServingStatus.SERVING);
    expect(contexts.at(-1)).toBeInstanceOf(RawGrpcCall);
    const connect = createClient(Health, createConnectTransport({ baseUrl, httpVersion: "2" }));
    expect((await connect.check({})).status).toBe(HealthCheckResponse_ServingStatus.SERVING);
    expect(contexts.at(-1)).not.toBeInstanceOf(RawGrpcCall);
    const other = await healthPeer("b");
    other.peer.transport.linkTo("a", peer.transport.address).send(note("b", "a", "over the link"));
    await waitFor(() => peer.notes().includes("over the link"), { what: "the note at a" });
  });

  it("serves plain gRPC through connect-node with rawClientCalls off", async () => {
    const { contexts, baseUrl } = await healthPeer("a", false);
    const grpc = createClient(Health, createGrpcTransport({ baseUrl }));
    expect((await grpc.check({})).status).toBe(HealthCheckResponse_ServingStatus.SERVING);
    expect(contexts.at(-1)).not.toBeInstanceOf(RawGrpcCall);
  });
});
