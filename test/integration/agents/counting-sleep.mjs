/**
 * Agent module for patterns-capacity.test.ts (`agent-mesh node --agent counting-sleep.mjs`):
 * - `sleep` ({"ms": N}) waits N ms and returns {slept, agent, running}, counting its own runs in flight;
 * - `sleep_stats.<node id>` returns {agent, ran, max, running}: how many sleeps this node ran, the most it ran at
 *   once, and how many run now. The capability name carries the node id so a query always reaches that node.
 */
export default (node) => {
  let running = 0;
  let max = 0;
  let ran = 0;
  node.announceCapability("sleep", async (input, ctx) => {
    const ms = input?.ms;
    if (typeof ms !== "number" || ms < 0) throw new Error('sleep: input must be {"ms": number}');
    running++;
    ran++;
    max = Math.max(max, running);
    const seen = running;
    try {
      await new Promise((resolve, reject) => {
        const timer = setTimeout(resolve, ms);
        ctx.signal.addEventListener("abort", () => {
          clearTimeout(timer);
          reject(ctx.signal.reason);
        });
      });
    } finally {
      running--;
    }
    return { slept: ms, agent: node.id, running: seen };
  });
  node.announceCapability(`sleep_stats.${node.id}`, () => ({ agent: node.id, ran, max, running }));
};
