/**
 * What every simulated node believes about every other, kept from their membership events in an N × N table of
 * statuses, with running counts so the questions a simulation asks after every event cost O(1): does every running
 * node hold member t dead (or left)? does every running node see every other running node alive? It also keeps
 * each node's live peers (alive or suspect) as an array, which is what the node's replicated state gossips with.
 * Counts follow statuses, not event kinds, so any transition (a suspect revived, a dead member suspected again
 * at a newer incarnation) is counted right.
 */
import { MemberStatus } from "../../gen/agentmesh/v1/membership_pb.js";

function isLive(s: number): boolean {
  return s === MemberStatus.ALIVE || s === MemberStatus.SUSPECT;
}

function isGone(s: number): boolean {
  return s === MemberStatus.DEAD || s === MemberStatus.LEFT;
}

/** The membership views of nodes 0..n-1 (named by `ids`). */
export class MeshView {
  /** status[o * n + t]: what node o believes of node t (0: unknown). */
  private readonly status: Uint8Array;
  private readonly running: Uint8Array;
  private runningCount: number;
  /** goneBy[t]: running nodes holding t dead or left. */
  private readonly goneBy: Int32Array;
  /** aliveSeen[o]: running nodes that o holds alive. */
  private readonly aliveSeen: Int32Array;
  /** peers[o]: ids o holds alive or suspect; slot[o * n + t]: t's index there, or -1. */
  private readonly peerIds: string[][];
  private readonly slot: Int32Array;
  private readonly indexOf = new Map<string, number>();

  /** A view of `ids.length` running nodes that know no one yet. */
  constructor(private readonly ids: readonly string[]) {
    const n = ids.length;
    this.status = new Uint8Array(n * n);
    this.running = new Uint8Array(n).fill(1);
    this.runningCount = n;
    this.goneBy = new Int32Array(n);
    this.aliveSeen = new Int32Array(n);
    this.peerIds = ids.map(() => []);
    this.slot = new Int32Array(n * n).fill(-1);
    ids.forEach((id, i) => this.indexOf.set(id, i));
  }

  /** The index of node `id`, or undefined for an id outside the mesh. */
  index(id: string): number | undefined {
    return this.indexOf.get(id);
  }

  /** Node `o` now holds node `t` in `status`. */
  observe(o: number, t: number, status: MemberStatus): void {
    const n = this.ids.length;
    const k = o * n + t;
    const old = this.status[k];
    if (old === status) return;
    this.status[k] = status;
    if (this.running[o] === 1) {
      this.goneBy[t] += (isGone(status) ? 1 : 0) - (isGone(old) ? 1 : 0);
      if (this.running[t] === 1) this.aliveSeen[o] += (status === MemberStatus.ALIVE ? 1 : 0) - (old === MemberStatus.ALIVE ? 1 : 0);
    }
    if (isLive(status) && !isLive(old)) {
      this.slot[k] = this.peerIds[o].length;
      this.peerIds[o].push(this.ids[t]);
    } else if (!isLive(status) && isLive(old)) {
      const list = this.peerIds[o];
      const i = this.slot[k];
      const last = list.pop() as string;
      if (i < list.length) {
        list[i] = last;
        this.slot[o * n + (this.indexOf.get(last) as number)] = i;
      }
      this.slot[k] = -1;
    }
  }

  /** What node `o` holds of node `t` (0: unknown). */
  statusOf(o: number, t: number): MemberStatus {
    return this.status[o * this.ids.length + t] as MemberStatus;
  }

  /** The ids node `o` holds alive or suspect (a live array: read it, do not keep it across events). */
  peers(o: number): readonly string[] {
    return this.peerIds[o];
  }

  /** Node `o` stopped for good (crashed): it no longer counts as an observer nor as a running member. */
  stop(o: number): void {
    if (this.running[o] === 0) return;
    const n = this.ids.length;
    for (let t = 0; t < n; t++) {
      const s = this.status[o * n + t];
      if (isGone(s)) this.goneBy[t]--;
    }
    for (let p = 0; p < n; p++) if (this.running[p] === 1 && this.status[p * n + o] === MemberStatus.ALIVE) this.aliveSeen[p]--;
    this.running[o] = 0;
    this.runningCount--;
  }

  /** True while node `o` runs. */
  isRunning(o: number): boolean {
    return this.running[o] === 1;
  }

  /** Nodes running. */
  get runningNodes(): number {
    return this.runningCount;
  }

  /** Running nodes other than `t` that hold `t` dead or left. */
  goneCount(t: number): number {
    return this.goneBy[t];
  }

  /** True when every running node other than `t` holds `t` dead or left. */
  goneEverywhere(t: number): boolean {
    return this.goneBy[t] >= this.runningCount - this.running[t];
  }

  /** True when every running node holds every other running node alive. */
  converged(): boolean {
    const want = this.runningCount - 1;
    for (let o = 0; o < this.ids.length; o++) if (this.running[o] === 1 && this.aliveSeen[o] !== want) return false;
    return true;
  }
}
