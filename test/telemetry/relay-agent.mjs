/**
 * Agent module for the tracing tests: "relay" hands its input on to whichever agent serves "uppercase",
 * keeping the task's correlation id, so a task sent to A and run by B is delegated to C (A → B → C).
 */
export default function relayAgent(node) {
  node.announceCapability("relay", async (input, ctx) => (await node.submit("uppercase", input, { correlationId: ctx.correlationId })).output);
}
