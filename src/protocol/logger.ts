/** The logging seam: every layer logs through this shape; the telemetry layer provides pino behind it. */

/** Structured fields of a log line (correlation id, agent, ...). */
export type LogFields = Record<string, unknown>;

/** A structured logger (pino-compatible subset). */
export interface Logger {
  /** Detail for debugging. */
  debug(fields: LogFields, msg: string): void;
  /** Normal operation. */
  info(fields: LogFields, msg: string): void;
  /** Something unexpected that was handled. */
  warn(fields: LogFields, msg: string): void;
  /** Something failed. */
  error(fields: LogFields, msg: string): void;
  /** A logger that adds `fields` to every line. */
  child(fields: LogFields): Logger;
}

/** A logger that discards everything. */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return silentLogger;
  },
};
