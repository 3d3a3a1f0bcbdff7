/**
 * The HTTP/2 connection this node dials to one peer, shared by the Link streams to it (one at a time, plus a
 * redial while an old stream winds down). A connection that failed, closed or received GOAWAY is not reused:
 * the next stream opens a new one. Flow-control windows follow TransportConfig (stream window by SETTINGS,
 * the connection window once connected); with keepalivePingMs, the connection is PINGed and closed when a PING
 * goes unanswered for keepaliveTimeoutMs.
 */
import * as http2 from "node:http2";
import type { Clock, TimerHandle } from "../protocol/clock.js";
import { Code, MeshError } from "../protocol/errors.js";
import type { TransportConfig } from "./config.js";

/** One peer's HTTP/2 connection, reopened on demand. */
export class PeerSession {
  private session: http2.ClientHttp2Session | undefined;
  private keepalive: TimerHandle | undefined;
  private closed = false;

  /** Dials `address` (host:port) when a stream is first needed. */
  constructor(
    readonly address: string,
    private readonly config: TransportConfig,
    private readonly clock: Clock,
  ) {}

  /** The usable connection, or a new one (connecting; streams opened now wait for it). Throws UNAVAILABLE once closed. */
  get(): http2.ClientHttp2Session {
    if (this.closed) throw new MeshError(Code.Unavailable, `connection to ${this.address} is closed`);
    const s = this.session;
    if (s !== undefined && !s.closed && !s.destroyed) return s;
    return this.open();
  }

  /** Drops a connection that is still connecting (a dial timed out), so the next attempt starts afresh. */
  abandonIfConnecting(): void {
    const s = this.session;
    if (s !== undefined && s.connecting) {
      this.session = undefined;
      s.destroy(new MeshError(Code.Unavailable, `cannot connect to ${this.address} within ${this.config.dialTimeoutMs} ms`));
    }
  }

  /** Closes the connection for good: gracefully (open streams finish), or at once with `destroy`. */
  close(destroy = false): void {
    this.closed = true;
    this.stopKeepalive();
    const s = this.session;
    this.session = undefined;
    if (s === undefined) return;
    if (destroy) s.destroy();
    else s.close();
  }

  private open(): http2.ClientHttp2Session {
    const window = this.config.flowControlWindowBytes;
    // noDelay reaches net.connect (node:http2 passes its options on to it).
    const s = http2.connect(`http://${this.address}`, { settings: { initialWindowSize: window, enablePush: false }, noDelay: this.config.noDelay } as http2.ClientSessionOptions);
    this.session = s;
    // Its streams fail with their own errors; the connection only has to be let go.
    s.on("error", () => this.forget(s));
    s.on("goaway", () => this.forget(s));
    s.on("close", () => this.forget(s));
    s.once("connect", () => {
      try {
        s.setLocalWindowSize(window);
      } catch {
        // closed already
      }
      if (this.session === s) this.startKeepalive(s);
    });
    return s;
  }

  private forget(s: http2.ClientHttp2Session): void {
    if (this.session !== s) return;
    this.session = undefined;
    this.stopKeepalive();
  }

  private startKeepalive(s: http2.ClientHttp2Session): void {
    const every = this.config.keepalivePingMs;
    if (every <= 0) return;
    const tick = () => {
      this.keepalive = undefined;
      if (this.session !== s || s.destroyed) return;
      const timeoutMs = this.config.keepaliveTimeoutMs;
      const timeout = this.clock.setTimeout(
        () => s.destroy(new MeshError(Code.Unavailable, `${this.address} did not answer a keepalive PING within ${timeoutMs} ms`)),
        timeoutMs,
      );
      let sent = false;
      try {
        sent = s.ping((err) => {
          timeout.cancel();
          if (err === null && this.session === s) this.keepalive = this.clock.setTimeout(tick, every);
        });
      } catch {
        // the connection closed in between: 'close' lets it go
      }
      if (!sent) {
        timeout.cancel();
        if (this.session === s) this.keepalive = this.clock.setTimeout(tick, every);
      }
    };
    this.keepalive = this.clock.setTimeout(tick, every);
  }

  private stopKeepalive(): void {
    this.keepalive?.cancel();
    this.keepalive = undefined;
  }
}
