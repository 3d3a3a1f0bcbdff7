/** Transport configuration: every limit and timer with its default, in one place. */
import { withDefaults } from "../protocol/config.js";

/** Options of peer links and the server. */
export interface TransportConfig {
  /**
   * Envelopes a link holds for sending at most; one more is refused with RESOURCE_EXHAUSTED instead of
   * growing memory without bound. Default 8192.
   */
  maxQueuedEnvelopes: number;
  /** Envelopes in one frame at most (a frame carries what was written in the same tick). Default 512. */
  maxBatchEnvelopes: number;
  /** First reconnect delay after a link breaks, ms. Default 100. */
  reconnectInitialMs: number;
  /** Longest reconnect delay, ms. Default 5000. */
  reconnectMaxMs: number;
  /** Factor by which the delay grows per failed attempt. Default 2. */
  reconnectMultiplier: number;
  /** Random spread of each delay, as a fraction (0.2 = ±20 %), so peers do not reconnect in lockstep. Default 0.2. */
  reconnectJitter: number;
  /** Largest message (a frame, or a client request) accepted or sent, bytes; larger gets RESOURCE_EXHAUSTED. Default 4 MiB. */
  maxMessageBytes: number;
  /**
   * HTTP/2 PING interval on the connections this node dials to peers, ms; 0 turns pings off. Default 0: the
   * membership layer's probes already notice a dead or frozen peer within seconds.
   */
  keepalivePingMs: number;
  /** How long a keepalive PING may go unanswered before the connection is closed and its links redial, ms. Default 15000. */
  keepaliveTimeoutMs: number;
  /**
   * How long dialing a peer may take — TCP connect, HTTP/2 handshake and the Link stream's response headers —
   * before the attempt fails with UNAVAILABLE and the link backs off, ms. Default 10000.
   */
  dialTimeoutMs: number;
  /** How long a closing link may take to write what is queued before it is torn down, ms. Default 2000. */
  closeGraceMs: number;
  /** HTTP/2 stream and connection flow-control window, bytes (larger moves bulk faster). Default 4 MiB. */
  flowControlWindowBytes: number;
  /**
   * TCP_NODELAY on the node's connections (those it dials to peers and those it accepts): a small frame is
   * sent at once instead of waiting (Nagle's algorithm) for the acknowledgement of the previous one, which a
   * peer may delay by up to 40 ms when it has nothing to send back. Default true, as gRPC does.
   */
  noDelay: boolean;
  /**
   * Let the peer gzip the frames it sends on links this node dials (those over 1 KiB). Default false: frames
   * are batches of small envelopes, mostly ids, that gzip shrinks little; compressing cost the sending node
   * about a tenth of its CPU under request/response load on loopback (bench/README.md). Turn on for slow WANs.
   */
  compressLinks: boolean;
  /**
   * Serve plain-gRPC unary and server-streaming client calls (AgentService, Health) straight from HTTP/2
   * streams (grpc-unary.ts) rather than through connect-node, which costs about three times the CPU per call.
   * Connect, gRPC-Web and client- or bidi-streaming calls use connect-node either way. Default true.
   */
  rawClientCalls: boolean;
  /** Frames smaller than this many bytes are sent uncompressed even when the peer accepts gzip. Default 1024. */
  compressMinBytes: number;
}

/** Defaults tuned for a LAN. */
export const defaultTransportConfig: Readonly<TransportConfig> = Object.freeze({
  maxQueuedEnvelopes: 8192,
  maxBatchEnvelopes: 512,
  reconnectInitialMs: 100,
  reconnectMaxMs: 5000,
  reconnectMultiplier: 2,
  reconnectJitter: 0.2,
  maxMessageBytes: 4 * 1024 * 1024,
  keepalivePingMs: 0,
  keepaliveTimeoutMs: 15_000,
  dialTimeoutMs: 10_000,
  closeGraceMs: 2000,
  flowControlWindowBytes: 4 * 1024 * 1024,
  noDelay: true,
  compressLinks: false,
  rawClientCalls: true,
  compressMinBytes: 1024,
});

/** The defaults with `overrides` applied. */
export function transportConfig(overrides: Partial<TransportConfig> = {}): TransportConfig {
  return withDefaults(defaultTransportConfig, overrides);
}
