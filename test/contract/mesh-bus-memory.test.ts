import { MemoryNetwork } from "../../src/transport/memory-transport.js";
import { busContract } from "./bus-contract.js";
import { nodeWorld } from "./node-world.js";

busContract("MeshMessageBus of three AgentNodes on a MemoryNetwork", async () => {
  const network = new MemoryNetwork();
  const transports = new Map(["a", "b", "c"].map((id) => [id, network.transport({ config: { reconnectInitialMs: 20, reconnectMaxMs: 200, closeGraceMs: 500 } })]));
  const seed = transports.get("a")?.address ?? "";
  return nodeWorld((id) => ({ transportImpl: transports.get(id), seeds: [seed] }));
});
