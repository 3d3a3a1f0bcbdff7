/**
 * A bounded table of the few texts that recur in span records (span names, agent ids, attribute keys): each is
 * stored once and a record refers to it by number. Full tables take nothing more; a text they cannot take is
 * written into the record itself, so a name made per span (an id in it) costs bytes, never table growth.
 */

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
