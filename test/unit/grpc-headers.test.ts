import { describe, expect, it } from "vitest";
import { GrpcHeaders } from "../../src/transport/grpc-headers.js";

describe("GrpcHeaders", () => {
  it("behaves as fetch Headers for gRPC metadata: case-insensitive names, joined values, sorted iteration", () => {
    const h = new GrpcHeaders({ "X-B": "2" });
    h.append("x-a", "1");
    h.append("X-A", "one");
    expect(h.get("x-a")).toBe("1, one");
    expect(h.get("X-B")).toBe("2");
    expect(h.get("missing")).toBeNull();
    expect(h.has("x-b")).toBe(true);
    h.set("x-b", "3");
    expect([...h]).toEqual([["x-a", "1, one"], ["x-b", "3"]]);
    expect([...h.keys()]).toEqual(["x-a", "x-b"]);
    expect([...h.values()]).toEqual(["1, one", "3"]);
    const seen: string[] = [];
    h.forEach((v, k) => seen.push(`${k}=${v}`));
    expect(seen).toEqual(["x-a=1, one", "x-b=3"]);
    h.delete("X-A");
    expect(h.toRecord()).toEqual({ "x-b": "3" });
    expect(new Headers(h).get("x-b")).toBe("3");
  });

  it("takes HTTP/2 request headers without the pseudo-headers", () => {
    const h = GrpcHeaders.fromHttp2({ ":path": "/a.B/C", ":method": "POST", "content-type": "application/grpc", "x-many": ["1", "2"] });
    expect([...h.keys()]).toEqual(["content-type", "x-many"]);
    expect(h.get("x-many")).toBe("1, 2");
  });

  it("answers get and has from the HTTP/2 record before its map is made, and the same after", () => {
    const record = { ":path": "/a.B/C", "content-type": "application/grpc", "x-many": ["1", "2"], traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" };
    const h = GrpcHeaders.fromHttp2(record);
    const ask = () => [h.get("X-Many"), h.get("traceparent"), h.get(":path"), h.get("x-absent"), h.has("Content-Type"), h.has(":path"), h.has("x-absent")];
    const before = ask();
    expect(before).toEqual(["1, 2", record.traceparent, null, null, true, false, false]);
    h.set("x-new", "1"); // makes the map: the record's headers and the new one
    expect(ask()).toEqual(before);
    expect(h.toRecord()).toEqual({ "content-type": "application/grpc", "x-many": "1, 2", traceparent: record.traceparent, "x-new": "1" });
    expect(Object.keys(record)).toEqual([":path", "content-type", "x-many", "traceparent"]); // the record itself is left as it was
  });
});
