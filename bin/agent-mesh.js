#!/usr/bin/env node
// Entry point of the `agent-mesh` command: runs the compiled CLI (built by `npm install` / `npm run build`).
// For `agent-mesh node`, lean idle (dist/src/cli/lean-idle.js) sets its V8 flags first, so they apply while the
// CLI's modules load: it is imported statically (node: built-ins only), the CLI dynamically after it.
import { beginLeanIdle } from "../dist/src/cli/lean-idle.js";

const argv = process.argv.slice(2);
beginLeanIdle(argv);
const { main } = await import("../dist/src/cli/main.js");

main(argv).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`agent-mesh: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
