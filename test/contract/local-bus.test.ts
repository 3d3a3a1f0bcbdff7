import { LocalMessageBus } from "../../src/bus/local-bus.js";
import { busContract } from "./bus-contract.js";

busContract("LocalMessageBus (one instance shared by the agents)", async () => {
  const bus = new LocalMessageBus();
  return {
    bus: () => bus,
    register: (id, handler) => bus.attach(id, handler),
    cleanup: async () => {},
  };
});
