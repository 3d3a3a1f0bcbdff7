/**
 * Span links of gossip (traceMembership on): a write to the replicated state keeps the context of the span it
 * was made in, and the spans that send and receive the GossipUpdates carrying it link to that span — one
 * message carries the writes of many traces, so it links to each rather than taking one as its parent.
 */
import { create } from "@bufbuild/protobuf";
import type { ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { describe, expect, it } from "vitest";
import { GossipUpdatesSchema, StateEntrySchema } from "../../gen/agentmesh/v1/gossip_pb.js";
import { LOAD_KEY_PREFIX } from "../../src/node/agent-node.js";
import { ATTR_STATE_KEYS, gossipLinks } from "../../src/node/gossip-links.js";
import { startMemoryMesh } from "../helpers/memory-mesh.js";
import { waitFor } from "../helpers/wait.js";
import { agentOf, only, spanWorldStopping, type Started } from "./span-world.js";

const started: Started = {};
const world = spanWorldStopping(started);

/** The links of `span` to span `spanId`, as [traceId, keys]. */
const linksTo = (span: ReadableSpan, spanId: string) => span.links.filter((l) => l.context.spanId === spanId).map((l) => [l.context.traceId, l.attributes?.[ATTR_STATE_KEYS]]);

describe("gossip spans link to the writes they carry", () => {
  it("a task's state write is linked from the gossip spans that send and receive it, and travels with the entry", async () => {
    const on = (id: string) => world.tracingFor(id, { traceMembership: true });
    const mesh = (started.mesh = await startMemoryMesh([
      {
        id: "a",
        config: { tracing: on("a") },
        // Written before any await: the task's span is the active one (whatever the context manager).
        handlers: { remember: (input: string) => void mesh.node("a").meshState.set(`memo/${input}`, input) },
      },
      { id: "b", config: { tracing: on("b") } },
    ]));
    await mesh.node("a").submit("remember", "x");
    const run = only(world.exporter.getFinishedSpans(), "a", "run remember");
    const { traceId, spanId } = run.spanContext();

    const received = await waitFor(
      () => world.exporter.getFinishedSpans().find((s) => agentOf(s) === "b" && s.name === "receive gossip_updates" && linksTo(s, spanId).length > 0),
      { what: "b's receive span linked to a's write" },
    );
    expect(linksTo(received, spanId)).toEqual([[traceId, ["memo/x"]]]);
    const sent = world.exporter.getFinishedSpans().find((s) => agentOf(s) === "a" && s.name === "send gossip_updates" && linksTo(s, spanId).length > 0);
    expect(sent && linksTo(sent, spanId)).toEqual([[traceId, ["memo/x"]]]);
    // The gossip is a trace of its own: linked to the task's, not part of it.
    expect(received.spanContext().traceId).not.toBe(traceId);

    expect(mesh.node("b").meshState.getEntry("memo/x")?.trace?.traceparent).toBe(`00-${traceId}-${spanId}-01`);
    // The mesh's own writes (load, made on timers) carry no trace.
    await waitFor(() => mesh.node("b").meshState.getEntry(`${LOAD_KEY_PREFIX}a`), { what: "a's load on b" });
    expect(mesh.node("b").meshState.getEntry(`${LOAD_KEY_PREFIX}a`)?.trace).toBeUndefined();
  });

  it("makes one link per write span, with its keys, and none for untraced, malformed or oversized contexts", () => {
    world.tracingFor("a"); // installs the propagator
    const parent = (span: string) => `00-4bf92f3577b34da6a3ce929d0e0e4736-${span}-01`;
    const entry = (key: string, traceparent = "", tracestate = "") => create(StateEntrySchema, { key, traceparent, tracestate });
    const body = {
      case: "gossipUpdates" as const,
      value: create(GossipUpdatesSchema, {
        entries: [
          entry("k1", parent("00f067aa0ba902b7"), "v=1"),
          entry("plain"),
          entry("k2", parent("b7ad6b7169203331")),
          entry("k3", parent("00f067aa0ba902b7"), "v=1"),
          entry("bad", "00-not-a-trace-01"),
          entry("huge", parent("b7ad6b7169203331"), "v=".padEnd(600, "x")),
        ],
      }),
    };
    const links = gossipLinks(body) ?? [];
    expect(links.map((l) => [l.context.spanId, l.context.traceState?.get("v"), l.attributes?.[ATTR_STATE_KEYS]])).toEqual([
      ["00f067aa0ba902b7", "1", ["k1", "k3"]],
      ["b7ad6b7169203331", undefined, ["k2"]],
    ]);
    expect(gossipLinks({ case: "gossipUpdates", value: create(GossipUpdatesSchema, { entries: [entry("plain")] }) })).toBeUndefined();
    expect(gossipLinks({ case: undefined })).toBeUndefined();
  });
});
