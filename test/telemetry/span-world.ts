/**
 * What the in-process tracing tests share: each agent's private tracing exporting to one InMemorySpanExporter
 * (fresh for every test), shut down after each test once the test's mesh has stopped, and assertions on the
 * spans (one span by agent and name, parent/child links).
 */
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { afterEach, beforeEach, expect } from "vitest";
import type { AgentNode } from "../../src/node/agent-node.js";
import { ATTR_AGENT_ID } from "../../src/protocol/trace-context.js";
import { startTracing, type Tracing, type TracingOptions } from "../../src/telemetry/tracing.js";
import type { MemoryMesh } from "../helpers/memory-mesh.js";

/** The agent that recorded `span` (its resource names it). */
export const agentOf = (span: ReadableSpan): unknown => span.resource.attributes[ATTR_AGENT_ID];
/** The id of `span`'s parent span, if any. */
export const parentOf = (span: ReadableSpan): string | undefined => span.parentSpanContext?.spanId;

/** The one span named `name` recorded by `agent` (fails when there is none or more than one). */
export function only(spans: ReadableSpan[], agent: string, name: string): ReadableSpan {
  const found = spans.filter((s) => agentOf(s) === agent && s.name === name);
  expect(found.map((s) => `${agentOf(s)} ${s.name}`), `one "${name}" span on ${agent}`).toEqual([`${agent} ${name}`]);
  return found[0] as ReadableSpan;
}

/** Asserts that `child` is a child of `parent`, in the same trace. */
export function expectChild(child: ReadableSpan, parent: ReadableSpan): void {
  expect(parentOf(child), `${agentOf(child)} "${child.name}" is a child of ${agentOf(parent)} "${parent.name}"`).toBe(parent.spanContext().spanId);
  expect(child.spanContext().traceId).toBe(parent.spanContext().traceId);
}

/** Tracings for the agents of one test file. */
export interface SpanWorld {
  /** Private tracing for agent `id` (with `options`): every finished span goes to this test's exporter (and the agent's ring). */
  tracingFor(id: string, options?: Partial<TracingOptions>): Tracing;
  /** This test's exporter. */
  readonly exporter: InMemorySpanExporter;
}

/**
 * Registers a fresh exporter before each test and, after it, `stopMesh` then the shutdown of every tracing made
 * (shutting a tracing down shuts its exporter down too). `asyncContext` picks the context manager of the first
 * tracing of the process (undefined: the runtime's default).
 */
export function spanWorld(stopMesh: () => Promise<void>, asyncContext?: boolean): SpanWorld {
  let exporter = new InMemorySpanExporter();
  const tracings: Tracing[] = [];
  beforeEach(() => {
    exporter = new InMemorySpanExporter();
  });
  afterEach(async () => {
    await stopMesh();
    await Promise.all(tracings.splice(0).map((t) => t.shutdown()));
  });
  return {
    tracingFor(id, options = {}) {
      const t = startTracing({ agentId: id, env: {}, register: false, ...(asyncContext === undefined ? {} : { asyncContext }), ...options, spanProcessors: [new SimpleSpanProcessor(exporter)] });
      tracings.push(t);
      return t;
    },
    get exporter() {
      return exporter;
    },
  };
}

/** What a test started: a memory mesh, a node on a real port. */
export interface Started {
  /** The test's memory mesh, if it started one. */
  mesh?: MemoryMesh;
  /** The test's node, if it started one. */
  node?: AgentNode;
}

/** A spanWorld that stops (and forgets) what `started` holds after each test, before the tracings shut down. */
export function spanWorldStopping(started: Started): SpanWorld {
  return spanWorld(async () => {
    await started.mesh?.stopAll();
    started.mesh = undefined;
    await started.node?.stop();
    started.node = undefined;
  });
}

/**
 * The spans of a task delegated A → B → C (a `relay` handler on b delegating `ocr` to c), each asserted to be the
 * only one of its name on its agent and linked to the one before it: route → send → run on each hop (the
 * receiver's handling span is the run's: no separate "handle task_request" span on an agent that runs the task).
 */
export function relayChain(spans: ReadableSpan[]): Record<"routeA" | "sendAB" | "runRelay" | "routeB" | "sendBC" | "runOcr", ReadableSpan> {
  for (const agent of ["b", "c"]) expect(spans.filter((s) => agentOf(s) === agent && s.name === "handle task_request"), `no handle span on ${agent}`).toEqual([]);
  const chain = {
    routeA: only(spans, "a", "route relay"),
    sendAB: only(spans, "a", "send task_request"),
    runRelay: only(spans, "b", "run relay"),
    routeB: only(spans, "b", "route ocr"),
    sendBC: only(spans, "b", "send task_request"),
    runOcr: only(spans, "c", "run ocr"),
  };
  const order = Object.values(chain);
  for (let i = 1; i < order.length; i++) expectChild(order[i] as ReadableSpan, order[i - 1] as ReadableSpan);
  return chain;
}
