/**
 * A span as the node's span recorder (span-recorder.ts) records it: the OpenTelemetry API's Span, and at the
 * same time the SDK's ReadableSpan in shape, so finished spans go to the span ring, to the OTLP export queue
 * and to any SDK span processor a caller adds, as they are. It keeps what it is given — attributes, events
 * and links — with times as whole microseconds since its epoch (span-time.ts), and converts (to HrTime, to
 * nanoseconds) only when read. It is its own SpanContext (one object less per span, for the garbage
 * collector: the ring keeps thousands). Limits (attribute, event and link counts, value length) follow the
 * SDK's, and what they drop is counted.
 *
 * Attributes are kept in one flat array, key and value after key and value (`attributeList`): setting one
 * appends two elements (or replaces a value in place), where an object grown key by key changes its hidden
 * class at every new key and makes each store site see many shapes. The span ring writes from that array;
 * ReadableSpan's `attributes` object is made from it when first read (SDK span processors, OTLP encoders).
 */
import {
  diag,
  SpanStatusCode,
  type Attributes,
  type AttributeValue,
  type Exception,
  type HrTime,
  type Link,
  type Span,
  type SpanContext,
  type SpanKind,
  type SpanStatus,
  type TimeInput,
  type TraceState,
} from "@opentelemetry/api";
import type { Resource } from "@opentelemetry/resources";
import { microsSince, sinceEpoch, toHrTime, type Epoch } from "./span-time.js";

/** Limits on what one span keeps (the SDK's span limits; OTEL_SPAN_* variables). */
export interface SpanLimits {
  /** Attributes per span. Default 128. */
  attributeCount: number;
  /** Characters of a string attribute value (longer ones are cut). Default: no limit. */
  attributeValueLength: number;
  /** Events per span (the oldest is dropped). Default 128. */
  eventCount: number;
  /** Links per span (the oldest is dropped). Default 128. */
  linkCount: number;
  /** Attributes per event. Default 128. */
  attributesPerEvent: number;
  /** Attributes per link. Default 128. */
  attributesPerLink: number;
}

/** The SDK's default span limits. */
export const DEFAULT_SPAN_LIMITS: Readonly<SpanLimits> = {
  attributeCount: 128,
  attributeValueLength: Infinity,
  eventCount: 128,
  linkCount: 128,
  attributesPerEvent: 128,
  attributesPerLink: 128,
};

/** The tracer's part of a span: its scope, limits, resource and where the span goes when it ends. */
export interface SpanOwner {
  /** The instrumentation scope (tracer name and version). */
  readonly instrumentationScope: { readonly name: string; readonly version?: string; readonly schemaUrl?: string };
  /** Limits of every span. */
  readonly limits: Readonly<SpanLimits>;
  /** The resource of every span (made on first use). */
  readonly resource: Resource;
  /** Called once when the span ends. */
  finish(span: RecordedSpan): void;
}

/** An event of a recorded span; `time` is computed when read. */
export class RecordedEvent {
  /** Attributes over the per-event limit, dropped. */
  readonly droppedAttributesCount: number;

  constructor(
    /** The event's name. */
    readonly name: string,
    /** The event's attributes. */
    readonly attributes: Attributes | undefined,
    /** When, in microseconds since `epoch`. */
    readonly at: number,
    private readonly epoch: Epoch,
    dropped: number,
  ) {
    this.droppedAttributesCount = dropped;
  }

  /** When, as [seconds, nanoseconds] since the Unix epoch. */
  get time(): HrTime {
    return toHrTime(this.epoch, this.at);
  }
}

/** Attributes as a flat array: a key (string) at each even index, its value at the next index. */
export type AttributeList = (string | AttributeValue)[];

const NO_LINKS: readonly Link[] = Object.freeze([]);
const NO_EVENTS: readonly RecordedEvent[] = Object.freeze([]);
const UNSET: SpanStatus = { code: SpanStatusCode.UNSET };

/** What few spans have — events, links, counts of what the limits dropped — kept apart, made on first use. */
class SpanExtras {
  events: RecordedEvent[] = [];
  links: Link[] = [];
  droppedAttributes = 0;
  droppedEvents = 0;
  droppedLinks = 0;
}

/** Which ids of a span its IdWords fields hold (bits of RecordedSpan.idWords). */
export const enum IdWords {
  /** traceW0..traceW3 hold the trace id. */
  TRACE = 1,
  /** spanW0, spanW1 hold the span id. */
  SPAN = 2,
  /** parentW0, parentW1 hold the parent span id. */
  PARENT = 4,
}

/** A span of the node's recorder: see the file comment. */
export class RecordedSpan implements Span, SpanContext {
  /** Start, in microseconds since `epoch`. */
  readonly startedAt: number;
  /** End, in microseconds since `epoch`; meaningful once `ended`. */
  endedAt = 0;
  /** True once the span ended. */
  ended = false;
  /**
   * The span's attributes, flat: key, value, key, value, … in the order each key was first set; a key occurs
   * once (set again, its value is replaced in place). Values are as kept (valid, strings cut to the limit).
   */
  readonly attributeList: AttributeList = [];
  /** The span's status. */
  status: SpanStatus = UNSET;
  /** Events, links and dropped counts, once the span has any (few spans do): one field per span, not five. */
  private extras: SpanExtras | undefined = undefined;
  /** `attributes` as last made (dropped when an attribute is set). */
  private attributesMade: Attributes | undefined = undefined;
  /**
   * Which ids the words below hold (IdWords bits; 0: none, the hex strings only). The recorder fills them from
   * the ids it makes and from a parent of its own, so the span ring writes those ids without parsing hex.
   */
  idWords = 0;
  /** The trace id as big-endian 32-bit words (IdWords.TRACE). */
  traceW0 = 0;
  traceW1 = 0;
  traceW2 = 0;
  traceW3 = 0;
  /** The span id as big-endian 32-bit words (IdWords.SPAN). */
  spanW0 = 0;
  spanW1 = 0;
  /** The parent span id as big-endian 32-bit words (IdWords.PARENT). */
  parentW0 = 0;
  parentW1 = 0;

  /** A running span; `startedAt` is its start in microseconds since `epoch`. */
  constructor(
    private readonly owner: SpanOwner,
    /** The trace's id (32 hex digits). */
    readonly traceId: string,
    /** The span's id (16 hex digits). */
    readonly spanId: string,
    /** W3C trace flags: SAMPLED or NONE. */
    readonly traceFlags: number,
    /** Vendor trace state carried on, if any. */
    readonly traceState: TraceState | undefined,
    /** The parent's context, when the span has a valid parent. */
    readonly parentSpanContext: SpanContext | undefined,
    /** The span's name. */
    public name: string,
    /** The span's kind. */
    readonly kind: SpanKind,
    /** The wall-clock reading the span's times count from. */
    readonly epoch: Epoch,
    startedAt: number,
  ) {
    this.startedAt = startedAt;
  }

  // ---- the API's Span ----------------------------------------------------------------------------

  /** The span's trace id, span id, flags and trace state: the span itself. */
  spanContext(): SpanContext {
    return this;
  }

  /** Sets one attribute (invalid values are ignored with a diagnostic, as in the SDK). */
  setAttribute(key: string, value: AttributeValue | undefined): this {
    if (value === undefined || value === null || this.ended) return this;
    const kept = validValue(key, value, this.owner.limits.attributeValueLength);
    if (kept === undefined) return this;
    const list = this.attributeList;
    const length = list.length;
    let i = 0;
    while (i < length && list[i] !== key) i += 2;
    if (i < length) list[i + 1] = kept;
    else if (length >= 2 * this.owner.limits.attributeCount) {
      this.extra().droppedAttributes++;
      return this;
    } else list.push(key, kept);
    this.attributesMade = undefined;
    return this;
  }

  /** Sets every attribute of `attributes`. */
  setAttributes(attributes: Attributes): this {
    for (const key in attributes) this.setAttribute(key, attributes[key]);
    return this;
  }

  /** Adds an event (attributes, time or both optional, as in the API). */
  addEvent(name: string, attributesOrTime?: Attributes | TimeInput, time?: TimeInput): this {
    if (this.ended) return this;
    let attributes: Attributes | undefined;
    if (isTimeInput(attributesOrTime)) {
      if (!isTimeInput(time)) time = attributesOrTime;
    } else attributes = attributesOrTime;
    const limits = this.owner.limits;
    const extras = this.extra();
    if (limits.eventCount === 0) {
      extras.droppedEvents++;
      return this;
    }
    const [kept, dropped] = attributes === undefined ? [undefined, 0] : limitedCopy(attributes, limits.attributesPerEvent, limits.attributeValueLength);
    const event = new RecordedEvent(name, kept, time === undefined ? sinceEpoch(this.epoch, performance.now()) : microsSince(this.epoch, time), this.epoch, dropped);
    if (pushBounded(extras.events, event, limits.eventCount)) extras.droppedEvents++;
    return this;
  }

  /** Adds a link to another span. */
  addLink(link: Link): this {
    if (this.ended) return this;
    const limits = this.owner.limits;
    const extras = this.extra();
    if (limits.linkCount === 0) {
      extras.droppedLinks++;
      return this;
    }
    let kept: Link;
    if (link.attributes === undefined) kept = { context: link.context };
    else {
      const [attributes, dropped] = limitedCopy(link.attributes, limits.attributesPerLink, limits.attributeValueLength);
      kept = dropped > 0 ? { context: link.context, attributes, droppedAttributesCount: dropped } : { context: link.context, attributes };
    }
    if (pushBounded(extras.links, kept, limits.linkCount)) extras.droppedLinks++;
    return this;
  }

  /** Adds links to other spans. */
  addLinks(links: Link[]): this {
    for (const link of links) this.addLink(link);
    return this;
  }

  /** Sets the status (UNSET is ignored and OK is final, as in the SDK; a message only with ERROR). */
  setStatus(status: SpanStatus): this {
    if (this.ended || status.code === SpanStatusCode.UNSET || this.status.code === SpanStatusCode.OK) return this;
    this.status = status.code === SpanStatusCode.ERROR && typeof status.message === "string" ? { code: status.code, message: status.message } : { code: status.code };
    return this;
  }

  /** Renames the span. */
  updateName(name: string): this {
    if (!this.ended) this.name = name;
    return this;
  }

  /** Ends the span (now, or at `endTime`) and hands it on; a second end is reported and ignored. */
  end(endTime?: TimeInput): void {
    if (this.ended) {
      diag.error(`${this.name} ${this.traceId}-${this.spanId} - You can only call end() on a span once.`);
      return;
    }
    const end = endTime === undefined ? sinceEpoch(this.epoch, performance.now()) : microsSince(this.epoch, endTime);
    this.endedAt = end < this.startedAt ? this.startedAt : end;
    this.ended = true;
    this.owner.finish(this);
  }

  /** True until the span ends. */
  isRecording(): boolean {
    return !this.ended;
  }

  /** Records an exception as an "exception" event (type, message, stack), as the SDK does. */
  recordException(exception: Exception, time?: TimeInput): void {
    const attributes: Record<string, string> = {};
    if (typeof exception === "string") attributes["exception.message"] = exception;
    else if (exception !== undefined && exception !== null) {
      if (exception.code !== undefined && exception.code !== null && exception.code !== "") attributes["exception.type"] = String(exception.code);
      else if (exception.name) attributes["exception.type"] = exception.name;
      if (exception.message) attributes["exception.message"] = exception.message;
      if (exception.stack) attributes["exception.stacktrace"] = exception.stack;
    }
    if (attributes["exception.type"] !== undefined || attributes["exception.message"] !== undefined) this.addEvent("exception", attributes, time);
    else diag.warn(`Failed to record an exception ${String(exception)}`);
  }

  private extra(): SpanExtras {
    return (this.extras ??= new SpanExtras());
  }

  // ---- the SDK's ReadableSpan -------------------------------------------------------------------

  /** The span's context is local (as a SpanContext). */
  get isRemote(): boolean {
    return false;
  }

  /** The span's events, oldest first. */
  get events(): RecordedEvent[] {
    return this.extras === undefined ? (NO_EVENTS as RecordedEvent[]) : this.extras.events;
  }

  /** The span's links. */
  get links(): Link[] {
    return this.extras === undefined ? (NO_LINKS as Link[]) : this.extras.links;
  }

  /** Attributes over the limit, dropped. */
  get droppedAttributesCount(): number {
    return this.extras === undefined ? 0 : this.extras.droppedAttributes;
  }

  /** Events over the limit, dropped (the oldest go). */
  get droppedEventsCount(): number {
    return this.extras === undefined ? 0 : this.extras.droppedEvents;
  }

  /** Links over the limit, dropped (the oldest go). */
  get droppedLinksCount(): number {
    return this.extras === undefined ? 0 : this.extras.droppedLinks;
  }

  /** The span's attributes as an object (made from `attributeList` when read, then kept until one is set). */
  get attributes(): Attributes {
    let made = this.attributesMade;
    if (made === undefined) {
      made = {};
      const list = this.attributeList;
      for (let i = 0; i < list.length; i += 2) made[list[i] as string] = list[i + 1];
      this.attributesMade = made;
    }
    return made;
  }

  /** Start as [seconds, nanoseconds] since the Unix epoch. */
  get startTime(): HrTime {
    return toHrTime(this.epoch, this.startedAt);
  }

  /** End as [seconds, nanoseconds] since the Unix epoch ([0, 0] while running). */
  get endTime(): HrTime {
    return !this.ended ? [0, 0] : toHrTime(this.epoch, this.endedAt);
  }

  /** How long the span ran, as [seconds, nanoseconds]. */
  get duration(): HrTime {
    if (!this.ended) return [0, 0];
    const us = this.endedAt - this.startedAt;
    return [Math.floor(us / 1e6), (us % 1e6) * 1000];
  }

  /** The resource of the recorder's spans. */
  get resource(): Resource {
    return this.owner.resource;
  }

  /** The tracer's name and version. */
  get instrumentationScope(): SpanOwner["instrumentationScope"] {
    return this.owner.instrumentationScope;
  }
}

/** Appends `item` to `list`, first dropping its oldest when it holds `limit` (≥ 1) items; true when one was dropped. */
function pushBounded<T>(list: T[], item: T, limit: number): boolean {
  const full = list.length >= limit;
  if (full) list.shift();
  list.push(item);
  return full;
}

/** True when `value` is a TimeInput (a number, Date or HrTime) rather than attributes. */
function isTimeInput(value: unknown): value is TimeInput {
  return typeof value === "number" || value instanceof Date || (Array.isArray(value) && value.length === 2 && typeof value[0] === "number" && typeof value[1] === "number");
}

/** A copy of `attributes` with at most `count` valid values (strings cut to `length`), and how many were dropped. */
function limitedCopy(attributes: Attributes, count: number, length: number): [Attributes, number] {
  const out: Record<string, AttributeValue> = {};
  let kept = 0;
  let dropped = 0;
  for (const key in attributes) {
    const value = attributes[key];
    if (value === undefined || value === null) continue;
    const valid = validValue(key, value, length);
    if (valid === undefined) continue;
    if (kept >= count) {
      dropped++;
      continue;
    }
    out[key] = valid;
    kept++;
  }
  return [out, dropped];
}

/**
 * `value` as kept for attribute `key`: a string, number or boolean (strings cut to `length`), or a copy of a
 * homogeneous array of them; undefined (with a diagnostic) when it is none of these or the key is empty.
 */
function validValue(key: string, value: AttributeValue, length: number): AttributeValue | undefined {
  const type = typeof value;
  if (key === "") {
    diag.warn(`Invalid attribute key: ${key}`);
    return undefined;
  }
  if (type === "string") return length < (value as string).length ? (value as string).slice(0, length) : value;
  if (type === "number" || type === "boolean") return value;
  if (Array.isArray(value)) {
    let elementType: string | undefined;
    for (const element of value) {
      if (element === null || element === undefined) continue;
      const t = typeof element;
      if (elementType === undefined && (t === "string" || t === "number" || t === "boolean")) elementType = t;
      else if (t !== elementType) {
        diag.warn(`Invalid attribute value set for key: ${key}`);
        return undefined;
      }
    }
    return (elementType === "string" && length !== Infinity ? value.map((v) => (typeof v === "string" ? v.slice(0, length) : v)) : value.slice()) as AttributeValue;
  }
  diag.warn(`Invalid attribute value set for key: ${key}`);
  return undefined;
}
