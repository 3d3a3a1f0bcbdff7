/**
 * What a node needs from the tracing setup, over the OpenTelemetry API only: a tracer provider, the span
 * ring GetSpans answers from, and whether membership and gossip traffic is traced. startTracing (tracing.ts)
 * installs one for the process; a node created without its own uses the installed one, or — when tracing
 * was never started — the API's global provider (a no-op without an SDK) and no ring.
 */
import { trace, type TracerProvider } from "@opentelemetry/api";
import type { SpanSource } from "./span-ring.js";

/** The tracing a node uses. */
export interface NodeTracing {
  /** Where the node's tracers come from. */
  readonly tracerProvider: TracerProvider;
  /** The node's recent spans, for AgentService.GetSpans; undefined when none are kept. */
  readonly spans: SpanSource | undefined;
  /**
   * Trace membership and gossip traffic too (SWIM probes, member syncs, state digests and updates). Default
   * false: that traffic is steady and voluminous, and rarely what a trace is looked at for.
   */
  readonly traceMembership: boolean;
}

let installed: NodeTracing | undefined;

/** Makes `tracing` what nodes of this process use by default (undefined: back to none). */
export function installNodeTracing(tracing: NodeTracing | undefined): void {
  installed = tracing;
}

/** The tracing installed for this process, or the API's global provider without a ring. */
export function defaultNodeTracing(): NodeTracing {
  return installed ?? { tracerProvider: trace.getTracerProvider(), spans: undefined, traceMembership: false };
}
