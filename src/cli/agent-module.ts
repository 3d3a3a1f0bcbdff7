/**
 * Agent modules: `agent-mesh node --agent MODULE` runs a node whose task handlers come from an ES module
 * rather than the built-ins. The module's default export receives the node before it starts serving and
 * registers handlers with `node.announceCapability(name, handler)` (it may also attach message handlers
 * with `node.onMessage` or `node.bus.subscribe`).
 */
import { stat } from "node:fs/promises";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { AgentNode } from "../node/agent-node.js";
import { UsageError } from "./args.js";

/**
 * The default export of an agent module: called once with the node after it is created and before it
 * listens (node.id is set, node.address is not yet); registers handlers with node.announceCapability.
 */
export type AgentModule = (node: AgentNode) => void | Promise<void>;

/** Loads the agent module at `path` (relative to `cwd`): a UsageError when the file is missing, an Error when it is no agent module. */
export async function loadAgentModule(path: string, cwd = process.cwd()): Promise<AgentModule> {
  const file = resolve(cwd, path);
  const found = await stat(file).then(
    (s) => s.isFile(),
    () => false,
  );
  if (!found) throw new UsageError(`--agent: no such file: ${file}`);
  let mod: { default?: unknown };
  try {
    mod = (await import(pathToFileURL(file).href)) as { default?: unknown };
  } catch (err) {
    throw new Error(`cannot load agent module ${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (typeof mod.default !== "function") {
    throw new Error(`agent module ${file} has no default export function (node: AgentNode) => void | Promise<void>`);
  }
  return mod.default as AgentModule;
}
