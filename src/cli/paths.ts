/** Where this package's files are, for spawning `agent-mesh` child processes. */
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The package's bin/agent-mesh.js, found by walking up from this module (works from dist/ and from src/). */
export function agentMeshBin(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, "bin", "agent-mesh.js");
    if (existsSync(candidate) && existsSync(join(dir, "package.json"))) return candidate;
    const parent = dirname(dir);
    if (parent === dir) throw new Error("cannot find bin/agent-mesh.js above the CLI module");
    dir = parent;
  }
}
