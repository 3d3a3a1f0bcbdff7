/**
 * startMeshServer's fallback handler loaded on first use: a failed load answers that request with HTTP 500 and
 * the next request loads again.
 */
import * as http2 from "node:http2";
import { afterEach, describe, expect, it } from "vitest";
import { startMeshServer, type MeshServer, type NodeHandlerFn } from "../../src/transport/server.js";

let server: MeshServer | undefined;
afterEach(async () => {
  await server?.close(0);
  server = undefined;
});

/** One GET on a fresh HTTP/2 connection: the status and body. */
async function get(port: number, path: string): Promise<{ status: number; body: string }> {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  try {
    return await new Promise((resolve, reject) => {
      const req = session.request({ ":method": "GET", ":path": path });
      let status = 0;
      let body = "";
      req.on("response", (h) => (status = Number(h[":status"])));
      req.setEncoding("utf8");
      req.on("data", (c: string) => (body += c));
      req.on("end", () => resolve({ status, body }));
      req.on("error", reject);
      req.end();
    });
  } finally {
    session.close();
  }
}

describe("the fallback handler loaded on first use", () => {
  it("answers 500 when loading fails, and loads again for the next request", async () => {
    let attempts = 0;
    const handler = ((_req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => {
      res.writeHead(200, { "content-type": "text/plain" });
      res.end("served");
    }) as unknown as NodeHandlerFn;
    server = await startMeshServer({
      host: "127.0.0.1",
      port: 0,
      flowControlWindowBytes: 65_535,
      loadHandler: async () => {
        if (++attempts === 1) throw new Error("module not found");
        return handler;
      },
    });
    const first = await get(server.port, "/anything");
    expect(first.status).toBe(500);
    expect(first.body).toContain("module not found");
    expect(await get(server.port, "/anything")).toEqual({ status: 200, body: "served" });
    expect(await get(server.port, "/again")).toEqual({ status: 200, body: "served" });
    expect(attempts).toBe(2);
  });
});
