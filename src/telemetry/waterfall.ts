/**
 * A trace from the spans of many agents, without a collector: spans gathered from each node's ring are
 * joined into trees by parent span id (a parent recorded by another agent is found all the same), one tree
 * per trace id, and drawn as a text waterfall — indentation for depth, a bar for when each span ran. Pure
 * functions over the wire's Span messages, so `agent-mesh trace` and any other viewer share them.
 */
import { SpanKind, SpanStatusCode, type Span, type SpanEvent } from "../../gen/agentmesh/v1/trace_pb.js";
import { ATTR_TO } from "../protocol/trace-context.js";

/** A span with its children, in start order. */
export interface SpanNode {
  /** The span. */
  span: Span;
  /** Its children (spans whose parent it is), earliest first. */
  children: SpanNode[];
}

/** One trace: its root spans (a span whose parent was not gathered is a root too) and its extent. */
export interface TraceTree {
  /** The trace id. */
  traceId: string;
  /** Root spans, earliest first. */
  roots: SpanNode[];
  /** Earliest start, Unix ns. */
  startUnixNanos: bigint;
  /** Latest end, Unix ns. */
  endUnixNanos: bigint;
  /** Spans in the tree. */
  spanCount: number;
  /** Agents that recorded them, sorted. */
  agents: string[];
}

/** A span in depth-first order with its depth (0 for roots). */
export interface FlatSpan {
  /** The span. */
  span: Span;
  /** Nesting depth. */
  depth: number;
}

/** Joins `spans` (duplicates ignored) into one tree per trace id, earliest trace first. */
export function buildTraces(spans: readonly Span[]): TraceTree[] {
  const byTrace = new Map<string, Map<string, Span>>();
  for (const s of spans) {
    let m = byTrace.get(s.traceId);
    if (m === undefined) byTrace.set(s.traceId, (m = new Map()));
    if (!m.has(s.spanId)) m.set(s.spanId, s);
  }
  const trees: TraceTree[] = [];
  for (const [traceId, members] of byTrace) {
    const nodes = new Map<string, SpanNode>();
    for (const [id, span] of members) nodes.set(id, { span, children: [] });
    const roots: SpanNode[] = [];
    for (const node of nodes.values()) {
      const parent = node.span.parentSpanId === "" ? undefined : nodes.get(node.span.parentSpanId);
      if (parent === undefined || parent === node) roots.push(node);
      else parent.children.push(node);
    }
    const order = (a: SpanNode, b: SpanNode) => compareBig(a.span.startUnixNanos, b.span.startUnixNanos) || a.span.spanId.localeCompare(b.span.spanId);
    for (const node of nodes.values()) node.children.sort(order);
    roots.sort(order);
    const all = [...members.values()];
    trees.push({
      traceId,
      roots,
      startUnixNanos: all.reduce((m, s) => (s.startUnixNanos < m ? s.startUnixNanos : m), all[0].startUnixNanos),
      endUnixNanos: all.reduce((m, s) => (s.endUnixNanos > m ? s.endUnixNanos : m), all[0].endUnixNanos),
      spanCount: all.length,
      agents: [...new Set(all.map((s) => s.agentId))].sort(),
    });
  }
  return trees.sort((a, b) => compareBig(a.startUnixNanos, b.startUnixNanos));
}

/** The spans of `tree` depth-first (parents before children), with their depths. */
export function flatten(tree: TraceTree): FlatSpan[] {
  const out: FlatSpan[] = [];
  const visit = (node: SpanNode, depth: number) => {
    out.push({ span: node.span, depth });
    for (const c of node.children) visit(c, depth + 1);
  };
  for (const r of tree.roots) visit(r, 0);
  return out;
}

/** A span's duration in milliseconds. */
export function durationMs(span: Span): number {
  return Number(span.endUnixNanos - span.startUnixNanos) / 1e6;
}

/** When `event` happened after `span`'s start, ms. */
export function eventOffsetMs(span: Span, event: SpanEvent): number {
  return Number(event.timeUnixNanos - span.startUnixNanos) / 1e6;
}

/** "ok", "error" or "unset". */
export function statusName(span: Span): "ok" | "error" | "unset" {
  return span.statusCode === SpanStatusCode.ERROR ? "error" : span.statusCode === SpanStatusCode.OK ? "ok" : "unset";
}

/** Milliseconds for people: "0.42 ms", "12.3 ms", "1.25 s". */
export function formatMs(ms: number): string {
  if (ms < 1) return `${ms.toFixed(2)} ms`;
  if (ms < 1000) return `${ms.toFixed(1)} ms`;
  return `${(ms / 1000).toFixed(2)} s`;
}

/** Options of the waterfall. */
export interface WaterfallOptions {
  /** Width of the timeline bar, characters. Default 40. */
  barWidth?: number;
  /** Longest error message shown after a failed span's bar. Default 80. */
  maxMessage?: number;
  /** Longest text of an event's or a link's attributes. Default 120. */
  maxDetails?: number;
}

/**
 * The waterfall of one trace: a header line, then one row per span — agent, span name indented by depth (a
 * request's target after an arrow), duration, status, and a bar placing the span on the trace's timeline;
 * a failed span's message follows its bar. Under a span, a row per event (`· NAME`, its time after the span's
 * start, a mark on the timeline, its attributes) and per link (`↗ link`, the linked trace and span ids, the
 * linked span's agent and name when it is in the tree, the link's attributes).
 */
export function renderWaterfall(tree: TraceTree, options: WaterfallOptions = {}): string {
  const width = options.barWidth ?? 40;
  const maxMessage = options.maxMessage ?? 80;
  const maxDetails = options.maxDetails ?? 120;
  const total = Number(tree.endUnixNanos - tree.startUnixNanos);
  const flat = flatten(tree);
  const inTree = new Map(flat.map(({ span }) => [span.spanId, span]));
  const rows = flat.flatMap(({ span, depth }) => {
    const to = span.attributes[ATTR_TO];
    const arrow = (span.kind === SpanKind.CLIENT || span.kind === SpanKind.PRODUCER) && to !== undefined && to !== "" ? ` → ${to}` : "";
    const status = statusName(span) === "error" ? "ERROR" : "ok";
    const message = status === "ERROR" && span.statusMessage !== "" ? `  ${truncate(span.statusMessage, maxMessage)}` : "";
    const indent = "  ".repeat(depth + 1);
    const events = span.events.map((e) => {
      const offset = formatMs(eventOffsetMs(span, e));
      return ["", `${indent}· ${e.name}`, `+${offset}`, "", `|${mark(e.timeUnixNanos, tree.startUnixNanos, total, width)}|${details(e.attributes, maxDetails)}`];
    });
    const links = span.links.map((l) => {
      const known = l.traceId === tree.traceId ? inTree.get(l.spanId) : undefined;
      const target = `${l.traceId} ${l.spanId}${known === undefined ? "" : ` (${known.agentId} ${known.name})`}`;
      return ["", `${indent}↗ link`, "", "", `${target}${details(l.attributes, maxDetails)}`];
    });
    return [[span.agentId, `${"  ".repeat(depth)}${span.name}${arrow}`, formatMs(durationMs(span)), status, `|${bar(span, tree.startUnixNanos, total, width)}|${message}`], ...events, ...links];
  });
  const header = ["AGENT", "SPAN", "DURATION", "STATUS", `|${timeline(formatMs(total / 1e6), width)}|`];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : i === 2 ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join("  ")
      .trimEnd();
  const title = `trace ${tree.traceId}  ${tree.spanCount} span${tree.spanCount === 1 ? "" : "s"}  ${tree.agents.length} agent${tree.agents.length === 1 ? "" : "s"} (${tree.agents.join(", ")})  ${formatMs(total / 1e6)}`;
  return [title, line(header), ...rows.map(line)].join("\n");
}

/** The bar of `span` on a timeline of `width` characters spanning `total` ns from `start`. */
function bar(span: Span, start: bigint, total: number, width: number): string {
  if (total <= 0) return "█".repeat(width);
  const from = Math.min(width - 1, Math.floor((Number(span.startUnixNanos - start) / total) * width));
  const to = Math.max(from + 1, Math.min(width, Math.ceil((Number(span.endUnixNanos - start) / total) * width)));
  return " ".repeat(from) + "█".repeat(to - from) + " ".repeat(width - to);
}

/** A timeline of `width` characters spanning `total` ns from `start`, with a mark where `at` falls. */
function mark(at: bigint, start: bigint, total: number, width: number): string {
  const where = total <= 0 ? 0 : Math.max(0, Math.min(width - 1, Math.floor((Number(at - start) / total) * width)));
  return " ".repeat(where) + "◆" + " ".repeat(width - where - 1);
}

/** Attributes as `key=value` pairs in key order, cut to `max` characters, after two spaces ("" when none). */
function details(attributes: Record<string, string>, max: number): string {
  const pairs = Object.keys(attributes)
    .sort()
    .map((k) => `${k}=${attributes[k]}`);
  return pairs.length === 0 ? "" : `  ${truncate(pairs.join(" "), max)}`;
}

/** The timeline header: "0" at the left, the total at the right. */
function timeline(totalText: string, width: number): string {
  const left = "0";
  return left + totalText.padStart(Math.max(width - left.length, totalText.length));
}

function truncate(text: string, max: number): string {
  const one = text.replace(/\s+/g, " ");
  return one.length <= max ? one : `${one.slice(0, max - 1)}…`;
}

function compareBig(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
