/**
 * The standard gRPC health service (grpc.health.v1.Health): an overall status ("") and one per service.
 * A draining node reports NOT_SERVING before it stops, so Kubernetes and Consul stop sending it work.
 */
import { create } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import { Health, HealthCheckResponse_ServingStatus as Status, HealthCheckResponseSchema, type HealthCheckResponse } from "../../gen/grpc/health/v1/health_pb.js";
import { Code, MeshError } from "../protocol/errors.js";

export { Status as ServingStatus };

/** Serving status per service name, with watchers. */
export class HealthState {
  private readonly statuses = new Map<string, Status>();
  private readonly watchers = new Set<() => void>();
  private closed = false;

  /** Starts with every name in `services` (and "") at `initial`. */
  constructor(services: string[], initial: Status = Status.SERVING) {
    this.statuses.set("", initial);
    for (const s of services) this.statuses.set(s, initial);
  }

  /** Sets every service's status (draining: NOT_SERVING). */
  setAll(status: Status): void {
    for (const name of this.statuses.keys()) this.statuses.set(name, status);
    for (const w of [...this.watchers]) w();
  }

  /**
   * Ends every Watch stream (after the statuses already sent, e.g. NOT_SERVING): the node calls this before its
   * server closes, so open Watch calls do not hold the shutdown for the close grace period.
   */
  close(): void {
    this.closed = true;
    for (const w of [...this.watchers]) w();
  }

  /** The status of `service`, or undefined when unknown. */
  get(service: string): Status | undefined {
    return this.statuses.get(service);
  }

  /** The Connect implementation of grpc.health.v1.Health. */
  service(): ServiceImpl<typeof Health> {
    return {
      check: (req) => {
        const status = this.get(req.service);
        if (status === undefined) throw new MeshError(Code.NotFound, `service "${req.service}" is unknown to this node`);
        return create(HealthCheckResponseSchema, { status });
      },
      watch: (req, ctx) => this.watch(req.service, ctx.signal),
    };
  }

  private async *watch(service: string, signal: AbortSignal): AsyncGenerator<HealthCheckResponse> {
    let last: Status | undefined;
    let wake: (() => void) | undefined;
    const watcher = () => wake?.();
    this.watchers.add(watcher);
    signal.addEventListener("abort", watcher);
    try {
      while (!signal.aborted && !this.closed) {
        const status = this.get(service) ?? Status.SERVICE_UNKNOWN;
        if (status !== last) {
          last = status;
          yield create(HealthCheckResponseSchema, { status });
          // Look again before sleeping: a change made while the message was being sent must not be missed.
          continue;
        }
        await new Promise<void>((resolve) => (wake = resolve));
      }
    } finally {
      this.watchers.delete(watcher);
      signal.removeEventListener("abort", watcher);
    }
  }
}
