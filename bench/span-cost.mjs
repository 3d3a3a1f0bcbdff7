/**
 * What tracing costs per span in isolation, in one process: a request's two spans (a CLIENT span whose context
 * is injected into an envelope's trace field, and the SERVER span extracted from it, five mesh attributes each)
 * recorded into the span ring only ("ring"), also queued for export as the ring's records and transcoded to
 * OTLP protobuf for an exporter that discards the bytes ("encode": the export path of an OTLP/protobuf
 * endpoint, without HTTP), queued as span objects for an exporter that encodes them with encodeSpansProto
 * ("encode-objects": the path of a caller's exporter), exported over OTLP/HTTP to a receiver in this
 * process ("http", receiver included), or to the benchmark's receiver in a process of its own
 * (servers/otlp-sink.mjs; "http-remote": the sender's CPU and the receiver's are given apart, as in the routed
 * benchmark, where loopback TCP between two processes costs each side per byte). Prints the median CPU time per request of 9 rounds, and the OTLP bytes
 * per span the receiver got. `--extra N` sets N more attributes on every span, each a 36-character id (as the
 * mesh's correlation and task ids are): two runs that differ only in N give what one such attribute costs, for
 * the sender and for the receiver. Compare with the routed benchmark's per-task figures to see what the
 * multi-process setting adds.
 *
 *   npm run build && node bench/span-cost.mjs ring|encode|encode-objects|http|http-remote [--requests N] [--extra N]
 */
import { createServer } from "node:http";
import { parseArgs } from "node:util";
import { context, SpanKind } from "@opentelemetry/api";
import { encodeSpansProto } from "../dist/src/telemetry/otlp-proto.js";
import { startTracing } from "../dist/src/telemetry/tracing.js";
import { ATTR_CORRELATION_ID, ATTR_FROM, ATTR_HOPS, ATTR_MESSAGE_TYPE, ATTR_TO, extractTrace, spanTrace } from "../dist/src/protocol/trace-context.js";
import { startReceiver } from "./lib/pair.mjs";
import { ask, Processes } from "./lib/processes.mjs";

const USAGE = "Usage: node bench/span-cost.mjs ring|encode|encode-objects|http|http-remote [--requests N] [--extra N]\n";
let values;
let positionals;
try {
  ({ values, positionals } = parseArgs({ allowPositionals: true, options: { requests: { type: "string", default: "20000" }, extra: { type: "string", default: "0" } } }));
} catch (err) {
  process.stderr.write(`${err.message}\n${USAGE}`);
  process.exit(2);
}
const mode = positionals[0];
const n = Number(values.requests);
const extra = Number(values.extra);
if (!["ring", "encode", "encode-objects", "http", "http-remote"].includes(mode) || !Number.isInteger(n) || n < 1 || !Number.isInteger(extra) || extra < 0 || extra > 100) {
  process.stderr.write(USAGE);
  process.exit(2);
}
/** The extra attributes' keys, and 1024 distinct ids for their values. */
const extraKeys = Array.from({ length: extra }, (_, k) => `bench.extra_${k}`);
const ids = Array.from({ length: 1024 }, () => crypto.randomUUID());
let endpoint;
let server;
/** http-remote: the benchmark's OTLP receiver (servers/otlp-sink.mjs), in a process of its own. */
const procs = new Processes();
let remote;
if (mode === "http") {
  server = createServer((req, res) => {
    req.resume();
    req.on("end", () => res.writeHead(200, { "content-type": "application/x-protobuf" }).end());
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  endpoint = `http://127.0.0.1:${server.address().port}`;
} else if (mode === "http-remote") {
  remote = await startReceiver(procs);
  endpoint = remote.ready.endpoint;
}
/** The receiver's CPU time (µs) and bytes read so far. */
const receiverCounts = () => ask(remote, { op: "counts" }, 5000);
const discard = { export: (batch, done) => done({ code: 0 }), shutdown: async () => {}, forceFlush: async () => {} };
const encodeObjects = { export: (spans, done) => (encodeSpansProto(spans), done({ code: 0 })), shutdown: async () => {}, forceFlush: async () => {} };
const tracing = startTracing({
  agentId: "a",
  asyncContext: false,
  env: mode.startsWith("http") ? { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_TRACES_SAMPLER: "always_on" } : {},
  ...(mode === "encode" ? { exporter: discard, encodedExport: true } : mode === "encode-objects" ? { exporter: encodeObjects } : {}),
});
const tracer = tracing.tracerProvider.getTracer("agent-mesh");
const attributes = (span, i) => {
  span.setAttribute(ATTR_CORRELATION_ID, `corr-${i & 1023}`);
  span.setAttribute(ATTR_MESSAGE_TYPE, "request");
  span.setAttribute(ATTR_FROM, "node-a");
  span.setAttribute(ATTR_TO, "node-b");
  span.setAttribute(ATTR_HOPS, 1);
  for (let k = 0; k < extra; k++) span.setAttribute(extraKeys[k], ids[(i + k) & 1023]);
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
const received = [];
for (let r = 0; r < 9; r++) {
  const before = process.cpuUsage();
  const remoteBefore = remote === undefined ? undefined : await receiverCounts();
  for (let i = 0; i < n; i++) {
    request(i);
    if ((i & 255) === 0) {
      await new Promise((resolve) => setImmediate(resolve)); // let exports and the receiver run
      // Wait while the queue is past half full: the spans are exported, none dropped, whatever the receiver's pace.
      while ((tracing.exportStats()?.queued ?? 0) > 2048) await new Promise((resolve) => setTimeout(resolve, 1));
    }
  }
  await tracing.forceFlush();
  const used = process.cpuUsage(before);
  rounds.push((used.user + used.system) / n);
  if (remote !== undefined) {
    const after = await receiverCounts();
    received.push({ cpuUs: (after.cpuUs - remoteBefore.cpuUs) / n, bytesPerSpan: (after.bytes - remoteBefore.bytes) / (2 * n) });
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const sorted = [...rounds].sort((a, b) => a - b);
const stats = tracing.exportStats();
const remoteText = remote === undefined ? "" : `; the receiver: ${median(received.map((x) => x.cpuUs)).toFixed(2)} µs per request, ${median(received.map((x) => x.bytesPerSpan)).toFixed(0)} bytes of OTLP per span`;
process.stdout.write(`${mode}${extra > 0 ? ` (${extra} extra attributes)` : ""}: ${sorted[4].toFixed(2)} µs of CPU per request (2 spans) [${sorted[0].toFixed(2)}–${sorted[8].toFixed(2)}]${remoteText}${stats ? `, ${stats.exported} spans exported, ${stats.dropped} dropped` : ""}\n`);
await tracing.shutdown();
server?.close();
await procs.stopAll();
