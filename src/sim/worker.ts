/**
 * A worker thread of the simulator: receives CaseSpecs from the main thread, runs each (runCase) and posts the
 * CaseResult back. Cases share nothing, so meshes run in parallel on as many cores as there are workers.
 */
import { parentPort } from "node:worker_threads";
import { runCase, type CaseSpec } from "./experiment.js";

const port = parentPort;
if (port === null) throw new Error("src/sim/worker.js runs as a worker thread of src/sim/main.js");
port.on("message", (spec: CaseSpec) => {
  port.postMessage(runCase(spec));
});
