/**
 * What one OTLP/HTTP export request costs the sending node, by transport: the same body (default 235 KB, about
 * 1024 mesh spans; zero bytes, which the receiver's span count walks as empty fields) POSTed again and again, one
 * at a time, to the benchmark's OTLP receiver in a process of its own (servers/otlp-sink.mjs), through
 *
 *   sdk    the SDK's OTLP/HTTP export delegate with its own transport (node:http through a Readable stream);
 *   http   node:http alone (a keep-alive agent, `req.end(body)`);
 *   mesh   the node's exporter (src/telemetry/otlp-exporter.ts: the SDK's delegate over the node's own transport).
 *
 * Transports run interleaved, 5 rounds of N requests each; prints the median CPU time (user + system) of
 * this process per request and the wall time per request.
 *
 *   npm run build && node bench/otlp-transport-cost.mjs [--bytes N] [--requests N]
 */
import { Agent, request } from "node:http";
import { createRequire } from "node:module";
import { parseArgs } from "node:util";
import { newOtlpExporter } from "../dist/src/telemetry/otlp-exporter.js";
import { EncodedSpans } from "../dist/src/telemetry/otlp-records.js";
import { startReceiver } from "./lib/pair.mjs";
import { Processes } from "./lib/processes.mjs";

const USAGE = "Usage: node bench/otlp-transport-cost.mjs [--bytes N] [--requests N]\n";
let values;
try {
  ({ values } = parseArgs({ options: { bytes: { type: "string", default: "235000" }, requests: { type: "string", default: "300" } } }));
} catch (err) {
  process.stderr.write(`${err.message}\n${USAGE}`);
  process.exit(2);
}
const bytes = Number(values.bytes);
const n = Number(values.requests);
if (!Number.isInteger(bytes) || bytes < 1 || !Number.isInteger(n) || n < 1) {
  process.stderr.write(USAGE);
  process.exit(2);
}
const procs = new Processes();
const sink = await startReceiver(procs);
const url = `${sink.ready.endpoint}/v1/traces`;
const body = new Uint8Array(bytes);
const batch = new EncodedSpans(body, 1024);

const load = createRequire(import.meta.url);
const { OTLPExporterBase } = load("@opentelemetry/otlp-exporter-base");
const { convertLegacyHttpOptions, createOtlpHttpExportDelegate } = load("@opentelemetry/otlp-exporter-base/node-http");
const { TraceExporterMetricsHelper } = load("@opentelemetry/otlp-transformer");
const passThrough = { serializeRequest: (b) => b.bytes, deserializeResponse: () => ({}) };
const options = convertLegacyHttpOptions({ url }, "TRACES", "v1/traces", { "Content-Type": "application/x-protobuf" });
const sdk = new OTLPExporterBase(createOtlpHttpExportDelegate(options, passThrough, "otlp_http_span_exporter", TraceExporterMetricsHelper, undefined));
const mesh = newOtlpExporter(url);
const viaExporter = (exporter) => () =>
  new Promise((resolve, reject) => exporter.export(batch, (result) => (result.code === 0 ? resolve() : reject(result.error ?? new Error("export failed")))));
const agent = new Agent({ keepAlive: true });
const viaHttp = () =>
  new Promise((resolve, reject) => {
    const req = request(url, { method: "POST", agent, headers: { "content-type": "application/x-protobuf", "content-length": body.length } }, (res) => {
      res.resume();
      res.on("end", () => (res.statusCode === 200 ? resolve() : reject(new Error(`status ${res.statusCode}`))));
    });
    req.on("error", reject);
    req.end(body);
  });
const transports = { sdk: viaExporter(sdk), http: viaHttp, mesh: viaExporter(mesh) };
const cpu = Object.fromEntries(Object.keys(transports).map((k) => [k, []]));
const wall = Object.fromEntries(Object.keys(transports).map((k) => [k, []]));
for (const send of Object.values(transports)) for (let i = 0; i < 20; i++) await send(); // warm-up
for (let round = 0; round < 5; round++) {
  for (const [name, send] of Object.entries(transports)) {
    const before = process.cpuUsage();
    const started = performance.now();
    for (let i = 0; i < n; i++) await send();
    const used = process.cpuUsage(before);
    cpu[name].push((used.user + used.system) / n);
    wall[name].push(((performance.now() - started) * 1000) / n);
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
for (const name of Object.keys(transports)) {
  process.stdout.write(`${name.padEnd(5)} ${median(cpu[name]).toFixed(0).padStart(5)} µs of CPU per request [${Math.min(...cpu[name]).toFixed(0)}–${Math.max(...cpu[name]).toFixed(0)}], ${median(wall[name]).toFixed(0)} µs wall (${bytes} bytes a request)\n`);
}
await Promise.all([sdk.shutdown(), mesh.shutdown()]);
agent.destroy();
await procs.stopAll();
