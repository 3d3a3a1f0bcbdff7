/**
 * The real transport: peer links are MeshService.Link bidirectional gRPC streams over HTTP/2, served by the
 * node's one server (which also serves the node's other services: AgentService, Health).
 */
import { create } from "@bufbuild/protobuf";
import type { DescService } from "@bufbuild/protobuf";
import { ConnectError, createClient, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import {
  LinkRequestSchema,
  LinkResponseSchema,
  MeshService,
  type LinkRequest,
  type LinkResponse,
} from "../../gen/agentmesh/v1/mesh_service_pb.js";
import { systemClock, type Clock } from "../protocol/clock.js";
import { MeshError } from "../protocol/errors.js";
import { silentLogger, type Logger } from "../protocol/logger.js";
import { mapAsync } from "./async-iter.js";
import { transportConfig, type TransportConfig } from "./config.js";
import type { Dialer } from "./dialer.js";
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

/** Peer links over gRPC bidirectional streams. */
export class GrpcTransport extends PeerTransport {
  private server: MeshServer | undefined;
  private boundAddress = "";
  private readonly sessions = new Map<string, Http2SessionManager>();

  /** Creates the transport; start() listens. */
  constructor(private readonly options: GrpcTransportOptions = {}) {
    super(transportConfig(options.config), options.logger ?? silentLogger, options.clock ?? systemClock);
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
    this.server = await startMeshServer({
      host: listenHost,
      port: this.options.port ?? 0,
      rawRoutes,
      // connect-node is loaded for the first request no raw route takes (Connect, gRPC-Web, streaming calls).
      loadHandler: async () => (await import("./connect-fallback.js")).connectFallback(services, { maxMessageBytes }),
      flowControlWindowBytes: this.config.flowControlWindowBytes,
    });
    const advertiseHost = listenHost === "0.0.0.0" || listenHost === "::" ? "127.0.0.1" : listenHost;
    this.boundAddress = this.options.advertiseAddress ?? `${advertiseHost}:${this.server.port}`;
  }

  /** The port the server listens on (after start). */
  get port(): number {
    return this.server?.port ?? 0;
  }

  protected dialer(address: string): Dialer {
    const baseUrl = `http://${address}`;
    const sessionManager = new Http2SessionManager(
      baseUrl,
      this.config.keepalivePingMs > 0 ? { pingIntervalMs: this.config.keepalivePingMs, pingIdleConnection: true } : {},
      { settings: { initialWindowSize: this.config.flowControlWindowBytes } },
    );
    this.sessions.get(address)?.abort();
    this.sessions.set(address, sessionManager);
    const client = createClient(
      MeshService,
      createGrpcTransport({
        baseUrl,
        sessionManager,
        readMaxBytes: this.config.maxMessageBytes,
        writeMaxBytes: this.config.maxMessageBytes,
        // Without compressLinks, accept no compression: the peer's server then sends frames as they are.
        ...(this.config.compressLinks ? {} : { acceptCompression: [] }),
      }),
    );
    return (outgoing, signal) =>
      mapAsync(
        client.link(
          mapAsync(outgoing, (envelopes) => create(LinkRequestSchema, { envelopes })),
          { signal },
        ),
        (response) => response.envelopes,
      );
  }

  protected override releaseDialer(address: string): void {
    this.sessions.get(address)?.abort();
    this.sessions.delete(address);
  }

  private async *serveLink(requests: AsyncIterable<LinkRequest>, ctx: HandlerContext): AsyncGenerator<LinkResponse> {
    const link = this.acceptInbound();
    try {
      for await (const envelopes of link.serve(mapAsync(requests, (r) => r.envelopes), ctx.signal)) {
        yield create(LinkResponseSchema, { envelopes });
      }
    } catch (err) {
      if (err instanceof ConnectError) throw err;
      throw MeshError.from(err).toConnectError();
    }
  }

  async stop(): Promise<void> {
    await this.closeLinks();
    await this.server?.close(this.config.closeGraceMs);
    for (const s of this.sessions.values()) s.abort();
    this.sessions.clear();
  }
}
