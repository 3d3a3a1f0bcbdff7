/**
 * Structured JSON logs (pino) behind the Logger seam. Lines carry `correlation_id` where the code knows it
 * (the field has that name on every layer), and — through a pino mixin — the `trace_id` and `span_id` of the
 * span active when the line is written, so a line leads to its trace and a span to its lines.
 */
import { isSpanContextValid, trace } from "@opentelemetry/api";
import { pino } from "pino";
import { Code, MeshError } from "../protocol/errors.js";
import type { Logger } from "../protocol/logger.js";

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

/** A pino logger writing JSON lines. */
export function createJsonLogger(options: JsonLoggerOptions = {}): Logger {
  const level = options.level ?? logLevelFromEnv();
  return pino(
    { level, base: options.base ?? {}, timestamp: pino.stdTimeFunctions.isoTime, mixin: traceFields },
    options.stream ?? pino.destination({ fd: options.fd ?? 2, sync: false }),
  ) as unknown as Logger;
}

/** The trace_id and span_id of the active span (none outside a span, or when tracing is off). */
export function traceFields(): Record<string, string> {
  const span = trace.getActiveSpan();
  if (span === undefined) return {};
  const sc = span.spanContext();
  return isSpanContextValid(sc) ? { trace_id: sc.traceId, span_id: sc.spanId } : {};
}
