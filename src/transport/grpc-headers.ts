/**
 * A small implementation of the fetch `Headers` interface over a plain record, for the raw gRPC paths. Node 20
 * loads its bundled undici (several MB of memory) the first time the global `Headers` is touched; the raw
 * paths hand handlers request and response metadata without touching it. Names are case-insensitive (stored
 * lower-case); several values of one name are joined with ", " as `Headers.get` does. Request metadata
 * (fromHttp2) reads node:http2's header record for `get` and `has` (a call's span reads its trace headers
 * so), and copies it into a map of its own only when another method needs one.
 */
import type * as http2 from "node:http2";


/**
 * respond() options of gRPC responses. `sendDate: false` (honoured by node:http2 though left out of its typings)
 * drops HTTP's date header, which gRPC does not use: a clock read and a formatted date per response, and ICU's
 * time-zone data in the process's memory. Were it ignored, the header would simply be sent.
 */
export const RESPOND_WITH_TRAILERS = Object.freeze({ waitForTrailers: true, sendDate: false }) as http2.ServerStreamResponseOptions;
/** respond() options of a response that ends with its headers (status in them); see RESPOND_WITH_TRAILERS. */
export const RESPOND_AND_END = Object.freeze({ endStream: true, sendDate: false }) as http2.ServerStreamResponseOptions;
/** A `Headers` lookalike: every method of the fetch interface, no undici. */
export class GrpcHeaders implements Headers {
  /** The headers by lower-case name, once made (from `raw` when the headers came from HTTP/2). */
  private made: Map<string, string> | undefined;
  /** The HTTP/2 header record these headers still read from (fromHttp2), until the map is made. */
  private raw: http2.IncomingHttpHeaders | undefined;

  /** Creates headers from name/value pairs (names are lower-cased). */
  constructor(init?: Iterable<readonly [string, string]> | Record<string, string>) {
    if (init === undefined) return;
    const pairs = Symbol.iterator in init ? (init as Iterable<readonly [string, string]>) : Object.entries(init);
    for (const [name, value] of pairs) this.append(name, value);
  }

  /** The metadata of an HTTP/2 request: every header but the pseudo-headers (":path", ":method", ...). */
  static fromHttp2(headers: http2.IncomingHttpHeaders): GrpcHeaders {
    const out = new GrpcHeaders();
    out.raw = headers;
    return out;
  }

  /** The map of the headers, made on first use (copied from the HTTP/2 record, if any). */
  private get map(): Map<string, string> {
    if (this.made !== undefined) return this.made;
    const map = new Map<string, string>();
    const raw = this.raw;
    this.raw = undefined;
    if (raw !== undefined) {
      for (const name in raw) {
        const value = rawValue(raw, name);
        if (value !== undefined) map.set(name, value);
      }
    }
    return (this.made = map);
  }

  /** Adds a value to `name` (after any it has). */
  append(name: string, value: string): void {
    const key = name.toLowerCase();
    const old = this.map.get(key);
    this.map.set(key, old === undefined ? String(value) : `${old}, ${value}`);
  }

  /** Removes `name`. */
  delete(name: string): void {
    this.map.delete(name.toLowerCase());
  }

  /** The value(s) of `name`, or null. */
  get(name: string): string | null {
    const key = name.toLowerCase();
    return (this.raw !== undefined ? rawValue(this.raw, key) : this.map.get(key)) ?? null;
  }

  /** The values of set-cookie, one per element (gRPC metadata has none: at most the one joined value). */
  getSetCookie(): string[] {
    const value = this.map.get("set-cookie");
    return value === undefined ? [] : [value];
  }

  /** True when `name` is present. */
  has(name: string): boolean {
    const key = name.toLowerCase();
    return this.raw !== undefined ? rawValue(this.raw, key) !== undefined : this.map.has(key);
  }

  /** Replaces the value(s) of `name`. */
  set(name: string, value: string): void {
    this.map.set(name.toLowerCase(), String(value));
  }

  /** Calls `callback` for every name, in sorted order as `Headers` does. */
  forEach(callback: (value: string, key: string, parent: Headers) => void, thisArg?: unknown): void {
    for (const [key, value] of this.entries()) callback.call(thisArg, value, key, this);
  }

  /** Name/value pairs, sorted by name. */
  *entries(): IterableIterator<[string, string]> {
    for (const key of [...this.map.keys()].sort()) yield [key, this.map.get(key) as string];
  }

  /** Names, sorted. */
  *keys(): IterableIterator<string> {
    for (const [key] of this.entries()) yield key;
  }

  /** Values, sorted by name. */
  *values(): IterableIterator<string> {
    for (const [, value] of this.entries()) yield value;
  }

  /** Same as entries(). */
  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.entries();
  }

  /** Number of names (not part of `Headers`; cheap emptiness checks). */
  get size(): number {
    return this.map.size;
  }

  /** The headers as an HTTP/2 header record (for respond() and sendTrailers()). */
  toRecord(): Record<string, string> {
    return Object.fromEntries(this.map);
  }
}

/** Header `name` (lower-case) of an HTTP/2 record as metadata: undefined for pseudo-headers and absent ones, several values joined. */
function rawValue(headers: http2.IncomingHttpHeaders, name: string): string | undefined {
  if (name.charCodeAt(0) === 58 /* ":" */) return undefined;
  const value = headers[name];
  return Array.isArray(value) ? value.join(", ") : value;
}
