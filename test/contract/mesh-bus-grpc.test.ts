import { busContract } from "./bus-contract.js";
import { nodeWorld } from "./node-world.js";

busContract("MeshMessageBus of three AgentNodes over gRPC on loopback", () => nodeWorld(() => ({ host: "127.0.0.1", port: 0 })));
