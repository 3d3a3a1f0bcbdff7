/**
 * Bounded tables of what recurs in span records: texts (span and event names, agent ids, attribute keys),
 * each stored once and referred to by number — a full table takes nothing more and a text it cannot take is
 * written into the record itself, so a name made per span (an id in it) costs bytes, never table growth — and
 * the instrumentation scopes of exported spans with their resources (a span whose scope a full table cannot
 * take is exported from its object instead).
 */
import type { Resource } from "@opentelemetry/resources";
import type { RecordedSpan } from "./recorded-span.js";

/** Texts a table takes when no other limit is given. */
export const DEFAULT_INTERN_LIMIT = 1024;
/** Longest text (in UTF-16 code units) a table takes; longer ones are written inline. */
export const MAX_INTERNED_LENGTH = 128;

/** A bounded, append-only table of texts; see the file comment. */
export class InternTable {
  private readonly numbers = new Map<string, number>();
  private readonly texts: string[] = [];

  /** A table taking at most `limit` texts of at most `maxLength` code units. */
  constructor(
    readonly limit: number = DEFAULT_INTERN_LIMIT,
    readonly maxLength: number = MAX_INTERNED_LENGTH,
  ) {}

  /** Texts held. */
  get size(): number {
    return this.texts.length;
  }

  /** The number of `text`, added when there is room; -1 when the table is full or the text too long. */
  intern(text: string): number {
    const known = this.numbers.get(text);
    if (known !== undefined) return known;
    if (this.texts.length >= this.limit || text.length > this.maxLength) return -1;
    const n = this.texts.length;
    this.texts.push(text);
    this.numbers.set(text, n);
    return n;
  }

  /** The number of `text` if held, else -1 (nothing is added). */
  find(text: string): number {
    return this.numbers.get(text) ?? -1;
  }

  /** The text numbered `n`. */
  text(n: number): string {
    return this.texts[n];
  }
}

/** Scopes a scope table takes when no other limit is given (one per tracer name and version). */
export const DEFAULT_SCOPE_LIMIT = 256;

/** An instrumentation scope as recorded spans carry it. */
export type InstrumentationScope = RecordedSpan["instrumentationScope"];

/** A scope of exported spans and the resource of its spans. */
export interface ScopeEntry {
  /** The scope (tracer name, version, schema URL). */
  readonly scope: InstrumentationScope;
  /** The resource of the scope's spans. */
  readonly resource: Resource;
}

/** A bounded, append-only table of scopes by identity, each with its spans' resource; see the file comment. */
export class ScopeTable {
  private readonly numbers = new Map<InstrumentationScope, number>();
  private readonly entries: ScopeEntry[] = [];
  /** The scope last asked for and its ref (a node's spans mostly share one tracer). */
  private lastScope: InstrumentationScope | undefined;
  private lastRef = 0;

  /** A table taking at most `limit` scopes. */
  constructor(readonly limit: number = DEFAULT_SCOPE_LIMIT) {}

  /**
   * The ref of `span`'s scope: n+1 for entry n (added, with the span's resource, when there is room), 0 when
   * the table is full. A tracer's spans share one scope object and one resource.
   */
  ref(span: RecordedSpan): number {
    const scope = span.instrumentationScope;
    if (scope === this.lastScope) return this.lastRef;
    let n = this.numbers.get(scope);
    if (n === undefined) {
      if (this.entries.length >= this.limit) return 0;
      n = this.entries.length;
      this.entries.push({ scope, resource: span.resource });
      this.numbers.set(scope, n);
    }
    this.lastScope = scope;
    this.lastRef = n + 1;
    return n + 1;
  }

  /** The entry of ref `ref` (at least 1). */
  entry(ref: number): ScopeEntry {
    return this.entries[ref - 1];
  }
}
