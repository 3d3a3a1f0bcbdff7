/** The streams a command writes to: results on stdout, messages, progress and logs on stderr. */

/** A stream a command writes to (a TTY or not). */
export interface OutStream extends NodeJS.WritableStream {
  /** True when the stream is a terminal. */
  isTTY?: boolean;
}

/** Where a command writes. */
export interface CliIo {
  /** Command output (results, the ready line, summaries). */
  readonly stdout: OutStream;
  /** Errors, usage on bad input, notes. */
  readonly stderr: OutStream;
}

/** The process's own stdout and stderr. */
export const processIo: CliIo = { stdout: process.stdout, stderr: process.stderr };

/** Writes `text` and a newline to `stream`. */
export function println(stream: OutStream, text = ""): void {
  stream.write(`${text}\n`);
}

/** Writes "agent-mesh: <message>" to stderr and returns exit code 1. */
export function fail(io: CliIo, message: string): number {
  println(io.stderr, `agent-mesh: ${message}`);
  return 1;
}
