/**
 * Link as other clients see it: a plain @grpc/grpc-js client (the raw route) and a Connect client (the
 * connect-node fallback) open MeshService.Link on a node's transport, exchange Hello and envelopes, and get
 * the gRPC status the protocol asks for — OK when either side closes in order, INVALID_ARGUMENT for a first
 * envelope that is not a Hello or for bytes that are not a frame, UNIMPLEMENTED for an unsupported
 * grpc-encoding, DEADLINE_EXCEEDED when the call's grpc-timeout passes. gzip works both ways.
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import * as http2 from "node:http2";
import * as zlib from "node:zlib";
import { afterEach, describe, expect, it } from "vitest";
import type { Envelope } from "../../gen/agentmesh/v1/envelope_pb.js";
import { AgentInfoSchema, HelloSchema } from "../../gen/agentmesh/v1/membership_pb.js";
import { LinkRequestSchema, LinkResponseSchema, MeshService } from "../../gen/agentmesh/v1/mesh_service_pb.js";
import { newEnvelope } from "../../src/protocol/envelope.js";
import { Channel } from "../../src/transport/async-iter.js";
import { encodeGrpcMessage } from "../../src/transport/grpc-frame.js";
import { GrpcTransport } from "../../src/transport/grpc-transport.js";
import { note, startPeer, type LinkPeer } from "../helpers/link-host.js";
import { waitFor } from "../helpers/wait.js";

const LINK = "/agentmesh.v1.MeshService/Link";
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function node(id: string): Promise<LinkPeer> {
  const t = new GrpcTransport({ port: 0, config: { closeGraceMs: 300 } });
  cleanups.push(() => t.stop());
  return startPeer(id, t);
}

function hello(id: string): Envelope {
  return newEnvelope({ from: id, body: { case: "hello", value: create(HelloSchema, { agent: create(AgentInfoSchema, { id }), protocolVersion: 1 }) } });
}

const frame = (...envelopes: Envelope[]) => Buffer.from(toBinary(LinkRequestSchema, create(LinkRequestSchema, { envelopes })));

/** A grpc-js Link call to `address`: frames received, the final status, and the call to write to. */
function grpcLink(address: string, options: grpc.ChannelOptions = {}, callOptions: grpc.CallOptions = {}) {
  const client = new grpc.Client(address, grpc.credentials.createInsecure(), { "grpc.use_local_subchannel_pool": 1, ...options });
  cleanups.push(() => client.close());
  const identity = (b: Buffer) => b;
  const call = client.makeBidiStreamRequest(LINK, identity, identity, new grpc.Metadata(), callOptions);
  const received: Envelope[] = [];
  call.on("data", (b: Buffer) => received.push(...fromBinary(LinkResponseSchema, b).envelopes));
  call.on("error", () => {});
  const status = new Promise<grpc.StatusObject>((resolve) => call.on("status", resolve));
  return { call, received, status };
}

/** The gRPC messages in `wire`: compressed flag and payload. */
function messages(wire: Buffer): { compressed: boolean; payload: Buffer }[] {
  const out: { compressed: boolean; payload: Buffer }[] = [];
  for (let at = 0; at + 5 <= wire.length; ) {
    const length = wire.readUInt32BE(at + 1);
    if (at + 5 + length > wire.length) break;
    out.push({ compressed: wire[at] === 1, payload: wire.subarray(at + 5, at + 5 + length) });
    at += 5 + length;
  }
  return out;
}

const noteText = (e: Envelope) => (e.body.case === "user" ? JSON.parse(new TextDecoder().decode(e.body.value.payload?.data)) : undefined);

describe("Link served to a plain grpc-js client", () => {
  it("exchanges Hello and envelopes both ways, then ends with OK when the client ends", async () => {
    const b = await node("b");
    const g = grpcLink(b.transport.address);
    g.call.write(frame(hello("g"), note("g", "b", "first")));
    await waitFor(() => g.received.length >= 1 && b.notes().length === 1, { what: "hello back and the note at b" });
    expect(g.received[0].body.case).toBe("hello");
    expect(b.hellos.map((h) => h.id)).toEqual(["g"]);
    expect(b.notes()).toEqual(["first"]);
    const back = b.transport.peerLink("g");
    expect(back?.direction).toBe("inbound");
    back?.send(note("b", "g", "back"));
    await waitFor(() => g.received.some((e) => noteText(e) === "back"), { what: "the note at g" });
    g.call.end();
    expect((await g.status).code).toBe(grpc.status.OK);
    await waitFor(() => b.transport.links().length === 0, { what: "b to drop the link" });
  });

  it("ends with OK, after what is queued, when the node closes the link", async () => {
    const b = await node("b");
    const g = grpcLink(b.transport.address);
    g.call.write(frame(hello("g")));
    await waitFor(() => b.transport.peerLink("g"), { what: "the link at b" });
    const link = b.transport.peerLink("g");
    for (let i = 0; i < 50; i++) link?.send(note("b", "g", i));
    link?.close("done");
    expect((await g.status).code).toBe(grpc.status.OK);
    expect(g.received.filter((e) => e.body.case === "user").map(noteText)).toEqual(Array.from({ length: 50 }, (_, i) => i));
  });

  it("refuses a first envelope that is not a Hello with INVALID_ARGUMENT", async () => {
    const b = await node("b");
    const g = grpcLink(b.transport.address);
    g.call.write(frame(note("g", "b", "no hello")));
    const status = await g.status;
    expect(status.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(status.details).toContain("hello");
  });

  it("refuses bytes that are not a Link frame with INVALID_ARGUMENT", async () => {
    const b = await node("b");
    const g = grpcLink(b.transport.address);
    g.call.write(Buffer.from([0x0a, 0x05, 0x01]));
    const status = await g.status;
    expect(status.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(status.details).toContain("malformed link frame");
  });

  it("reads gzip requests and gzips large responses for a client that accepts it", async () => {
    const b = await node("b");
    const g = grpcLink(b.transport.address, { "grpc.default_compression_algorithm": 2 });
    const big = "z".repeat(4000);
    g.call.write(frame(hello("g"), note("g", "b", big)));
    await waitFor(() => b.notes().length === 1, { what: "the compressed note at b" });
    expect(b.notes()).toEqual([big]);
    b.transport.peerLink("g")?.send(note("b", "g", big));
    await waitFor(() => g.received.some((e) => noteText(e) === big), { what: "the large note at g" });
    g.call.end();
    expect((await g.status).code).toBe(grpc.status.OK);
  });

  it("sends frames of at least compressMinBytes gzipped, and only when the client accepts gzip", async () => {
    const b = await node("b");
    for (const accept of ["gzip", "identity"]) {
      const session = http2.connect(`http://${b.transport.address}`);
      cleanups.push(() => session.destroy());
      const stream = session.request({ ":method": "POST", ":path": LINK, "content-type": "application/grpc", te: "trailers", "grpc-accept-encoding": accept });
      const headers = new Promise<http2.IncomingHttpHeaders>((resolve) => stream.on("response", resolve));
      const chunks: Buffer[] = [];
      stream.on("data", (c: Buffer) => chunks.push(c));
      const id = `raw-${accept}`;
      stream.write(encodeGrpcMessage(frame(hello(id))));
      await waitFor(() => b.transport.peerLink(id), { what: "the link at b" });
      b.transport.peerLink(id)?.send(note("b", id, "w".repeat(3000)));
      // hello (small, never compressed), then the note: flag 1 with gzip, 0 without
      await waitFor(() => messages(Buffer.concat(chunks)).length === 2, { what: "two frames" });
      const [first, second] = messages(Buffer.concat(chunks));
      expect((await headers)["grpc-encoding"]).toBe(accept === "gzip" ? "gzip" : undefined);
      expect(first.compressed).toBe(false);
      expect(second.compressed).toBe(accept === "gzip");
      const payload = second.compressed ? zlib.gunzipSync(second.payload) : second.payload;
      expect(noteText(fromBinary(LinkResponseSchema, payload).envelopes[0])).toBe("w".repeat(3000));
      stream.close();
    }
  });

  it("answers an unsupported grpc-encoding with UNIMPLEMENTED", async () => {
    const b = await node("b");
    const g = grpcLink(b.transport.address, { "grpc.default_compression_algorithm": 1 }); // deflate
    g.call.write(frame(hello("g")));
    expect((await g.status).code).toBe(grpc.status.UNIMPLEMENTED);
    expect(b.transport.links()).toHaveLength(0);
  });

  it("ends the link when the call's grpc-timeout passes", async () => {
    const b = await node("b");
    const g = grpcLink(b.transport.address, {}, { deadline: Date.now() + 400 });
    g.call.write(frame(hello("g")));
    await waitFor(() => b.transport.peerLink("g"), { what: "the link at b" });
    expect((await g.status).code).toBe(grpc.status.DEADLINE_EXCEEDED);
    await waitFor(() => b.transport.links().length === 0, { what: "b to drop the link" });
  });
});

describe("Link served to a Connect client (connect-node fallback)", () => {
  it("exchanges Hello and envelopes", async () => {
    const b = await node("b");
    const client = createClient(MeshService, createConnectTransport({ baseUrl: `http://${b.transport.address}`, httpVersion: "2" }));
    const out = new Channel<{ envelopes: Envelope[] }>();
    out.push({ envelopes: [hello("c"), note("c", "b", "via connect")] });
    const received: Envelope[] = [];
    const done = (async () => {
      for await (const res of client.link(out)) received.push(...res.envelopes);
    })();
    await waitFor(() => received.length >= 1 && b.notes().length === 1, { what: "hello back and the note at b" });
    expect(received[0].body.case).toBe("hello");
    expect(b.notes()).toEqual(["via connect"]);
    b.transport.peerLink("c")?.send(note("b", "c", "back"));
    await waitFor(() => received.some((e) => noteText(e) === "back"), { what: "the note at c" });
    out.end();
    await done; // the stream ended with OK (an error status would throw)
  });
});
