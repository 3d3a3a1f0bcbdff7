/**
 * Agent module for lean-idle.test.ts (`agent-mesh node --agent lean-probe.mjs`):
 * - `lean_state` returns the node's lean idle state — from dist/src/cli/lean-idle.js, the very module instance
 *   bin/agent-mesh.js set up — and the size of V8's young generation (new space), bytes;
 * - `spin` ({"ms": N}) keeps the CPU busy for N ms.
 */
import { getHeapSpaceStatistics } from "node:v8";
import { leanIdleState } from "../../../dist/src/cli/lean-idle.js";

export default (node) => {
  node.announceCapability("lean_state", () => ({
    ...leanIdleState(),
    newSpaceBytes: getHeapSpaceStatistics().find((s) => s.space_name === "new_space").space_size,
  }));
  node.announceCapability("spin", (input) => {
    const end = performance.now() + input.ms;
    let turns = 0;
    while (performance.now() < end) turns++;
    return { spun: input.ms, turns };
  });
};
