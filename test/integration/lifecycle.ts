/**
 * The set-up every multi-process test file shares: node processes and clients to them, a check after each
 * test that no node died on its own, and every process stopped and client closed after the file.
 */
import { afterAll, afterEach, expect } from "vitest";
import { Processes } from "../helpers/processes.js";
import { Clients } from "./observe.js";

/** Processes and clients for one test file, with the per-test check and the clean-up registered. */
export function processMesh(): { procs: Processes; clients: Clients } {
  const procs = new Processes();
  const clients = new Clients();
  afterEach(() => {
    expect(procs.unexpectedExits(), "node processes that died on their own").toEqual([]);
  });
  afterAll(async () => {
    clients.close();
    await procs.stopAll();
  });
  return { procs, clients };
}
