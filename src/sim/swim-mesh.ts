/**
 * A simulated mesh: N nodes on one SimNetwork and one VirtualClock, each the product's own membership and state
 * code — one Swim and one GossipState, the state gossiping with the Swim's live members — as in a real node, with
 * no simulator-only protocol. Nodes start at staggered times and join through the first few nodes (the seeds,
 * as a real deployment lists several). A MeshView follows every node's membership events, so the harness can
 * ask in O(1) whether a member is held dead by every running node, and can time that to the event.
 * Faults: crash (the node stops for good), isolate/restore (its traffic is dropped while it keeps running: a
 * frozen or cut-off node), partition/heal, and random loss on the network.
 */
import { create } from "@bufbuild/protobuf";
import { AgentInfoSchema, MemberStatus, type AgentInfo } from "../../gen/agentmesh/v1/membership_pb.js";
import type { SwimConfig } from "../membership/config.js";
import type { MembershipEvent } from "../membership/member-list.js";
import { Swim } from "../membership/swim.js";
import type { StateConfig } from "../state/config.js";
import { GossipState } from "../state/gossip-state.js";
import { MeshView } from "./mesh-view.js";
import { SimNetwork, type SimNetworkOptions } from "./sim-network.js";
import { deriveSeed, seededRandom, VirtualClock } from "./virtual-clock.js";

/** One simulated node. */
export interface SimNode {
  /** Its id ("n0", "n1", ...). */
  id: string;
  /** Its index in the mesh. */
  index: number;
  /** Its info (mutable, as in a real node). */
  info: AgentInfo;
  /** Its membership protocol instance. */
  swim: Swim;
  /** Its replicated state. */
  state: GossipState;
  /** True once crashed. */
  crashed: boolean;
}

/** Options of a simulated mesh. */
export interface SwimMeshOptions extends SimNetworkOptions {
  /** Number of nodes. */
  n: number;
  /** PRNG seed; every node and the network draw from their own streams derived from it. Default 1. */
  seed?: number;
  /** SWIM overrides (default: the LAN defaults). */
  config?: Partial<SwimConfig>;
  /** State overrides (default: the LAN defaults). */
  stateConfig?: Partial<StateConfig>;
  /** Nodes the others join through: n0..n(seeds-1). Default min(3, n). */
  seeds?: number;
  /** Node i starts at about i / n × joinSpreadMs (plus up to 100 ms of jitter). Default n × 10 ms (10 s for 1,000). */
  joinSpreadMs?: number;
  /** Called for every membership event of every node. */
  onEvent?: (observer: SimNode, event: MembershipEvent) => void;
}

/** A simulated mesh. */
export class SwimMesh {
  /** Virtual time (starts at 1,000,000 ms). */
  readonly clock = new VirtualClock(1_000_000);
  /** The network. */
  readonly net: SimNetwork;
  /** The nodes, n0 first. */
  readonly nodes: SimNode[] = [];
  /** Every node's membership view. */
  readonly view: MeshView;
  private readonly goneWatch = new Map<number, (atMs: number) => void>();
  private readonly keyWatch = new Map<string, { have: Uint8Array; count: number; done: (atMs: number) => void }>();

  /** Builds the mesh and schedules every node's start. */
  constructor(private readonly options: SwimMeshOptions) {
    const seed = options.seed ?? 1;
    const n = options.n;
    this.net = new SimNetwork(this.clock, seededRandom(deriveSeed(seed, 0)), options);
    const ids = Array.from({ length: n }, (_, i) => `n${i}`);
    this.view = new MeshView(ids);
    const seedCount = Math.max(1, Math.min(options.seeds ?? 3, n));
    const seedAddresses = ids.slice(0, seedCount).map((_, i) => `sim:${i}`);
    const spread = options.joinSpreadMs ?? n * 10;
    const timing = seededRandom(deriveSeed(seed, n + 1));
    for (let i = 0; i < n; i++) {
      const node = this.build(i, seed, i === 0 ? [] : seedAddresses);
      this.clock.setTimeout(() => this.startNode(node), (i / n) * spread + 100 * timing());
    }
  }

  /** Crashes a node: its protocol stops and nothing reaches or leaves it from now on. */
  crash(node: SimNode): void {
    if (node.crashed) return;
    node.crashed = true;
    node.swim.stop();
    node.state.stop();
    this.net.crash(node.id);
    this.view.stop(node.index);
  }

  /** Cuts a node off (frozen, or its cable pulled): its traffic both ways is dropped, its process runs on. */
  isolate(node: SimNode): void {
    this.net.isolate(node.id);
  }

  /** Ends a node's isolation. */
  restore(node: SimNode): void {
    this.net.restore(node.id);
  }

  /** Splits the mesh into groups of nodes that cannot reach each other. */
  partition(...groups: readonly (readonly SimNode[])[]): void {
    this.net.partition(...groups.map((g) => g.map((n) => n.id)));
  }

  /** Ends a partition. */
  heal(): void {
    this.net.heal();
  }

  /** Nodes not crashed. */
  survivors(): SimNode[] {
    return this.nodes.filter((n) => !n.crashed);
  }

  /** True when every running node sees every other running node alive. */
  converged(): boolean {
    return this.view.converged();
  }

  /** The status of `target` as `observer` sees it (undefined: unknown). */
  statusOf(observer: SimNode, target: SimNode): MemberStatus | undefined {
    const s = this.view.statusOf(observer.index, target.index);
    return s === MemberStatus.UNSPECIFIED ? undefined : s;
  }

  /**
   * Calls `done` with the virtual time at which every running node (but `target`) first holds `target` dead or
   * left; returns a function that stops waiting.
   */
  whenGoneEverywhere(target: SimNode, done: (atMs: number) => void): () => void {
    if (this.view.goneEverywhere(target.index)) done(this.clock.now());
    else this.goneWatch.set(target.index, done);
    return () => {
      if (this.goneWatch.get(target.index) === done) this.goneWatch.delete(target.index);
    };
  }

  /** Calls `done` with the virtual time at which every running node first holds a value for `key` (set or learned). */
  whenEverywhere(key: string, done: (atMs: number) => void): void {
    const w = { have: new Uint8Array(this.nodes.length), count: 0, done };
    for (const node of this.nodes) {
      if (node.state.getEntry(key) !== undefined) {
        w.have[node.index] = 1;
        if (!node.crashed) w.count++;
      }
    }
    if (w.count >= this.view.runningNodes) done(this.clock.now());
    else this.keyWatch.set(key, w);
  }

  /** Runs the clock in `stepMs` steps until `done()` or `limitMs` passes; returns the virtual ms taken, or undefined. */
  runUntil(done: () => boolean, limitMs: number, stepMs = 10): number | undefined {
    const start = this.clock.now();
    while (!done()) {
      if (this.clock.now() - start >= limitMs) return undefined;
      this.clock.advance(Math.min(stepMs, start + limitMs - this.clock.now()));
    }
    return this.clock.now() - start;
  }

  private build(i: number, seed: number, seeds: string[]): SimNode {
    const id = `n${i}`;
    const info = create(AgentInfoSchema, { id, address: `sim:${i}`, capacity: 1, status: MemberStatus.ALIVE });
    const random = seededRandom(deriveSeed(seed, i + 1));
    const node: SimNode = { id, index: i, info, crashed: false, swim: undefined as unknown as Swim, state: undefined as unknown as GossipState };
    node.swim = new Swim({
      localInfo: () => info,
      messenger: { send: (to, body) => this.net.send(id, to, body) },
      clock: this.clock,
      config: this.options.config,
      seeds,
      random,
    });
    node.state = new GossipState({
      selfId: id,
      send: (to, body) => this.net.send(id, { id: to, address: "" }, body),
      peers: () => this.view.peers(i),
      clock: this.clock,
      random,
      config: this.options.stateConfig,
    });
    node.swim.onEvent((e) => this.onEvent(node, e));
    node.state.onChange((change) => this.onChange(node, change.key));
    this.net.attach(id, info.address, (from, body) => {
      if (!node.swim.receive(from, body)) node.state.receive(from, body);
    });
    this.nodes.push(node);
    return node;
  }

  private startNode(node: SimNode): void {
    if (node.crashed) return;
    node.info.startedAtMs = BigInt(Math.floor(this.clock.now()));
    node.swim.start();
    node.state.start();
  }

  private onEvent(node: SimNode, event: MembershipEvent): void {
    const t = this.view.index(event.agent.id);
    if (t !== undefined) {
      this.view.observe(node.index, t, event.agent.status);
      if (event.t === "leave" && this.goneWatch.size > 0) {
        const done = this.goneWatch.get(t);
        if (done !== undefined && this.view.goneEverywhere(t)) {
          this.goneWatch.delete(t);
          done(this.clock.now());
        }
      }
    }
    this.options.onEvent?.(node, event);
  }

  private onChange(node: SimNode, key: string): void {
    const w = this.keyWatch.get(key);
    if (w === undefined || w.have[node.index] === 1) return;
    w.have[node.index] = 1;
    if (!node.crashed) w.count++;
    if (w.count >= this.view.runningNodes) {
      this.keyWatch.delete(key);
      w.done(this.clock.now());
    }
  }
}
