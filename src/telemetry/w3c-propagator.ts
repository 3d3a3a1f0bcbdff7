/**
 * W3C Trace Context (traceparent, tracestate) and W3C Baggage in one TextMapPropagator over the API alone,
 * so propagation needs no SDK package: the same rules as @opentelemetry/core's W3CTraceContextPropagator and
 * W3CBaggagePropagator (version 00 with nothing after the flags, no all-zero ids, lowercase hex; baggage of at
 * most 180 pairs, 4096 bytes a pair, 8192 in all; nothing injected where tracing is suppressed), with a
 * hand-written traceparent parser instead of a regular expression. An extracted parent is a ContextOnlySpan
 * (its ids checked once, here) in a cheap overlay context.
 */
import {
  baggageEntryMetadataFromString,
  createContextKey,
  createTraceState,
  isSpanContextValid,
  propagation,
  trace,
  type BaggageEntry,
  type Context,
  type TextMapGetter,
  type TextMapPropagator,
  type TextMapSetter,
} from "@opentelemetry/api";
import { withSpan } from "../protocol/trace-context.js";
import { ContextOnlySpan } from "./context-only-span.js";
import { knownValid } from "./span-recorder.js";

/** Baggage pairs at most (W3C). */
export const BAGGAGE_MAX_PAIRS = 180;
/** Bytes of one baggage pair at most (W3C). */
export const BAGGAGE_MAX_PAIR_LENGTH = 4096;
/** Bytes of a baggage header at most (W3C). */
export const BAGGAGE_MAX_LENGTH = 8192;

const SUPPRESS_TRACING_KEY = createContextKey("OpenTelemetry SDK Context Key SUPPRESS_TRACING");

/** The traceparent value of a span context: "00-TRACEID-SPANID-FLAGS". */
export function formatTraceparent(traceId: string, spanId: string, traceFlags: number): string {
  const flags = traceFlags & 0xff;
  return `00-${traceId}-${spanId}-${flags === 1 ? "01" : flags === 0 ? "00" : flags.toString(16).padStart(2, "0")}`;
}

/** The parts of a valid traceparent value, or undefined (as core's parseTraceParent decides). */
export function parseTraceparent(value: string): { traceId: string; spanId: string; traceFlags: number } | undefined {
  const at = traceparentAt(value);
  return at < 0 ? undefined : { traceId: value.slice(at + 3, at + 35), spanId: value.slice(at + 36, at + 52), traceFlags: hexRun(value, at + 53, at + 55) };
}

/**
 * Where the traceparent in `value` starts — 0, or 1 after one white-space character — when `value` is a valid
 * one (as core's parseTraceParent decides); -1 when it is not. Nothing is allocated.
 */
function traceparentAt(value: string): number {
  let at = 0;
  let end = value.length;
  if (end !== 55) {
    // Up to one white-space character each side, and (for versions after 00) more fields after the flags.
    if (end > 0 && /\s/.test(value[0])) at = 1;
    if (end > at && /\s/.test(value[end - 1])) end--;
    const length = end - at;
    if (length < 55 || (length > 55 && (value.charCodeAt(at + 55) !== 45 || value.startsWith("00", at)))) return -1;
  }
  if (value.charCodeAt(at + 2) !== 45 || value.charCodeAt(at + 35) !== 45 || value.charCodeAt(at + 52) !== 45) return -1;
  const version = hexRun(value, at, at + 2);
  const trace = hexRun(value, at + 3, at + 35);
  const span = hexRun(value, at + 36, at + 52);
  const flags = hexRun(value, at + 53, at + 55);
  // hexRun: -1 for a character that is not lowercase hex, 0 for all zeros; the version ff is invalid.
  return version < 0 || version === 0xff || trace <= 0 || span <= 0 || flags < 0 ? -1 : at;
}

/** Values of the lowercase hex digits by character code (-1: not one). */
const HEX_DIGIT = new Int8Array(128).fill(-1);
for (let i = 0; i < 16; i++) HEX_DIGIT["0123456789abcdef".charCodeAt(i)] = i;

/**
 * s[from, to) as lowercase hex: -1 when a character is not a lowercase hex digit, else a positive number when
 * any digit is non-zero (the value itself for up to two digits), 0 when all are zero.
 */
function hexRun(s: string, from: number, to: number): number {
  let value = 0;
  let any = 0;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    const d = c < 128 ? HEX_DIGIT[c] : -1;
    if (d < 0) return -1;
    value = (value << 4) | d;
    any |= d;
  }
  return to - from <= 2 ? value : any;
}

/** The baggage header value of `entries` (pairs over the W3C limits are left out), "" when none. */
export function serializeBaggage(entries: [string, BaggageEntry][]): string {
  let header = "";
  let pairs = 0;
  for (const [key, entry] of entries) {
    if (pairs >= BAGGAGE_MAX_PAIRS) break;
    let pair = `${encodeURIComponent(key)}=${encodeURIComponent(entry.value)}`;
    if (entry.metadata !== undefined) pair += `;${entry.metadata.toString()}`;
    if (pair.length > BAGGAGE_MAX_PAIR_LENGTH) continue;
    pairs++;
    const next = header === "" ? pair : `${header},${pair}`;
    if (next.length <= BAGGAGE_MAX_LENGTH) header = next;
  }
  return header;
}

/** The entries of a baggage header (malformed pairs skipped; at most the W3C limits), added to `into`. */
export function parseBaggage(value: string, into: Record<string, BaggageEntry>, counted: { pairs: number; length: number }): void {
  let start = 0;
  while (start < value.length && counted.pairs < BAGGAGE_MAX_PAIRS) {
    const comma = value.indexOf(",", start);
    const end = comma < 0 ? value.length : comma;
    if (end - start <= BAGGAGE_MAX_PAIR_LENGTH) {
      const entry = parsePair(value.substring(start, end));
      if (entry !== undefined) {
        const size = (counted.pairs === 0 ? 0 : 1) + end - start;
        if (counted.length + size > BAGGAGE_MAX_LENGTH) break;
        into[entry[0]] = entry[1];
        counted.pairs++;
        counted.length += size;
      }
    }
    if (comma < 0) break;
    start = comma + 1;
  }
}

function parsePair(text: string): [string, BaggageEntry] | undefined {
  const semicolon = text.indexOf(";");
  const pair = semicolon < 0 ? text : text.substring(0, semicolon);
  const eq = pair.indexOf("=");
  if (eq <= 0) return undefined;
  const rawKey = pair.substring(0, eq).trim();
  const rawValue = pair.substring(eq + 1).trim();
  if (rawKey === "" || rawValue === "") return undefined;
  let key: string;
  let value: string;
  try {
    key = decodeURIComponent(rawKey);
    value = decodeURIComponent(rawValue);
  } catch {
    return undefined;
  }
  return [key, semicolon >= 0 && semicolon < text.length - 1 ? { value, metadata: baggageEntryMetadataFromString(text.substring(semicolon + 1)) } : { value }];
}

/** W3C trace context and baggage; see the file comment. */
export class W3CPropagator implements TextMapPropagator {
  /** Writes traceparent (and tracestate) of the span in `ctx`, and baggage, into `carrier`. */
  inject(ctx: Context, carrier: unknown, setter: TextMapSetter): void {
    if (ctx.getValue(SUPPRESS_TRACING_KEY) === true) return;
    const span = trace.getSpan(ctx);
    const sc = span?.spanContext();
    // The recorder's spans and extracted parents had their ids checked when made.
    if (sc !== undefined && (knownValid(span) || isSpanContextValid(sc))) {
      setter.set(carrier, "traceparent", formatTraceparent(sc.traceId, sc.spanId, sc.traceFlags));
      if (sc.traceState !== undefined) setter.set(carrier, "tracestate", sc.traceState.serialize());
    }
    const baggage = propagation.getBaggage(ctx);
    if (baggage !== undefined) {
      const header = serializeBaggage(baggage.getAllEntries());
      if (header !== "") setter.set(carrier, "baggage", header);
    }
  }

  /** `ctx` with the remote span context and the baggage `carrier` holds, if any. */
  extract(ctx: Context, carrier: unknown, getter: TextMapGetter): Context {
    let out = ctx;
    const header = getter.get(carrier, "traceparent");
    const value = Array.isArray(header) ? header[0] : header;
    const at = typeof value === "string" ? traceparentAt(value) : -1;
    if (at >= 0) {
      const s = value as string;
      const stateHeader = getter.get(carrier, "tracestate");
      const state = Array.isArray(stateHeader) ? stateHeader.join(",") : stateHeader;
      const remote = new ContextOnlySpan(s.slice(at + 3, at + 35), s.slice(at + 36, at + 52), hexRun(s, at + 53, at + 55), state ? createTraceState(state) : undefined, true);
      out = withSpan(out, remote);
    }
    const baggageHeader = getter.get(carrier, "baggage");
    if (baggageHeader) {
      const entries: Record<string, BaggageEntry> = {};
      const counted = { pairs: 0, length: 0 };
      for (const h of Array.isArray(baggageHeader) ? baggageHeader : [baggageHeader]) parseBaggage(h, entries, counted);
      if (counted.pairs > 0) out = propagation.setBaggage(out, propagation.createBaggage(entries));
    }
    return out;
  }

  /** The carrier keys this propagator uses. */
  fields(): string[] {
    return ["traceparent", "tracestate", "baggage"];
  }
}
