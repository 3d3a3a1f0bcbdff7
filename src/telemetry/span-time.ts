/**
 * Span timestamps: a recorded span keeps whole microseconds since its Epoch — the wall-clock time (whole
 * seconds and nanoseconds since the Unix epoch, so conversions stay exact) of performance time `base`. Small
 * integers are stored in place by the JavaScript engine (a double field would be a heap number of its own),
 * and performance.now() is one cheap call. The first epoch is the process's time origin; every
 * EPOCH_REFRESH_MS a new one continues it exactly from a later base (offsets stay small), unless the wall
 * clock moved away from the performance clock by over EPOCH_MAX_DRIFT_MS (NTP adjusted it): then the new one
 * is read from Date.now(). Spans of one node thus agree to the microsecond. Conversions to nanoseconds,
 * HrTime or text happen only when a span is read.
 */
import type { HrTime, TimeInput } from "@opentelemetry/api";

/** A wall-clock reading: `sec` seconds and `nanos` nanoseconds since the Unix epoch at performance time `base` (ms). */
export interface Epoch {
  /** Whole seconds. */
  readonly sec: number;
  /** Nanoseconds within the second, 0 to 999 999 999. */
  readonly nanos: number;
  /** The performance time (ms) of the reading. */
  readonly base: number;
}

/** How long spans share one epoch, ms (their times are offsets from it; see the file comment). */
export const EPOCH_REFRESH_MS = 1000;
/** How far the wall clock may move from the performance clock before the epoch is read from it again, ms. */
export const EPOCH_MAX_DRIFT_MS = 2;

let epoch: Epoch = epochOf(performance.timeOrigin, 0);

/** The epoch of wall-clock time `wallMs` (ms since the Unix epoch) at performance time `base`. */
function epochOf(wallMs: number, base: number): Epoch {
  const sec = Math.floor(wallMs / 1000);
  return { sec, nanos: Math.round((wallMs - sec * 1000) * 1e6), base };
}

/** The epoch for a span starting at performance time `now`; see the file comment. */
export function epochAt(now: number): Epoch {
  if (now - epoch.base < EPOCH_REFRESH_MS) return epoch;
  const total = epoch.nanos + Math.round((now - epoch.base) * 1e6);
  const carry = Math.floor(total / 1e9);
  const next: Epoch = { sec: epoch.sec + carry, nanos: total - carry * 1e9, base: now };
  const wall = Date.now();
  epoch = Math.abs(wall - epochMs(next)) > EPOCH_MAX_DRIFT_MS ? epochOf(wall, now) : next;
  return epoch;
}

/** Performance time `now` (ms) as whole microseconds since epoch `e`. */
export function sinceEpoch(e: Epoch, now: number): number {
  return Math.round((now - e.base) * 1000);
}

/** `us` microseconds after epoch `e` as [seconds, nanoseconds] since the Unix epoch. */
export function toHrTime(e: Epoch, us: number): HrTime {
  const total = e.nanos + us * 1000;
  const carry = Math.floor(total / 1e9);
  return [e.sec + carry, total - carry * 1e9];
}

/** `us` microseconds after epoch `e` as nanoseconds since the Unix epoch. */
export function toUnixNanos(e: Epoch, us: number): bigint {
  const [sec, nanos] = toHrTime(e, us);
  return BigInt(sec) * 1_000_000_000n + BigInt(nanos);
}

/**
 * A TimeInput given to the API (start time, end time, event time) as microseconds since epoch `e`: numbers not
 * past performance.now() are performance timestamps (as the SDK reads them), larger numbers epoch
 * milliseconds, Dates and HrTimes wall-clock times; undefined is now.
 */
export function microsSince(e: Epoch, input: TimeInput | undefined): number {
  if (input === undefined) return sinceEpoch(e, performance.now());
  if (typeof input === "number") return input <= performance.now() ? sinceEpoch(e, input) : Math.round((input - epochMs(e)) * 1000);
  if (input instanceof Date) return Math.round((input.getTime() - epochMs(e)) * 1000);
  return Math.round((input[0] - e.sec) * 1e6 + (input[1] - e.nanos) / 1000);
}

function epochMs(e: Epoch): number {
  return e.sec * 1000 + e.nanos / 1e6;
}
