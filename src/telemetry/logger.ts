/** Structured JSON logs (pino) behind the Logger seam; every line can carry the correlation id. */
import { pino } from "pino";
import type { Logger } from "../protocol/logger.js";

/** Log levels, least to most severe; "silent" logs nothing. */
export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";

/** Options of the JSON logger. */
export interface JsonLoggerOptions {
  /** Minimum level. Default "info" (or $AGENT_MESH_LOG_LEVEL). */
  level?: LogLevel;
  /** Fields on every line, e.g. { agent: "a1" }. */
  base?: Record<string, unknown>;
  /** File descriptor to write to. Default 2 (stderr), so stdout stays for command output. */
  fd?: number;
}

/** A pino logger writing JSON lines. */
export function createJsonLogger(options: JsonLoggerOptions = {}): Logger {
  const level = options.level ?? ((process.env.AGENT_MESH_LOG_LEVEL as LogLevel | undefined) ?? "info");
  return pino(
    { level, base: options.base ?? {}, timestamp: pino.stdTimeFunctions.isoTime },
    pino.destination({ fd: options.fd ?? 2, sync: false }),
  ) as unknown as Logger;
}
