/**
 * What tracing costs per span in isolation, in one process: a request's two spans (a CLIENT span whose context
 * is injected into an envelope's trace field, and the SERVER span extracted from it, five mesh attributes each)
 * recorded into the span ring only ("ring"), also queued for export as the ring's records and transcoded to
 * OTLP protobuf for an exporter that discards the bytes ("encode": the export path of an OTLP/protobuf
 * endpoint, without HTTP), queued as span objects for an exporter that encodes them with encodeSpansProto
 * ("encode-objects": the path of a caller's exporter), or exported over OTLP/HTTP to a receiver in this
 * process ("http", receiver included). Prints the median CPU time per request of 9 rounds. Compare with the
 * routed benchmark's per-task figures to see what the multi-process setting adds.
 *
 *   npm run build && node bench/span-cost.mjs ring|encode|encode-objects|http [--requests N]
 */
import { createServer } from "node:http";
import { parseArgs } from "node:util";
import { context, SpanKind } from "@opentelemetry/api";
import { encodeSpansProto } from "../dist/src/telemetry/otlp-proto.js";
import { startTracing } from "../dist/src/telemetry/tracing.js";
import { ATTR_CORRELATION_ID, ATTR_FROM, ATTR_HOPS, ATTR_MESSAGE_TYPE, ATTR_TO, extractTrace, spanTrace } from "../dist/src/protocol/trace-context.js";

const { values, positionals } = parseArgs({ allowPositionals: true, options: { requests: { type: "string", default: "20000" } } });
const mode = positionals[0];
const n = Number(values.requests);
if (!["ring", "encode", "encode-objects", "http"].includes(mode) || !Number.isInteger(n) || n < 1) {
  process.stderr.write("Usage: node bench/span-cost.mjs ring|encode|encode-objects|http [--requests N]\n");
  process.exit(2);
}
let endpoint;
let server;
if (mode === "http") {
  server = createServer((req, res) => {
    req.resume();
    req.on("end", () => res.writeHead(200, { "content-type": "application/x-protobuf" }).end());
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  endpoint = `http://127.0.0.1:${server.address().port}`;
}
const discard = { export: (batch, done) => done({ code: 0 }), shutdown: async () => {}, forceFlush: async () => {} };
const encodeObjects = { export: (spans, done) => (encodeSpansProto(spans), done({ code: 0 })), shutdown: async () => {}, forceFlush: async () => {} };
const tracing = startTracing({
  agentId: "a",
  asyncContext: false,
  env: mode === "http" ? { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_TRACES_SAMPLER: "always_on" } : {},
  ...(mode === "encode" ? { exporter: discard, encodedExport: true } : mode === "encode-objects" ? { exporter: encodeObjects } : {}),
});
const tracer = tracing.tracerProvider.getTracer("agent-mesh");
const attributes = (span, i) => {
  span.setAttribute(ATTR_CORRELATION_ID, `corr-${i & 1023}`);
  span.setAttribute(ATTR_MESSAGE_TYPE, "request");
  span.setAttribute(ATTR_FROM, "node-a");
  span.setAttribute(ATTR_TO, "node-b");
  span.setAttribute(ATTR_HOPS, 1);
};
const request = (i) => {
  const parent = context.active();
  const client = tracer.startSpan("send request", { kind: SpanKind.CLIENT }, parent);
  attributes(client, i);
  const server = tracer.startSpan("handle request", { kind: SpanKind.SERVER }, extractTrace(spanTrace(parent, client)));
  attributes(server, i);
  server.end();
  client.end();
};
const rounds = [];
for (let r = 0; r < 9; r++) {
  const before = process.cpuUsage();
  for (let i = 0; i < n; i++) {
    request(i);
    if ((i & 255) === 0) await new Promise((resolve) => setImmediate(resolve)); // let exports and the receiver run
  }
  await tracing.forceFlush();
  const used = process.cpuUsage(before);
  rounds.push((used.user + used.system) / n);
}
rounds.sort((a, b) => a - b);
const stats = tracing.exportStats();
process.stdout.write(`${mode}: ${rounds[4].toFixed(2)} µs of CPU per request (2 spans) [${rounds[0].toFixed(2)}–${rounds[8].toFixed(2)}]${stats ? `, ${stats.exported} spans exported, ${stats.dropped} dropped` : ""}\n`);
await tracing.shutdown();
server?.close();
