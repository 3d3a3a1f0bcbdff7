/**
 * Span links of gossip messages that carry replicated-state writes. Each entry of the replicated state keeps
 * the trace context of the span it was written in (state/wire.ts), and one GossipUpdates message carries the
 * writes of many traces: the span that sends or receives it links to each write's span instead of picking
 * one of them as its parent. The context of a write is the active span's when the write is made.
 */
import type { Link, SpanKind, SpanOptions } from "@opentelemetry/api";
import type { Envelope } from "../../gen/agentmesh/v1/envelope_pb.js";
import { injectTrace, linkTo, SPAN_OPTIONS } from "../protocol/trace-context.js";
import type { WriteTrace } from "../state/seams.js";
import { entryTrace } from "../state/wire.js";

/** Attribute of a gossip message's link: the keys among its entries that were written in the linked span. */
export const ATTR_STATE_KEYS = "agentmesh.state_keys";

/** The trace context of the active span, for a write to the replicated state; undefined when none is traced. */
export function activeWriteTrace(): WriteTrace | undefined {
  const t = injectTrace();
  return t === undefined || t.traceparent === "" ? undefined : { traceparent: t.traceparent, tracestate: t.tracestate };
}

/**
 * The links of a gossip body: for a GossipUpdates, one per distinct span among its entries' writes, in the
 * order first met, with the keys written in it (ATTR_STATE_KEYS); undefined when there are none (other bodies,
 * untraced writes, contexts that are not valid or that the state layer refuses: state/wire.ts entryTrace).
 */
export function gossipLinks(body: Envelope["body"]): Link[] | undefined {
  if (body.case !== "gossipUpdates") return undefined;
  // By traceparent: one span has one tracestate, so the first entry's stands for the span's.
  let spans: Map<string, { tracestate: string; keys: string[] }> | undefined;
  for (const entry of body.value.entries) {
    const trace = entryTrace(entry);
    if (trace === undefined) continue;
    spans ??= new Map();
    const span = spans.get(trace.traceparent);
    if (span === undefined) spans.set(trace.traceparent, { tracestate: trace.tracestate, keys: [entry.key] });
    else span.keys.push(entry.key);
  }
  if (spans === undefined) return undefined;
  const links: Link[] = [];
  for (const [traceparent, { tracestate, keys }] of spans) {
    const link = linkTo(traceparent, tracestate, { [ATTR_STATE_KEYS]: keys });
    if (link !== undefined) links.push(link);
  }
  return links.length > 0 ? links : undefined;
}

/** The options of a span of `kind` for membership or gossip envelope `env`: with gossipLinks(env.body) when it has any. */
export function membershipSpanOptions(kind: SpanKind, env: Envelope): SpanOptions {
  const links = gossipLinks(env.body);
  return links === undefined ? SPAN_OPTIONS[kind] : { kind, links };
}
