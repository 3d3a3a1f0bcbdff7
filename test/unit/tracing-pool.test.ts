/**
 * bench/tracing-pool.mjs: the tracing goals' per-round ratios over several full runs' JSON, per run and pooled, the share of
 * resampled runs that would pass, and its errors (no file: usage, exit 2; a run without tracing rounds: exit 1 naming it).
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const SCRIPT = fileURLToPath(new URL("../../bench/tracing-pool.mjs", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "tracing-pool-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A full run's JSON with these req/s per round (tracing off, ring, export), written to `name` in `dir`. */
function runFile(name: string, off: number[], ring: number[], otlp: number[]): string {
  const results = { "routed-off@64": { rpsRuns: off }, "routed-ring@64": { rpsRuns: ring }, "routed-otlp@64": { rpsRuns: otlp } };
  const file = join(dir, name);
  writeFileSync(file, JSON.stringify({ requestResponse: { results } }));
  return file;
}

/** The script's result: exit code, stdout and stderr. */
async function pool(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [SCRIPT, ...args]);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe("bench/tracing-pool.mjs", () => {
  it("gives each run's median ratio and the median of all rounds pooled, with its interval from 6 rounds on", async () => {
    const off = [100, 100, 100, 100];
    const a = runFile("a.json", off, [95, 96, 97, 98], [80, 82, 84, 86]);
    const b = runFile("b.json", off, [99, 100, 101, 102], [90, 92, 94, 96]);
    const { code, stdout } = await pool([a, b]);
    expect(code).toBe(0);
    const row = (name: string) => stdout.split("\n").find((l) => l.startsWith(name))?.split(/\s{2,}/);
    // Four rounds: a median, no interval.
    expect(row("a.json")).toEqual(["a.json", "4", "0.965×", "0.830×"]);
    expect(row("b.json")).toEqual(["b.json", "4", "1.005×", "0.930×"]);
    // Eight rounds pooled: ring 0.95–1.02 → median 0.985, interval of 8 (1st and 8th); export median (0.86 + 0.9) / 2.
    expect(row("2 runs pooled")).toEqual(["2 runs pooled", "8", "0.985× [0.950–1.020]", "0.880× [0.800–0.960]"]);
    // Runs of 4 rounds resampled from the pooled ones: every ring round is over 0.9×, half the export's are.
    const share = stdout.match(/a run of 4 rounds reaches ≥ 0\.9× in: span ring (\d+) %, OTLP export (\d+) %/);
    expect(share?.[1]).toBe("100");
    expect(Number(share?.[2])).toBeGreaterThan(0);
    expect(Number(share?.[2])).toBeLessThan(100);
    // A run whose every export round misses: no resampled run passes.
    expect((await pool([a])).stdout).toContain("reaches ≥ 0.9× in: span ring 100 %, OTLP export 0 %");
  });

  it("exits 2 with its usage when given no run, and 1 naming a run without tracing rounds", async () => {
    const none = await pool([]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain("usage: node bench/tracing-pool.mjs RUN.json");
    const quick = join(dir, "quick.json");
    writeFileSync(quick, JSON.stringify({ requestResponse: { results: {} } }));
    const bad = await pool([quick]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain(`tracing-pool: ${quick}: no tracing rounds`);
    const missing = await pool([join(dir, "missing.json")]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("ENOENT");
  });
});
