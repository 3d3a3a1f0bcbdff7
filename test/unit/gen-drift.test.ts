/** The committed gen/ must equal what `buf generate` makes from proto/, and proto/ must pass buf lint and format. */
import { execFile } from "node:child_process";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const root = resolve(fileURLToPath(new URL(".", import.meta.url)), "../..");

async function buf(...args: string[]): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await run("npx", ["--no-install", "buf", ...args], { cwd: root, timeout: 120_000 });
    return { code: 0, output: stdout + stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string; message: string };
    return { code: typeof e.code === "number" ? e.code : 1, output: `${e.stdout ?? ""}${e.stderr ?? ""}` || e.message };
  }
}

async function files(dir: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  const walk = async (d: string): Promise<void> => {
    for (const entry of await readdir(d, { withFileTypes: true })) {
      const p = join(d, entry.name);
      if (entry.isDirectory()) await walk(p);
      else out.set(relative(dir, p), await readFile(p));
    }
  };
  await walk(dir);
  return out;
}

/** What differs between the committed tree and the generated one, one line per file. */
export function drift(committed: Map<string, Buffer>, generated: Map<string, Buffer>): string[] {
  const lines: string[] = [];
  for (const [path, content] of generated) {
    const mine = committed.get(path);
    if (mine === undefined) lines.push(`missing from gen/: ${path}`);
    else if (!mine.equals(content)) lines.push(`changed: gen/${path}`);
  }
  for (const path of committed.keys()) if (!generated.has(path)) lines.push(`extra in gen/: ${path}`);
  return lines.sort();
}

describe("generated code", () => {
  let out: string;
  beforeAll(async () => {
    out = await mkdtemp(join(tmpdir(), "agent-mesh-gen-"));
  });
  afterAll(async () => {
    await rm(out, { recursive: true, force: true });
  });

  it("gen/ equals what buf generate makes (run `npm run generate` and commit when this fails)", async () => {
    const result = await buf("generate", "--template", "buf.gen.yaml", "-o", out);
    expect(result.output, "buf generate failed").toBe("");
    expect(result.code).toBe(0);
    const generated = await files(join(out, "gen"));
    expect(generated.size).toBeGreaterThan(0);
    expect(drift(await files(join(root, "gen")), generated)).toEqual([]);
  });

  it("reports missing, extra and changed files", () => {
    const a = new Map([
      ["same.ts", Buffer.from("1")],
      ["changed.ts", Buffer.from("old")],
      ["extra.ts", Buffer.from("x")],
    ]);
    const b = new Map([
      ["same.ts", Buffer.from("1")],
      ["changed.ts", Buffer.from("new")],
      ["new.ts", Buffer.from("y")],
    ]);
    expect(drift(a, b)).toEqual(["changed: gen/changed.ts", "extra in gen/: extra.ts", "missing from gen/: new.ts"]);
  });

  it("proto/ passes buf lint", async () => {
    const result = await buf("lint");
    expect(result.output).toBe("");
    expect(result.code).toBe(0);
  });

  it("proto/ is formatted as buf format wants (but for the OTLP protos, copied verbatim; as in npm run lint:proto)", async () => {
    const result = await buf("format", "--diff", "--exit-code", "--exclude-path", "proto/opentelemetry");
    expect(result.output).toBe("");
    expect(result.code).toBe(0);
  });
});
