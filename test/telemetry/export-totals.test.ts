/**
 * `agent-mesh node` logs what its span export did when it stops (run `npm run build` first): every span
 * exported (info, pino level 30, with the count the collector got), or — with a collector that cannot be
 * reached — a warning (level 40) naming the spans that failed.
 */
import { createServer } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Processes, type NodeProcess } from "../helpers/processes.js";
import { startOtlpReceiver, type OtlpReceiver } from "./otlp-receiver.js";

const processes = new Processes();
let receiver: OtlpReceiver;

beforeAll(async () => {
  receiver = await startOtlpReceiver();
});

afterEach(async () => {
  await processes.stopAll();
});

afterAll(async () => {
  await receiver?.close();
});

/** A node exporting to `endpoint` (info-level logs), after one echo task submitted through the CLI. */
async function nodeAfterOneTask(id: string, env: Record<string, string>): Promise<NodeProcess> {
  const node = await processes.startNode({ id, capabilities: ["echo"], args: ["--log-level", "info"], env: { OTEL_BSP_SCHEDULE_DELAY: "50", ...env } });
  const submitted = await processes.run(["submit", "--to", node.address, "--capability", "echo", "--input", '"hi"']);
  expect(submitted.code, submitted.stderr).toBe(0);
  return node;
}

/** The node's log line `msg` after it stopped (SIGTERM), parsed. */
async function lineAfterStop(node: NodeProcess, msg: RegExp): Promise<Record<string, unknown>> {
  processes.signal(node, "SIGTERM");
  const exit = await node.exited;
  expect(exit.code, node.stderr()).toBe(0);
  const lines = node
    .stderr()
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  const line = lines.find((l) => typeof l.msg === "string" && msg.test(l.msg));
  expect(line, node.stderr()).toBeDefined();
  return line!;
}

describe("the node's trace export totals at shutdown", () => {
  it("says every span was exported, as many as the collector received", async () => {
    const node = await nodeAfterOneTask("totals-ok", { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint });
    const line = await lineAfterStop(node, /^trace export stopped: every span exported$/);
    const received = receiver.spans.filter((s) => s.serviceInstanceId === "totals-ok").length;
    expect(received).toBeGreaterThan(0);
    expect(line).toMatchObject({ level: 30, agent: "totals-ok", endpoint: `${receiver.endpoint}/v1/traces`, exported: received, dropped: 0, failed: 0, queued: 0, inFlight: 0 });
  });

  it("warns of the spans a collector that cannot be reached never got", async () => {
    // A port nothing listens on any more: every export is refused, and fails at its 300 ms timeout.
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as { port: number }).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const node = await nodeAfterOneTask("totals-down", { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`, OTEL_EXPORTER_OTLP_TIMEOUT: "300" });
    const line = await lineAfterStop(node, /^trace export stopped: some spans were not exported$/);
    expect(line).toMatchObject({ level: 40, agent: "totals-down", exported: 0, dropped: 0 });
    expect((line.failed as number) + (line.inFlight as number)).toBeGreaterThan(0);
  });
});
