/**
 * A local OTLP/HTTP trace receiver for the tracing benchmark: accepts POST /v1/traces in either OTLP/HTTP
 * encoding (protobuf or JSON), counts spans and bytes without decoding the whole body (lib/otlp-count.mjs),
 * and answers 200 with an empty ExportTraceServiceResponse in the request's encoding. A bench helper: reports
 * its endpoint over IPC and answers the op `counts` (totals, the same by content type, and its own CPU time so
 * far in microseconds, `cpuUs`).
 */
import { createServer } from "node:http";
import { gunzipSync } from "node:zlib";
import { serveHelper } from "../lib/helper.mjs";
import { countOtlpSpans, PROTOBUF } from "../lib/otlp-count.mjs";

const totals = { spans: 0, bytes: 0, requests: 0 };
/** Content type → { spans, bytes, requests }. */
const byContentType = {};

const server = createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    let body = Buffer.concat(chunks);
    const type = String(req.headers["content-type"] ?? "").split(";")[0].trim();
    const counts = (byContentType[type] ??= { spans: 0, bytes: 0, requests: 0 });
    counts.requests++;
    counts.bytes += body.length;
    totals.requests++;
    totals.bytes += body.length;
    if (req.headers["content-encoding"] === "gzip") body = gunzipSync(body);
    const protobuf = type === PROTOBUF;
    let spans = 0;
    try {
      spans = countOtlpSpans(body, type);
    } catch (err) {
      res.writeHead(400).end(String(err));
      return;
    }
    counts.spans += spans;
    totals.spans += spans;
    if (protobuf) res.writeHead(200, { "content-type": PROTOBUF }).end();
    else res.writeHead(200, { "content-type": "application/json" }).end("{}");
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, "127.0.0.1", () =>
  serveHelper({ endpoint: `http://127.0.0.1:${server.address().port}` }, { counts: async () => ({ ...totals, byContentType, cpuUs: cpuUs() }) }, () => server.close()),
);

/** This process's CPU time (user + system) so far, microseconds. */
function cpuUs() {
  const used = process.cpuUsage();
  return used.user + used.system;
}
