/**
 * The real transport: peer links are MeshService.Link bidirectional gRPC streams over HTTP/2, served by the
 * node's one server (which also serves the node's other services: AgentService, Health).
 *
 * Links speak plain gRPC with raw node:http2 on both ends (link-client.ts dials, link-server.ts accepts as a
 * raw route of the server); envelopes are encoded once, when sent (envelope-codec.ts). Connect and gRPC-Web
 * clients can still open Link: connect-node serves it for them.
 */
import { create } from "@bufbuild/protobuf";
import type { DescService } from "@bufbuild/protobuf";
import { ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import type { Envelope } from "../../gen/agentmesh/v1/envelope_pb.js";
import { LinkResponseSchema, MeshService, type LinkRequest, type LinkResponse } from "../../gen/agentmesh/v1/mesh_service_pb.js";
import { systemClock, type Clock } from "../protocol/clock.js";
import { decodeEnvelope, encodeEnvelope } from "../protocol/envelope-codec.js";
import { Code, MeshError } from "../protocol/errors.js";
import { silentLogger, type Logger } from "../protocol/logger.js";
import { mapAsync } from "./async-iter.js";
import { transportConfig, type TransportConfig } from "./config.js";
import type { Dialer } from "./dialer.js";
import { linkDialer } from "./link-client.js";
import { maxEnvelopeBytes } from "./link-frame.js";
import { serveLinkStream } from "./link-server.js";
import { LINK_PATH } from "./link-stream.js";
import { PeerSession } from "./peer-session.js";
import { PeerTransport } from "./peer-transport.js";
import { rawGrpcRoutes } from "./grpc-unary.js";
import { startMeshServer, type MeshServer, type RawStreamHandler } from "./server.js";
import type { TransportHost } from "./transport.js";

/** Options of the gRPC transport. */
export interface GrpcTransportOptions {
  /** Interface to listen on. Default "127.0.0.1". */
  host?: string;
  /** Port to listen on; 0 picks a free one. Default 0. */
  port?: number;
  /** host:port peers should dial; default: host (127.0.0.1 when listening on every interface) and the bound port. */
  advertiseAddress?: string;
  /** Limits and timers. */
  config?: Partial<TransportConfig>;
  /** Where to log. */
  logger?: Logger;
  /** Time source. */
  clock?: Clock;
  /** The node's other services (AgentService, Health), served on the same port. */
  services?: readonly ServiceRegistration[];
}

/** One gRPC service and its implementation. */
export interface ServiceRegistration {
  /** The service descriptor (generated). */
  service: DescService;
  /** Its implementation. */
  impl: Partial<ServiceImpl<DescService>>;
}

/** Pairs a service with its implementation, checking the implementation against that service's methods. */
export function serviceRegistration<S extends DescService>(service: S, impl: Partial<ServiceImpl<S>>): ServiceRegistration {
  return { service, impl: impl as unknown as ServiceRegistration["impl"] };
}

/** Peer links over gRPC bidirectional streams; links queue envelopes encoded. */
export class GrpcTransport extends PeerTransport<Uint8Array> {
  private server: MeshServer | undefined;
  private boundAddress = "";
  private readonly sessions = new Map<string, PeerSession>();
  private readonly maxEnvelopeBytes: number;

  /** Creates the transport; start() listens. */
  constructor(private readonly options: GrpcTransportOptions = {}) {
    super(transportConfig(options.config), options.logger ?? silentLogger, options.clock ?? systemClock);
    this.maxEnvelopeBytes = maxEnvelopeBytes(this.config.maxMessageBytes);
  }

  get address(): string {
    return this.boundAddress;
  }

  async start(host: TransportHost): Promise<void> {
    this.attach(host);
    const listenHost = this.options.host ?? "127.0.0.1";
    const services = [serviceRegistration(MeshService, { link: (requests, ctx) => this.serveLink(requests, ctx) }), ...(this.options.services ?? [])];
    const { maxMessageBytes } = this.config;
    const rawRoutes = this.config.rawClientCalls ? rawGrpcRoutes(this.options.services ?? [], { maxMessageBytes, clock: this.clock, logger: this.logger }) : new Map<string, RawStreamHandler>();
    rawRoutes.set(...this.linkRoute());
    this.server = await startMeshServer({
      host: listenHost,
      port: this.options.port ?? 0,
      rawRoutes,
      // connect-node is loaded for the first request no raw route takes (Connect, gRPC-Web, streaming calls).
      loadHandler: async () => (await import("./connect-fallback.js")).connectFallback(services, { maxMessageBytes }),
      flowControlWindowBytes: this.config.flowControlWindowBytes,
      noDelay: this.config.noDelay,
    });
    const advertiseHost = listenHost === "0.0.0.0" || listenHost === "::" ? "127.0.0.1" : listenHost;
    this.boundAddress = this.options.advertiseAddress ?? `${advertiseHost}:${this.server.port}`;
  }

  /** The port the server listens on (after start). */
  get port(): number {
    return this.server?.port ?? 0;
  }

  /** The raw route serving Link to plain-gRPC peers. */
  private linkRoute(): [string, RawStreamHandler] {
    const acceptor = { config: this.config, clock: this.clock, accept: () => this.acceptInbound() };
    return [LINK_PATH, (stream, headers) => serveLinkStream(acceptor, stream, headers)];
  }

  protected dialer(address: string): Dialer<Uint8Array> {
    const session = new PeerSession(address, this.config, this.clock);
    this.sessions.get(address)?.close(true);
    this.sessions.set(address, session);
    return linkDialer(session, this.config, this.clock);
  }

  protected override releaseDialer(address: string): void {
    this.sessions.get(address)?.close();
    this.sessions.delete(address);
  }

  /** Encodes an envelope for a link (unless its encoding is given); refuses one no frame can carry with RESOURCE_EXHAUSTED. */
  protected prepare(envelope: Envelope, encoded?: Uint8Array): Uint8Array {
    const bytes = encoded ?? encodeEnvelope(envelope);
    if (bytes.length > this.maxEnvelopeBytes) {
      throw new MeshError(
        Code.ResourceExhausted,
        `envelope ${envelope.messageId} (${envelope.body.case ?? "no body"}) is ${bytes.length} bytes; a link frame carries at most ${this.maxEnvelopeBytes} (maxMessageBytes ${this.config.maxMessageBytes})`,
      );
    }
    return bytes;
  }

  /** Link for Connect and gRPC-Web clients (plain gRPC takes the raw route). */
  private async *serveLink(requests: AsyncIterable<LinkRequest>, ctx: HandlerContext): AsyncGenerator<LinkResponse> {
    const link = this.acceptInbound();
    try {
      for await (const encoded of link.serve(mapAsync(requests, (r) => r.envelopes), ctx.signal)) {
        yield create(LinkResponseSchema, { envelopes: encoded.map((bytes) => decodeEnvelope(bytes)) });
      }
    } catch (err) {
      if (err instanceof ConnectError) throw err;
      throw MeshError.from(err).toConnectError();
    }
  }

  async stop(): Promise<void> {
    await this.closeLinks();
    await this.server?.close(this.config.closeGraceMs);
    for (const s of this.sessions.values()) s.close(true);
    this.sessions.clear();
  }
}
