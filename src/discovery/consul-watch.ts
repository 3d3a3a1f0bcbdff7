/**
 * The watch loop: a blocking query on GET /v1/health/service/:name, one round after another, each round's full
 * list handed to `onRound`. The index follows Consul's rules (consul-blocking.ts); rounds are rate limited by a
 * token bucket; a failed round is retried with exponential backoff and the next round after a failure asks without
 * an index, so an agent that restarted (whose index may be far below ours) answers at once instead of after `wait`.
 * While Consul is unreachable nothing is delivered: the caller keeps its last view.
 */
import type { Clock, TimerHandle } from "../protocol/clock.js";
import { MeshError } from "../protocol/errors.js";
import type { Logger } from "../protocol/logger.js";
import { backoffDelayMs, type BackoffPolicy } from "../transport/backoff.js";
import { nextBlockingIndex, TokenBucket } from "./consul-blocking.js";
import type { ConsulClient, HealthEntry } from "./consul-client.js";

/** The lifecycle of the watch. */
export type ConsulWatchState =
  | { t: "idle" }
  | { t: "watching"; index: bigint; rounds: number }
  | { t: "retrying"; attempt: number; retryInMs: number; error: MeshError }
  | { t: "stopped" };

/** Options of a ConsulWatch. */
export interface ConsulWatchOptions {
  /** The API client. */
  client: ConsulClient;
  /** The service watched. */
  serviceName: string;
  /** Longest wait of one blocking query, ms. */
  waitMs: number;
  /** Rounds back to back before the rate limit applies. */
  burst: number;
  /** One round per this interval once the burst is spent, ms. */
  minIntervalMs: number;
  /** Retry delays after failures. */
  retry: BackoffPolicy;
  /** Time source. */
  clock: Clock;
  /** Where to log. */
  logger: Logger;
  /** Receives every round's full list. Must not throw; may be async (the next round waits for it). */
  onRound(entries: HealthEntry[]): void | Promise<void>;
  /** Called on the first failure of an outage (attempt 1) and on each later one. */
  onFailure?(error: MeshError, attempt: number, retryInMs: number): void;
  /** Called on the first successful round after failures. */
  onRecovered?(): void;
}

/** A blocking-query loop over the instances of one service. */
export class ConsulWatch {
  private current: ConsulWatchState = { t: "idle" };
  private readonly abort = new AbortController();
  private loop: Promise<void> | undefined;

  /** Creates the watch; start() begins. */
  constructor(private readonly o: ConsulWatchOptions) {}

  /** The current state. */
  get state(): ConsulWatchState {
    return this.current;
  }

  /** Starts the loop (once). */
  start(): void {
    this.loop ??= this.run();
  }

  /** Stops the loop, aborting a query in flight; resolves once it ended. */
  async stop(): Promise<void> {
    this.current = { t: "stopped" };
    this.abort.abort();
    await this.loop;
  }

  private async run(): Promise<void> {
    const { clock } = this.o;
    const bucket = new TokenBucket(this.o.burst, this.o.minIntervalMs, () => clock.now());
    let index = 0n;
    let rounds = 0;
    let attempt = 0;
    while (!this.abort.signal.aborted) {
      for (let wait = bucket.take(); wait > 0; wait = bucket.take()) await this.sleep(wait);
      if (this.abort.signal.aborted) break;
      try {
        const result = await this.o.client.serviceInstances(this.o.serviceName, index, this.o.waitMs, this.abort.signal);
        if (this.abort.signal.aborted) break;
        index = nextBlockingIndex(index, result.index);
        this.current = { t: "watching", index, rounds: ++rounds };
        if (attempt > 0) {
          attempt = 0;
          this.o.onRecovered?.();
        }
        await this.o.onRound(result.value);
      } catch (err) {
        if (this.abort.signal.aborted) break;
        const error = MeshError.from(err);
        attempt++;
        index = 0n;
        const retryInMs = backoffDelayMs(attempt, this.o.retry);
        this.current = { t: "retrying", attempt, retryInMs, error };
        this.o.onFailure?.(error, attempt, retryInMs);
        await this.sleep(retryInMs);
      }
    }
    this.current = { t: "stopped" };
  }

  /** Resolves after `ms`, or at once when the watch stops. */
  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      let timer: TimerHandle | undefined;
      const done = () => {
        timer?.cancel();
        this.abort.signal.removeEventListener("abort", done);
        resolve();
      };
      this.abort.signal.addEventListener("abort", done);
      timer = this.o.clock.setTimeout(done, ms);
    });
  }
}
