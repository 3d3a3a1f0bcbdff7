#!/usr/bin/env node
// Entry point of the `agent-mesh` command: runs the compiled CLI (built by `npm install` / `npm run build`).
import { main } from "../dist/src/cli/main.js";

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`agent-mesh: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
