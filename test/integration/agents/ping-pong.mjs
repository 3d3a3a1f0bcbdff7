/**
 * Agent module for patterns-hop-limit.test.ts (`agent-mesh node --agent ping-pong.mjs --capabilities ping` on one
 * node, `--capabilities pong` on another): `ping` delegates to `pong` and `pong` to `ping` (TaskContext.delegate),
 * so a task bounces between the two nodes forever, until the hop limit stops it. With {"countdown": N} the
 * bouncing stops after N delegations and the last agent answers {stoppedAt, hops, countdown: 0}.
 */
export default (node) => {
  const bounce = (next) => async (input, ctx) => {
    if (input !== null && typeof input === "object" && typeof input.countdown === "number") {
      if (input.countdown <= 0) return { stoppedAt: node.id, hops: ctx.hops, countdown: 0 };
      return ctx.delegate(next, { countdown: input.countdown - 1 });
    }
    return ctx.delegate(next, input);
  };
  node.announceCapability("ping", bounce("pong"));
  node.announceCapability("pong", bounce("ping"));
};
