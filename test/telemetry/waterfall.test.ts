/** The waterfall: spans from several agents joined by parent span id into one tree per trace, drawn as text. */
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { SpanEventSchema, SpanKind, SpanLinkSchema, SpanSchema, SpanStatusCode, type Span } from "../../gen/agentmesh/v1/trace_pb.js";
import { buildTraces, flatten, formatMs, renderWaterfall } from "../../src/telemetry/waterfall.js";

const T = "4bf92f3577b34da6a3ce929d0e0e4736";
const MS = 1_000_000n;
const base = 1_700_000_000_000n * MS;

function span(id: string, parent: string, agent: string, name: string, startMs: number, endMs: number, extra: Omit<MessageInitShape<typeof SpanSchema>, "$typeName"> = {}): Span {
  return create(SpanSchema, {
    traceId: T,
    spanId: id.padStart(16, "0"),
    parentSpanId: parent === "" ? "" : parent.padStart(16, "0"),
    name,
    agentId: agent,
    startUnixNanos: base + BigInt(startMs) * MS,
    endUnixNanos: base + BigInt(endMs) * MS,
    ...extra,
  });
}

// Gathered from three agents in no particular order, one duplicate (asked twice).
const spans = [
  span("4", "3", "b", "handle task_request", 2, 9, { kind: SpanKind.SERVER }),
  span("1", "", "a", "route relay", 0, 10),
  span("6", "5", "c", "run uppercase", 5, 6),
  span("2", "1", "a", "send task_request", 1, 10, { kind: SpanKind.CLIENT, attributes: { "agentmesh.to": "b" } }),
  span("3", "2", "a", "send task_request", 1, 10), // a second child of 2, for ordering
  span("5", "4", "c", "handle task_request", 4, 7, { statusCode: SpanStatusCode.ERROR, statusMessage: "disk\non fire" }),
  span("1", "", "a", "route relay", 0, 10),
];

describe("buildTraces", () => {
  it("joins spans of many agents into one tree by parent id, children in start order, duplicates once", () => {
    const [tree, ...rest] = buildTraces(spans);
    expect(rest).toEqual([]);
    expect(tree.spanCount).toBe(6);
    expect(tree.agents).toEqual(["a", "b", "c"]);
    expect(tree.endUnixNanos - tree.startUnixNanos).toBe(10n * MS);
    expect(flatten(tree).map((f) => `${"-".repeat(f.depth)}${f.span.agentId}:${Number(f.span.spanId)}`)).toEqual(["a:1", "-a:2", "--a:3", "---b:4", "----c:5", "-----c:6"]);
  });

  it("keeps a span whose parent was not gathered as a root, and separates traces", () => {
    const other = create(SpanSchema, { ...span("9", "", "x", "elsewhere", 20, 21), traceId: "0".repeat(31) + "1" });
    const trees = buildTraces([span("7", "deadbeef", "b", "orphan", 3, 4), span("1", "", "a", "root", 0, 5), other]);
    expect(trees.map((t) => t.traceId)).toEqual([T, "0".repeat(31) + "1"]);
    expect(trees[0].roots.map((r) => r.span.name)).toEqual(["root", "orphan"]);
  });
});

describe("renderWaterfall", () => {
  it("draws one row per span: agent, indented name (→ target), duration, status, bar, error message", () => {
    const text = renderWaterfall(buildTraces(spans)[0], { barWidth: 10 });
    const lines = text.split("\n");
    expect(lines[0]).toBe(`trace ${T}  6 spans  3 agents (a, b, c)  10.0 ms`);
    expect(lines[1]).toMatch(/^AGENT\s+SPAN\s+DURATION\s+STATUS\s+\|0\s+10\.0 ms\|$/);
    expect(lines[2]).toMatch(/^a\s+route relay\s+10\.0 ms\s+ok\s+\|██████████\|$/);
    expect(lines[3]).toMatch(/^a\s+ {2}send task_request → b\s+9\.0 ms\s+ok\s+\| █████████\|$/);
    expect(lines[6]).toMatch(/^c\s+ {8}handle task_request\s+3\.0 ms\s+ERROR\s+\| {4}███ {3}\| {2}disk on fire$/);
    expect(lines[7]).toMatch(/^c\s+ {10}run uppercase\s+1\.0 ms\s+ok\s+\| {5}█ {4}\|$/);
    // Columns line up: every bar starts at the same offset.
    const barAt = lines.slice(1).map((l) => l.indexOf("|"));
    expect(new Set(barAt).size).toBe(1);
  });

  it("draws a span's events under it (time after the span's start, a mark on the timeline, attributes) and its links", () => {
    const withDetails = [
      span("1", "", "a", "route relay", 0, 10, {
        events: [create(SpanEventSchema, { name: "reassign", timeUnixNanos: base + 5n * MS, attributes: { "agentmesh.to": "c", "agentmesh.attempt": "2" } })],
      }),
      span("2", "1", "a", "send task_request", 1, 4, {
        kind: SpanKind.CLIENT,
        links: [
          create(SpanLinkSchema, { traceId: T, spanId: "1".padStart(16, "0") }),
          create(SpanLinkSchema, { traceId: "0".repeat(31) + "1", spanId: "00f067aa0ba902b7", attributes: { "agentmesh.state_keys": '["memo/x"]' } }),
        ],
      }),
    ];
    const lines = renderWaterfall(buildTraces(withDetails)[0], { barWidth: 10 }).split("\n");
    expect(lines[3]).toMatch(/^\s+ {2}· reassign\s+\+5\.0 ms\s+\| {5}◆ {4}\| {2}agentmesh\.attempt=2 agentmesh\.to=c$/);
    expect(lines[4]).toMatch(/^a\s+ {2}send task_request\s+3\.0 ms\s+ok\s+\|/);
    expect(lines[5]).toMatch(new RegExp(`^\\s+ {4}↗ link\\s+${T} 0000000000000001 \\(a route relay\\)$`));
    expect(lines[6]).toMatch(/^\s+ {4}↗ link\s+0{31}1 00f067aa0ba902b7 {2}agentmesh\.state_keys=\["memo\/x"\]$/);
    expect(lines).toHaveLength(7);
  });

  it("formats durations for people", () => {
    expect([formatMs(0.4213), formatMs(12.34), formatMs(1250)]).toEqual(["0.42 ms", "12.3 ms", "1.25 s"]);
  });
});
