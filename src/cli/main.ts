/**
 * The `agent-mesh` command: picks the subcommand, runs it and maps failures to exit codes
 * (0 success, 1 failure, 2 bad usage with the command's usage on stderr).
 */
import { UsageError } from "./args.js";
import { fail, println, processIo, type CliIo } from "./io.js";
import { isCommand, usage, type CommandName } from "./usage.js";

/** A subcommand: takes its arguments, resolves with the exit code; throws UsageError on bad usage. */
export type Command = (args: string[], io: CliIo) => Promise<number>;

/** Each subcommand's module is loaded only when it runs: a node does not load the demo's or the clients' code. */
const COMMANDS: Record<CommandName, () => Promise<Command>> = {
  node: async () => (await import("./commands/node.js")).nodeCommand,
  agents: async () => (await import("./commands/agents.js")).agentsCommand,
  status: async () => (await import("./commands/status.js")).statusCommand,
  submit: async () => (await import("./commands/submit.js")).submitCommand,
  vote: async () => (await import("./commands/vote.js")).voteCommand,
  auction: async () => (await import("./commands/auction.js")).auctionCommand,
  solve: async () => (await import("./commands/solve.js")).solveCommand,
  trace: async () => (await import("./commands/trace.js")).traceCommand,
  demo: async () => (await import("./commands/demo.js")).demoCommand,
};

/** Commands whose calls to nodes are traced when an OTLP endpoint is configured (client-tracing.ts). */
const TRACED_COMMANDS: ReadonlySet<CommandName> = new Set(["submit", "vote", "auction", "solve"]);

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
    const command = await COMMANDS[name]();
    if (!TRACED_COMMANDS.has(name)) return await command(args, io);
    const { startClientTracing, stopClientTracing } = await import("./client-tracing.js");
    const tracing = startClientTracing();
    try {
      return await command(args, io);
    } finally {
      await stopClientTracing(tracing);
    }
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
