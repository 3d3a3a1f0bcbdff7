/**
 * A local OTLP/HTTP trace receiver for the tracing benchmark: accepts POST /v1/traces (JSON, as the nodes'
 * exporter sends it), counts spans and bytes without decoding the whole body, answers 200 with `{}`. A bench
 * helper: reports its endpoint over IPC and answers the op `counts`.
 */
import { createServer } from "node:http";
import { serveHelper } from "../lib/helper.mjs";

let spans = 0;
let bytes = 0;
let requests = 0;
const SPAN_KEY = Buffer.from('"spanId"');

const server = createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    const body = Buffer.concat(chunks);
    requests++;
    bytes += body.length;
    for (let i = body.indexOf(SPAN_KEY); i >= 0; i = body.indexOf(SPAN_KEY, i + SPAN_KEY.length)) spans++;
    res.writeHead(200, { "content-type": "application/json" }).end("{}");
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, "127.0.0.1", () =>
  serveHelper({ endpoint: `http://127.0.0.1:${server.address().port}` }, { counts: async () => ({ spans, bytes, requests }) }, () => server.close()),
);
