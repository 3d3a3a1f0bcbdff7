/**
 * `node dist/src/sim/main.js` (what `npm run sim` runs after building): bad usage exits 2 with a message and the
 * usage on stderr; a small run prints the machine, the table, the goals and the wall time, exits 0 and writes JSON.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const main = join(import.meta.dirname, "../../dist/src/sim/main.js");
const run = (args: string[]) => spawnSync(process.execPath, [main, ...args], { encoding: "utf8", timeout: 120_000 });

describe("the sim command", () => {
  it.each([
    [["--sizes", "ten"], /^sim: --sizes must be a comma-separated list of integers >= 3, got "ten"$/m],
    [["--loss", "2"], /^sim: --loss must be a rate in \[0, 1\), got "2"$/m],
    [["--bogus"], /^sim: Unknown option '--bogus'/m],
  ])("%j: exit 2, the message and the usage on stderr", (args, message) => {
    const r = run(args);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toMatch(/^usage: npm run sim -- \[options\]$/m);
    expect(r.stdout).toBe("");
  });

  it("--help prints the usage and exits 0", () => {
    const r = run(["--help"]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/--minutes M/);
  });

  it("a small run prints the table and the goals, exits 0 and writes the results as JSON", () => {
    const dir = mkdtempSync(join(tmpdir(), "sim-"));
    try {
      const file = join(dir, "out.json");
      const r = run(["--sizes", "8", "--seeds", "2", "--minutes", "0.2", "--loss", "0.05", "--workers", "1", "--json", file]);
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/^machine: .+cores.+Node v\d+/m);
      expect(r.stdout).toMatch(/^\s*8\s+0 %\s+2\s/m);
      expect(r.stdout).toMatch(/^\s*8\s+5 %\s+2\s/m);
      expect(r.stdout).toMatch(/^(PASS|FAIL) +a crashed agent is marked dead by every survivor within 3 s/m);
      expect(r.stdout).toMatch(/^NOT MEASURED +one update reaches all of 1,000 nodes/m);
      expect(r.stdout).toMatch(/^wall time [\d.]+ s \(CPU [\d.]+ s\) for \d+ simulated seconds in 4 meshes$/m);
      const json = JSON.parse(readFileSync(file, "utf8")) as { rows: unknown[]; results: unknown[]; goals: unknown[] };
      expect(json.rows).toHaveLength(2);
      expect(json.results).toHaveLength(4);
      expect(json.goals).toHaveLength(3);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
