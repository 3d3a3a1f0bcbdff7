/**
 * The HTTP/1.1 response reader of the OTLP/HTTP transport: bodies framed by Content-Length, by chunked
 * coding (extensions and trailers ignored) or by the connection's end, whatever the bytes' split; interim 1xx
 * responses skipped; keep-alive only for framed HTTP/1.1 responses without `Connection: close`; malformed and
 * oversized responses refused.
 */
import { describe, expect, it } from "vitest";
import { Http1ResponseParser, type Http1Response } from "../../src/telemetry/http1-response.js";

/** Feeds `text` to a new parser in pieces of `step` bytes; the response, or undefined when it never completed. */
function read(text: string, step = Infinity, maxBody = 1024): { response: Http1Response | undefined; parser: Http1ResponseParser } {
  const parser = new Http1ResponseParser(maxBody);
  const bytes = Buffer.from(text, "latin1");
  for (let at = 0; at < bytes.length; at += Math.min(step, bytes.length)) {
    const response = parser.push(bytes.subarray(at, Math.min(bytes.length, at + step)));
    if (response !== undefined) return { response, parser };
  }
  return { response: undefined, parser };
}

describe("Http1ResponseParser", () => {
  it("reads a Content-Length body, in one piece or byte by byte", () => {
    for (const step of [Infinity, 1, 7]) {
      const { response } = read("HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\nContent-Length: 5\r\n\r\nhello", step);
      expect(response?.status).toBe(200);
      expect(response?.reason).toBe("OK");
      expect(response?.headers.get("content-type")).toBe("application/x-protobuf");
      expect(response?.body.toString()).toBe("hello");
      expect(response?.keepAlive).toBe(true);
    }
  });

  it("waits for the whole body", () => {
    const { response, parser } = read("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf");
    expect(response).toBeUndefined();
    expect(parser.started).toBe(true);
    expect(() => parser.end()).toThrow(/closed before the response was complete/);
  });

  it("dechunks a chunked body, ignoring chunk extensions and trailers", () => {
    for (const step of [Infinity, 1, 5]) {
      const { response } = read("HTTP/1.1 400 Bad Request\r\nTransfer-Encoding: chunked\r\n\r\n4;x=y\r\nbad \r\n7\r\nrequest\r\n0\r\nX-Trailer: 1\r\n\r\n", step);
      expect(response?.status).toBe(400);
      expect(response?.reason).toBe("Bad Request");
      expect(response?.body.toString()).toBe("bad request");
      expect(response?.keepAlive).toBe(true);
    }
  });

  it("skips interim responses and reads the final one", () => {
    const { response } = read("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n");
    expect(response?.status).toBe(204);
    expect(response?.body.length).toBe(0);
  });

  it("reads an unframed body to the connection's end, and does not keep that connection", () => {
    const { response, parser } = read("HTTP/1.1 503 Service Unavailable\r\nRetry-After: 2\r\n\r\nlater");
    expect(response).toBeUndefined();
    const end = parser.end();
    expect(end.status).toBe(503);
    expect(end.headers.get("retry-after")).toBe("2");
    expect(end.body.toString()).toBe("later");
    expect(end.keepAlive).toBe(false);
  });

  it("keeps neither a Connection: close response's connection nor an HTTP/1.0 one's", () => {
    expect(read("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n").response?.keepAlive).toBe(false);
    expect(read("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n").response?.keepAlive).toBe(false);
  });

  it("joins repeated headers", () => {
    expect(read("HTTP/1.1 200 OK\r\nX-A: 1\r\nx-a: 2\r\nContent-Length: 0\r\n\r\n").response?.headers.get("x-a")).toBe("1, 2");
  });

  it("refuses what is not an HTTP/1.x response, bad framing and bodies over the limit", () => {
    expect(() => read("SSH-2.0-OpenSSH\r\n\r\n")).toThrow(/not an HTTP\/1.x status line/);
    expect(() => read("HTTP/1.1 200 OK\r\nno colon here\r\n\r\n")).toThrow(/bad header line/);
    expect(() => read("HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n")).toThrow(/bad Content-Length/);
    expect(() => read("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")).toThrow(/bad chunk size/);
    expect(() => read("HTTP/1.1 200 OK\r\nContent-Length: 2000\r\n\r\n")).toThrow(/over 1024 bytes/);
    expect(() => read(`HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n${"400\r\n" + "x".repeat(1024) + "\r\n"}401\r\n`)).toThrow(/over 1024 bytes/);
    const { parser } = read("HTTP/1.1 200 OK\r\n\r\n");
    expect(() => parser.push(Buffer.alloc(2000))).toThrow(/over 1024 bytes/);
  });
});
