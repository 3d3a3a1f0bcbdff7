/**
 * An HTTP/1.1 response read from the bytes of a connection, for the OTLP/HTTP transport (otlp-http-transport.ts):
 * the status line and headers, then the body framed by Content-Length, by chunked transfer coding (RFC 9112
 * §7.1: chunk extensions and trailers are read and ignored) or, with neither, by the end of the connection.
 * Interim 1xx responses are skipped; 204 and 304 have no body. A collector's answers are small (an empty
 * or partial-success ExportTraceServiceResponse), so bytes are kept whole until the response is complete.
 */

/** A complete response. */
export interface Http1Response {
  /** The status code. */
  readonly status: number;
  /** The reason phrase (may be empty). */
  readonly reason: string;
  /** Header values by lowercase name (repeated headers joined with ", "). */
  readonly headers: ReadonlyMap<string, string>;
  /** The body (dechunked). */
  readonly body: Buffer;
  /** True when the connection may carry another request (HTTP/1.1, framed body, no `Connection: close`). */
  readonly keepAlive: boolean;
}

/** The head of a response, as parsed. */
interface Head {
  status: number;
  reason: string;
  headers: Map<string, string>;
  http11: boolean;
}

const CRLF = Buffer.from("\r\n", "latin1");
const HEAD_END = Buffer.from("\r\n\r\n", "latin1");
const STATUS_LINE = /^HTTP\/1\.([01]) (\d{3})(?: (.*))?$/;

/** Reads one response from pushed bytes; see the file comment. Throws an Error on a malformed or oversized response. */
export class Http1ResponseParser {
  private buf: Buffer = Buffer.alloc(0);
  private head: Head | undefined;
  /** Where the body starts in `buf`, once the head is read. */
  private bodyAt = 0;

  /** A parser refusing bodies over `maxBodyBytes` and heads over `maxHeadBytes`. */
  constructor(
    private readonly maxBodyBytes: number,
    private readonly maxHeadBytes = 64 * 1024,
  ) {}

  /** True once any byte arrived. */
  get started(): boolean {
    return this.buf.length > 0 || this.head !== undefined;
  }

  /** Takes `chunk`; returns the response when it is complete. */
  push(chunk: Buffer): Http1Response | undefined {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    for (;;) {
      if (this.head === undefined) {
        const end = this.buf.indexOf(HEAD_END);
        if (end < 0) {
          if (this.buf.length > this.maxHeadBytes) throw new Error(`response head over ${this.maxHeadBytes} bytes`);
          return undefined;
        }
        const head = parseHead(this.buf.toString("latin1", 0, end));
        if (head.status >= 100 && head.status < 200) {
          this.buf = this.buf.subarray(end + 4); // an interim response: the final one follows
          continue;
        }
        this.head = head;
        this.bodyAt = end + 4;
      }
      return this.body(this.head, false);
    }
  }

  /** The connection ended: the response when its body runs to the end, else throws (it was cut short). */
  end(): Http1Response {
    const head = this.head;
    const response = head === undefined ? undefined : this.body(head, true);
    if (response === undefined) throw new Error("the connection closed before the response was complete");
    return response;
  }

  /** The response if its body is complete (`closed`: the connection ended), else undefined. */
  private body(head: Head, closed: boolean): Http1Response | undefined {
    const available = this.buf.length - this.bodyAt;
    if (head.status === 204 || head.status === 304) return done(head, Buffer.alloc(0), true);
    const coding = head.headers.get("transfer-encoding");
    if (coding !== undefined && /(^|,)\s*chunked\s*$/i.test(coding)) return this.chunked(head);
    const length = head.headers.get("content-length");
    if (length !== undefined) {
      if (!/^\d+$/.test(length)) throw new Error(`bad Content-Length ${JSON.stringify(length)}`);
      const n = Number(length);
      if (n > this.maxBodyBytes) throw new Error(`response body over ${this.maxBodyBytes} bytes`);
      return available >= n ? done(head, this.buf.subarray(this.bodyAt, this.bodyAt + n), true) : undefined;
    }
    if (available > this.maxBodyBytes) throw new Error(`response body over ${this.maxBodyBytes} bytes`);
    return closed ? done(head, this.buf.subarray(this.bodyAt), false) : undefined;
  }

  /** The dechunked body once the last chunk and the trailers arrived, else undefined. */
  private chunked(head: Head): Http1Response | undefined {
    const parts: Buffer[] = [];
    let size = 0;
    let at = this.bodyAt;
    for (;;) {
      const lineEnd = this.buf.indexOf(CRLF, at);
      if (lineEnd < 0) return undefined;
      const sizeText = this.buf.toString("latin1", at, lineEnd).split(";")[0].trim();
      if (!/^[0-9a-fA-F]{1,8}$/.test(sizeText)) throw new Error(`bad chunk size ${JSON.stringify(sizeText)}`);
      const n = parseInt(sizeText, 16);
      at = lineEnd + 2;
      if (n === 0) {
        // Trailers up to an empty line.
        for (;;) {
          const end = this.buf.indexOf(CRLF, at);
          if (end < 0) return undefined;
          if (end === at) return done(head, Buffer.concat(parts, size), true);
          at = end + 2;
        }
      }
      size += n;
      if (size > this.maxBodyBytes) throw new Error(`response body over ${this.maxBodyBytes} bytes`);
      if (this.buf.length < at + n + 2) return undefined;
      parts.push(this.buf.subarray(at, at + n));
      at += n + 2;
    }
  }
}

/** The status line and headers of `text` (the head without its final empty line). */
function parseHead(text: string): Head {
  const lines = text.split("\r\n");
  const status = STATUS_LINE.exec(lines[0]);
  if (status === null) throw new Error(`not an HTTP/1.x status line: ${JSON.stringify(lines[0].slice(0, 80))}`);
  const headers = new Map<string, string>();
  for (let i = 1; i < lines.length; i++) {
    const colon = lines[i].indexOf(":");
    if (colon <= 0) throw new Error(`bad header line ${JSON.stringify(lines[i].slice(0, 80))}`);
    const name = lines[i].slice(0, colon).trim().toLowerCase();
    const value = lines[i].slice(colon + 1).trim();
    const before = headers.get(name);
    headers.set(name, before === undefined ? value : `${before}, ${value}`);
  }
  return { status: Number(status[2]), reason: status[3] ?? "", headers, http11: status[1] === "1" };
}

/** The response of `head` with `body`; `framed`: its end was known without the connection closing. */
function done(head: Head, body: Buffer, framed: boolean): Http1Response {
  const connection = head.headers.get("connection")?.toLowerCase() ?? "";
  const keepAlive = framed && head.http11 && !/(^|,)\s*close\s*(,|$)/.test(connection);
  return { status: head.status, reason: head.reason, headers: head.headers, body: Buffer.from(body), keepAlive };
}
