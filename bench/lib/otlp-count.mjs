/**
 * Spans in an OTLP/HTTP ExportTraceServiceRequest body, counted without decoding it: protobuf
 * (application/x-protobuf) by walking the tags of ExportTraceServiceRequest → ResourceSpans → ScopeSpans down
 * to the spans, skipping everything else; JSON by finding `"startTimeUnixNano"` keys. For the benchmark's
 * OTLP receivers, where decoding every body would cost more than the nodes' exporting.
 */

/** The content type of OTLP/HTTP protobuf. */
export const PROTOBUF = "application/x-protobuf";

/** A key only spans have in OTLP/JSON (links and events have none). */
const SPAN_KEY = Buffer.from('"startTimeUnixNano"');

/** Spans in `body`, an export request of content type `type` (protobuf, else JSON); throws on malformed protobuf. */
export function countOtlpSpans(body, type) {
  return type.startsWith(PROTOBUF) ? protobufSpans(body) : jsonSpans(body);
}

/** Spans in an OTLP/JSON body: its "startTimeUnixNano" keys. */
function jsonSpans(body) {
  let n = 0;
  for (let i = body.indexOf(SPAN_KEY); i >= 0; i = body.indexOf(SPAN_KEY, i + SPAN_KEY.length)) n++;
  return n;
}

/**
 * Spans in an OTLP/protobuf ExportTraceServiceRequest: the spans field (2) of every scope_spans (2) of every
 * resource_spans (1), counted by walking tags and lengths only.
 */
function protobufSpans(body) {
  let n = 0;
  forEachField(body, 0, body.length, 1, (rStart, rEnd) => forEachField(body, rStart, rEnd, 2, (sStart, sEnd) => forEachField(body, sStart, sEnd, 2, () => n++)));
  return n;
}

/** Where varint() reads next. */
let at = 0;

/** Calls `visit(start, end)` for every length-delimited field `field` in `buf[from, to)`, skipping the other fields. */
function forEachField(buf, from, to, field, visit) {
  let pos = from;
  while (pos < to) {
    at = pos;
    const tag = varint(buf);
    const wire = tag & 7;
    if (wire === 0) varint(buf);
    else if (wire === 1) at += 8;
    else if (wire === 5) at += 4;
    else if (wire !== 2) throw new Error(`unexpected wire type ${wire}`);
    if (wire !== 2) {
      pos = at;
      continue;
    }
    const length = varint(buf);
    const start = at;
    pos = start + length;
    if (pos > to) throw new Error("truncated protobuf");
    if (tag >>> 3 === field) visit(start, pos);
  }
}

/** The varint at `at` (up to 2^53), moving `at` past it. */
function varint(buf) {
  let value = 0;
  let scale = 1;
  for (;;) {
    if (at >= buf.length) throw new Error("truncated varint");
    const b = buf[at++];
    value += (b & 0x7f) * scale;
    if (b < 0x80) return value;
    scale *= 128;
  }
}
