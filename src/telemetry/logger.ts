/**
 * Structured JSON logs (pino) behind the Logger seam. Lines carry `correlation_id` where the code knows it
 * (the field has that name on every layer), and — through a pino mixin — the `trace_id` and `span_id` of the
 * span active when the line is written, so a line leads to its trace and a span to its lines.
 *
 * pino is loaded when the first line is written, not before: a node at `--log-level warn` that has nothing to
 * report never loads it (pino, its serializers and sonic-boom, and the worker_threads, thread-stream and
 * assert modules its transports need: ~1.5 MB of an idle node's RSS; bench/README.md, "Memory at idle"). Until
 * then a logger and its children only hold the level and the fields; the first line at an enabled level
 * creates the pino logger (and the pino children along the way), which writes exactly what it would have.
 */
import { createRequire } from "node:module";
import { isSpanContextValid, trace } from "@opentelemetry/api";
import type { Logger as PinoLogger } from "pino";
import { Code, MeshError } from "../protocol/errors.js";
import type { LogFields, Logger } from "../protocol/logger.js";

/** Log levels, least to most severe; "silent" logs nothing. */
export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";

/** Every accepted level. */
export const LOG_LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error", "silent"];

/** The level named by $AGENT_MESH_LOG_LEVEL ("info" when unset); INVALID_ARGUMENT naming the variable when it is not a level. */
export function logLevelFromEnv(env: NodeJS.ProcessEnv = process.env): LogLevel {
  const value = env.AGENT_MESH_LOG_LEVEL;
  if (value === undefined || value === "") return "info";
  if (!(LOG_LEVELS as readonly string[]).includes(value)) {
    throw new MeshError(Code.InvalidArgument, `AGENT_MESH_LOG_LEVEL: "${value}" is not one of ${LOG_LEVELS.join(", ")}`);
  }
  return value as LogLevel;
}

/** Options of the JSON logger. */
export interface JsonLoggerOptions {
  /** Minimum level. Default "info" (or $AGENT_MESH_LOG_LEVEL). */
  level?: LogLevel;
  /** Fields on every line, e.g. { agent: "a1" }. */
  base?: Record<string, unknown>;
  /** File descriptor to write to. Default 2 (stderr), so stdout stays for command output. */
  fd?: number;
  /** Where to write instead of `fd` (e.g. a test's collector): anything with write(line). */
  stream?: { write(line: string): void };
}

/** A logger writing JSON lines through pino, loaded with the first line written (see the file comment). */
export function createJsonLogger(options: JsonLoggerOptions = {}): Logger & { flush(): void } {
  const level = options.level ?? logLevelFromEnv();
  let root: PinoLogger | undefined;
  const pinoRoot = (): PinoLogger => {
    if (root === undefined) {
      const { pino } = loadPino();
      root = pino(
        { level, base: options.base ?? {}, timestamp: pino.stdTimeFunctions.isoTime, mixin: traceFields },
        options.stream ?? pino.destination({ fd: options.fd ?? 2, sync: false }),
      );
    }
    return root;
  };
  return new JsonLogger(LEVEL_VALUES[level], pinoRoot, () => root?.flush());
}

/** pino's numeric levels of ours ("silent": nothing is enabled). */
const LEVEL_VALUES: Record<LogLevel, number> = { debug: 20, info: 30, warn: 40, error: 50, silent: Number.POSITIVE_INFINITY };

let pinoModule: typeof import("pino") | undefined;

/** The pino module, loaded on first use (pino is CommonJS, so this is synchronous). */
function loadPino(): typeof import("pino") {
  return (pinoModule ??= createRequire(import.meta.url)("pino") as typeof import("pino"));
}

/**
 * A logger of the JSON logger's tree: the root (no parent) or a child with its fields. Its pino logger — the
 * root's, or the pino child of its parent's with its fields — is created by the first line it writes.
 */
class JsonLogger implements Logger {
  #pino: PinoLogger | undefined;

  constructor(
    private readonly threshold: number,
    private readonly root: () => PinoLogger,
    private readonly flushRoot: () => void,
    private readonly parent?: JsonLogger,
    private readonly fields?: LogFields,
  ) {}

  debug(fields: LogFields, msg: string): void {
    if (this.threshold <= 20) this.pino().debug(fields, msg);
  }

  info(fields: LogFields, msg: string): void {
    if (this.threshold <= 30) this.pino().info(fields, msg);
  }

  warn(fields: LogFields, msg: string): void {
    if (this.threshold <= 40) this.pino().warn(fields, msg);
  }

  error(fields: LogFields, msg: string): void {
    if (this.threshold <= 50) this.pino().error(fields, msg);
  }

  child(fields: LogFields): Logger {
    return new JsonLogger(this.threshold, this.root, this.flushRoot, this, fields);
  }

  /** Flushes the lines pino buffered, if it was loaded. */
  flush(): void {
    this.flushRoot();
  }

  /** This logger's pino logger, created (with its ancestors') on first use. */
  private pino(): PinoLogger {
    return (this.#pino ??= this.parent === undefined ? this.root() : this.parent.pino().child(this.fields ?? {}));
  }
}

/** The trace_id and span_id of the active span (none outside a span, or when tracing is off). */
export function traceFields(): Record<string, string> {
  const span = trace.getActiveSpan();
  if (span === undefined) return {};
  const sc = span.spanContext();
  return isSpanContextValid(sc) ? { trace_id: sc.traceId, span_id: sc.spanId } : {};
}
