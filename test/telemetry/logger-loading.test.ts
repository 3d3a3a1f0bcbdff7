/**
 * The JSON logger loads pino with its first line, not before: a logger and its children at levels below the
 * threshold leave pino (and sonic-boom, thread-stream, worker_threads) unloaded; the first enabled line loads it
 * and is written with the root's and every child's fields. Runs in a fresh process on the built package (run
 * `npm run build` first).
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const LOGGER = fileURLToPath(new URL("../../dist/src/telemetry/logger.js", import.meta.url));

describe("loading pino", () => {
  it("is deferred to the first line written, which carries the fields of the root and of each child", () => {
    const script = `
      import { createRequire } from "node:module";
      const { createJsonLogger } = await import(${JSON.stringify(LOGGER)});
      const loaded = () => Object.keys(createRequire(import.meta.url).cache).filter((k) => /[\\\\/]node_modules[\\\\/](pino|sonic-boom|thread-stream)[\\\\/]/.test(k)).length > 0;
      const lines = [];
      const log = createJsonLogger({ level: "warn", base: { agent: "a" }, stream: { write: (l) => lines.push(JSON.parse(l)) } });
      const task = log.child({ layer: "node" }).child({ correlation_id: "c1" });
      task.debug({ n: 1 }, "not written");
      task.info({ n: 2 }, "not written either");
      const before = { loaded: loaded(), worker: process.moduleLoadList.includes("NativeModule worker_threads") };
      task.warn({ n: 3 }, "written");
      log.error({ n: 4 }, "also written");
      process.stdout.write(JSON.stringify({ before, after: loaded(), lines }));
    `;
    const child = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8", timeout: 30_000 });
    expect(child.status, child.stderr).toBe(0);
    const out = JSON.parse(child.stdout) as { before: { loaded: boolean; worker: boolean }; after: boolean; lines: Record<string, unknown>[] };
    expect(out.before).toEqual({ loaded: false, worker: false });
    expect(out.after).toBe(true);
    expect(out.lines).toHaveLength(2);
    expect(out.lines[0]).toMatchObject({ level: 40, agent: "a", layer: "node", correlation_id: "c1", n: 3, msg: "written" });
    expect(out.lines[1]).toMatchObject({ level: 50, agent: "a", n: 4, msg: "also written" });
    expect(out.lines[1]).not.toHaveProperty("layer");
    expect(typeof out.lines[0].time).toBe("string");
  });
});
