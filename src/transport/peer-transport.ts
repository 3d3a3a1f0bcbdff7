/**
 * The link table shared by every Transport implementation: which links lead to which peer, reuse of an open
 * link in either direction, one link per peer pair, and orderly shutdown. Implementations add only how to
 * dial (a Dialer) and how to accept (calling acceptInbound()).
 *
 * One link per pair: when both agents dial each other at once, two links come up. Each side then keeps the
 * link dialed by the agent with the smaller id; the other agent closes the link it dialed. Of two links in
 * the same direction (a peer that redialed before its old stream was noticed dead), the newer wins.
 */
import { Code, MeshError } from "../protocol/errors.js";
import type { Envelope } from "../../gen/agentmesh/v1/envelope_pb.js";
import type { AgentInfo } from "../../gen/agentmesh/v1/membership_pb.js";
import type { Clock } from "../protocol/clock.js";
import type { Logger } from "../protocol/logger.js";
import type { TransportConfig } from "./config.js";
import type { Dialer } from "./dialer.js";
import { InboundLink } from "./inbound-link.js";
import { LinkBase, type LinkOwner } from "./link-base.js";
import { OutboundLink } from "./outbound-link.js";
import type { Link, Transport, TransportHost } from "./transport.js";

/** Base class of transports: everything but dialing, accepting and what a link queues per envelope (`Q`). */
export abstract class PeerTransport<Q = Envelope> implements Transport {
  abstract readonly address: string;
  private hostRef: TransportHost | undefined;
  private readonly all = new Set<LinkBase<Q>>();
  private readonly outboundByAddress = new Map<string, OutboundLink<Q>>();
  private readonly byPeer = new Map<string, Set<LinkBase<Q>>>();
  /** The agent each outbound link was dialed for, until its Hello says who answered. */
  private readonly dialedFor = new WeakMap<LinkBase<Q>, string>();
  private readonly owner: LinkOwner<Q>;
  /** True once stopping began: no new links are dialed. */
  private stopped = false;

  /** Creates the link table. */
  constructor(
    protected readonly config: TransportConfig,
    protected readonly logger: Logger,
    protected readonly clock: Clock,
  ) {
    const self = this;
    this.owner = {
      get host() {
        return self.host;
      },
      config,
      logger,
      helloReceived: (link, peer) => this.helloReceived(link, peer),
      linkClosed: (link) => this.linkClosed(link),
      prepare: (envelope, encoded) => this.prepare(envelope, encoded),
    };
  }

  /** The node above; set by start(). */
  protected get host(): TransportHost {
    if (this.hostRef === undefined) throw new Error("transport not started");
    return this.hostRef;
  }

  /** Records the host; implementations call this first in start(). */
  protected attach(host: TransportHost): void {
    this.hostRef = host;
  }

  abstract start(host: TransportHost): Promise<void>;

  /** How to open a stream to `address`. */
  protected abstract dialer(address: string): Dialer<Q>;

  /**
   * What a link queues for `envelope` (the envelope, or its encoding: `encoded` when the sender has it);
   * throws a MeshError to refuse it.
   */
  protected abstract prepare(envelope: Envelope, encoded?: Uint8Array): Q;

  /** Releases what the dialer of `address` holds (sessions) once its link is gone. */
  protected releaseDialer(_address: string): void {}

  linkTo(agentId: string | undefined, address: string): Link {
    if (this.stopped) throw new MeshError(Code.Unavailable, `transport of ${this.address} is stopped: no new links`);
    if (agentId !== undefined) {
      const best = this.bestLink(agentId);
      if (best !== undefined) return best;
    }
    const existing = this.outboundByAddress.get(address);
    if (existing !== undefined && existing.usable && (agentId === undefined || existing.peer === undefined || existing.peer.id === agentId)) {
      return existing;
    }
    const link = new OutboundLink<Q>(address, this.owner, this.dialer(address), this.clock);
    if (agentId !== undefined) this.dialedFor.set(link, agentId);
    this.outboundByAddress.set(address, link);
    this.all.add(link);
    link.start();
    return link;
  }

  peerLink(agentId: string): Link | undefined {
    return this.bestLink(agentId);
  }

  links(): Link[] {
    return [...this.all];
  }

  forget(agentId: string): void {
    for (const link of this.byPeer.get(agentId) ?? []) link.close(`agent ${agentId} left the mesh`);
    // Links dialed for it that never got through (it is gone: they would redial forever).
    for (const link of this.all) {
      if (link.peer === undefined && this.dialedFor.get(link) === agentId) link.close(`agent ${agentId} left the mesh`);
    }
  }

  /** Closes every link, waiting up to closeGraceMs for queues to drain, then tears down what remains. */
  protected async closeLinks(): Promise<void> {
    this.stopped = true;
    const open = [...this.all].filter((l) => l.state.t !== "closed");
    for (const link of open) link.close("node stopping");
    const closed = Promise.all(
      open.map((link) => new Promise<void>((resolve) => (link.state.t === "closed" ? resolve() : link.onState((s) => s.t === "closed" && resolve())))),
    );
    let timer: { cancel(): void } | undefined;
    const grace = new Promise<void>((resolve) => (timer = this.clock.setTimeout(resolve, this.config.closeGraceMs)));
    await Promise.race([closed, grace]);
    timer?.cancel();
    for (const link of open) if (link.state.t !== "closed") link.terminate("node stopped");
  }

  abstract stop(): Promise<void>;

  /** Registers a link a peer opened; the implementation then calls its serve(). */
  protected acceptInbound(): InboundLink<Q> {
    const link = new InboundLink<Q>("", this.owner);
    this.all.add(link);
    return link;
  }

  /** The link to use for `agentId`: ready before connecting, then the preferred of a redundant pair. */
  private bestLink(agentId: string): LinkBase<Q> | undefined {
    let best: LinkBase<Q> | undefined;
    for (const link of this.byPeer.get(agentId) ?? []) {
      if (!link.usable) continue;
      if (best === undefined || this.rank(link, agentId) > this.rank(best, agentId)) best = link;
    }
    return best;
  }

  private rank(link: LinkBase<Q>, peerId: string): number {
    const ready = link.state.t === "ready" ? 4 : 0;
    const preferred = this.isPreferredDirection(link, peerId) ? 2 : 0;
    return ready + preferred + link.id / 1e12; // newer wins the last tie
  }

  private dialerOf(link: LinkBase<Q>, peerId: string): string {
    return link.direction === "outbound" ? this.host.localInfo().id : peerId;
  }

  /** True when `link` was dialed by the smaller of the two ids (the direction both sides keep). */
  private isPreferredDirection(link: LinkBase<Q>, peerId: string): boolean {
    const local = this.host.localInfo().id;
    const smaller = local < peerId ? local : peerId;
    return this.dialerOf(link, peerId) === smaller;
  }

  private helloReceived(link: LinkBase<Q>, peer: AgentInfo): void {
    const localId = this.host.localInfo().id;
    if (peer.id === localId) {
      link.close("dialed itself");
      return;
    }
    let set = this.byPeer.get(peer.id);
    if (set === undefined) this.byPeer.set(peer.id, (set = new Set()));
    set.add(link);
    for (const other of set) {
      if (other === link || !other.usable || other.state.t !== "ready") continue;
      const drop =
        other.direction === link.direction
          ? (other.id < link.id ? other : link)
          : this.isPreferredDirection(link, peer.id)
            ? other
            : link;
      // Each side closes only what it dialed, except stale duplicates of the same direction.
      if (drop.direction === "outbound" || other.direction === link.direction) {
        this.logger.debug({ link: drop.id, peer: peer.id }, "closing redundant link");
        drop.close("redundant link");
      }
    }
  }

  private linkClosed(link: LinkBase<Q>): void {
    this.all.delete(link);
    if (link instanceof OutboundLink && this.outboundByAddress.get(link.remoteAddress) === link) {
      this.outboundByAddress.delete(link.remoteAddress);
      this.releaseDialer(link.remoteAddress);
    }
    const peerId = link.peer?.id;
    if (peerId === undefined) return;
    const set = this.byPeer.get(peerId);
    set?.delete(link);
    if (set?.size === 0) this.byPeer.delete(peerId);
  }
}
