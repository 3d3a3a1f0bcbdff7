/**
 * A node that keeps its spans in its ring and exports nothing loads no OpenTelemetry SDK package — only the
 * API — and still records its task's spans; one with an OTLP endpoint loads the SDK's resource and OTLP
 * exporter. Each case runs in a fresh process on the built package (run `npm run build` first).
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const INDEX = fileURLToPath(new URL("../../dist/src/index.js", import.meta.url));

/** Starts tracing with `env` and a node in a fresh process, runs one task, reports the @opentelemetry packages loaded and the spans kept. */
function run(env: Record<string, string>): { packages: string[]; spans: string[] } {
  const script = `
    import { createRequire } from "node:module";
    const { AgentNode, startTracing } = await import(${JSON.stringify(INDEX)});
    const tracing = startTracing({ agentId: "solo", env: ${JSON.stringify(env)} });
    const node = await AgentNode.start({ id: "solo" });
    node.announceCapability("echo", (x) => x);
    const outcome = await node.submit("echo", "hi", { correlationId: "corr-sdk" });
    const cache = Object.keys(createRequire(import.meta.url).cache);
    const packages = [...new Set(cache.filter((k) => k.includes("/@opentelemetry/")).map((k) => k.split("/@opentelemetry/").pop().split("/")[0]))].sort();
    const spans = (tracing.spans?.query({ correlationId: outcome.correlationId }) ?? []).map((s) => s.name);
    await node.stop();
    await tracing.shutdown(200);
    process.stdout.write(JSON.stringify({ packages, spans }));
    process.exit(0);
  `;
  const child = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8", timeout: 30_000 });
  expect(child.status, child.stderr).toBe(0);
  return JSON.parse(child.stdout) as { packages: string[]; spans: string[] };
}

describe("loading the OpenTelemetry SDK", () => {
  it("a ring-only node loads the API alone, and records the task's spans", () => {
    const { packages, spans } = run({});
    expect(packages).toEqual(["api"]);
    expect(spans).toEqual(["run echo", "route echo"]);
  });

  it("a node exporting over OTLP loads the SDK's resources and exporter, not its span machinery or samplers", () => {
    const { packages, spans } = run({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:1" });
    expect(packages).toEqual(expect.arrayContaining(["api", "resources", "otlp-exporter-base", "otlp-transformer"]));
    expect(packages).not.toContain("sdk-trace-base");
    expect(packages).not.toContain("exporter-trace-otlp-http");
    expect(spans).toEqual(["run echo", "route echo"]);
  });
});
