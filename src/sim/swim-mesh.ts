/**
 * A simulated SWIM mesh: N Swim instances on one SimNetwork and one VirtualClock, each with its own info,
 * joined through node 0. Used by `npm run sim` and by the membership tests.
 */
import { create } from "@bufbuild/protobuf";
import { AgentInfoSchema, MemberStatus, type AgentInfo } from "../../gen/agentmesh/v1/membership_pb.js";
import type { SwimConfig } from "../membership/config.js";
import type { MembershipEvent } from "../membership/member-list.js";
import { Swim } from "../membership/swim.js";
import { SimNetwork, type SimNetworkOptions } from "./sim-network.js";
import { seededRandom, VirtualClock } from "./virtual-clock.js";

/** One simulated node. */
export interface SimNode {
  /** Its id ("n0", "n1", ...). */
  id: string;
  /** Its info (mutable, as in a real node). */
  info: AgentInfo;
  /** Its protocol instance. */
  swim: Swim;
  /** True once crashed. */
  crashed: boolean;
}

/** Options of a simulated mesh. */
export interface SwimMeshOptions extends SimNetworkOptions {
  /** Number of nodes. */
  n: number;
  /** PRNG seed. Default 1. */
  seed?: number;
  /** SWIM overrides. */
  config?: Partial<SwimConfig>;
  /** Called for every membership event of every node. */
  onEvent?: (observer: SimNode, event: MembershipEvent) => void;
}

/** A simulated mesh. */
export class SwimMesh {
  /** Virtual time. */
  readonly clock = new VirtualClock(1_000_000);
  /** The network. */
  readonly net: SimNetwork;
  /** The nodes, n0 first. */
  readonly nodes: SimNode[] = [];
  private readonly random: () => number;

  /** Builds and starts the mesh (nodes start at random times within the first 100 ms). */
  constructor(private readonly options: SwimMeshOptions) {
    this.random = seededRandom(options.seed ?? 1);
    this.net = new SimNetwork(this.clock, this.random, options);
    for (let i = 0; i < options.n; i++) this.add();
  }

  /** Adds and starts one more node, joining through n0. */
  add(): SimNode {
    const i = this.nodes.length;
    const id = `n${i}`;
    const info = create(AgentInfoSchema, {
      id,
      address: `sim:${i}`,
      capacity: 1,
      status: MemberStatus.ALIVE,
      startedAtMs: BigInt(this.clock.now()),
    });
    const node: SimNode = { id, info, crashed: false, swim: undefined as unknown as Swim };
    node.swim = new Swim({
      localInfo: () => info,
      messenger: { send: (to, body) => this.net.send(id, to, body) },
      clock: this.clock,
      config: this.options.config,
      seeds: i === 0 ? [] : ["sim:0"],
      random: this.random,
    });
    node.swim.onEvent((e) => this.options.onEvent?.(node, e));
    this.net.attach(id, info.address, (from, body) => {
      if (!node.crashed) node.swim.receive(from, body);
    });
    this.nodes.push(node);
    this.clock.setTimeout(() => node.swim.start(), 100 * this.random());
    return node;
  }

  /** Crashes a node: it stops and nothing reaches it. */
  crash(node: SimNode): void {
    node.crashed = true;
    node.swim.stop();
    this.net.crash(node.id);
  }

  /** Nodes still running. */
  survivors(): SimNode[] {
    return this.nodes.filter((n) => !n.crashed);
  }

  /** True when every running node sees every other running node alive. */
  converged(): boolean {
    const live = this.survivors();
    for (const n of live) {
      let alive = 0;
      for (const m of n.swim.members()) if (m.status === MemberStatus.ALIVE && !this.byId(m.id)?.crashed) alive++;
      if (alive !== live.length - 1) return false;
    }
    return true;
  }

  /** The status of `target` as `observer` sees it (undefined: unknown). */
  statusOf(observer: SimNode, target: string): MemberStatus | undefined {
    return observer.swim.member(target)?.info.status;
  }

  /** Runs the clock in `stepMs` steps until `done()` or `limitMs` passes; returns the virtual ms taken, or undefined. */
  runUntil(done: () => boolean, limitMs: number, stepMs = 10): number | undefined {
    const start = this.clock.now();
    while (this.clock.now() - start <= limitMs) {
      if (done()) return this.clock.now() - start;
      this.clock.advance(stepMs);
    }
    return done() ? this.clock.now() - start : undefined;
  }

  private byId(id: string): SimNode | undefined {
    return this.nodes[Number(id.slice(1))];
  }
}
