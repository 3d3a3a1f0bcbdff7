/**
 * The `agent-mesh` command: picks the subcommand, runs it and maps failures to exit codes
 * (0 success, 1 failure, 2 bad usage with the command's usage on stderr).
 */
import { UsageError } from "./args.js";
import { agentsCommand } from "./commands/agents.js";
import { auctionCommand } from "./commands/auction.js";
import { solveCommand } from "./commands/solve.js";
import { voteCommand } from "./commands/vote.js";
import { demoCommand } from "./commands/demo.js";
import { nodeCommand } from "./commands/node.js";
import { statusCommand } from "./commands/status.js";
import { submitCommand } from "./commands/submit.js";
import { traceCommand } from "./commands/trace.js";
import { fail, println, processIo, type CliIo } from "./io.js";
import { isCommand, usage, type CommandName } from "./usage.js";

/** A subcommand: takes its arguments, resolves with the exit code; throws UsageError on bad usage. */
export type Command = (args: string[], io: CliIo) => Promise<number>;

const COMMANDS: Record<CommandName, Command> = {
  node: nodeCommand,
  agents: agentsCommand,
  status: statusCommand,
  submit: submitCommand,
  vote: voteCommand,
  auction: auctionCommand,
  solve: solveCommand,
  trace: traceCommand,
  demo: demoCommand,
};

/** Runs the agent-mesh command with `argv` (the arguments after the program name); resolves with the exit code. */
export async function main(argv: string[], io: CliIo = processIo): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined) return usageError(io, "missing command");
  if (name === "--help" || name === "-h" || name === "help") {
    println(io.stdout, usage());
    return 0;
  }
  if (!isCommand(name)) {
    return usageError(io, name.startsWith("-") ? `unknown option '${name}' (expected a command first)` : `unknown command '${name}'`);
  }
  try {
    return await COMMANDS[name](args, io);
  } catch (err) {
    if (err instanceof UsageError) return usageError(io, err.message, name);
    return fail(io, err instanceof Error ? err.message : String(err));
  }
}

/** Prints "agent-mesh: <message>" and the usage to stderr; returns 2. */
function usageError(io: CliIo, message: string, command?: CommandName): number {
  println(io.stderr, `agent-mesh${command === undefined ? "" : ` ${command}`}: ${message}`);
  println(io.stderr);
  println(io.stderr, usage(command));
  return 2;
}
