/**
 * The cost of encoding export requests, per span and in bytes: the mesh's own spans (recorded in-process while
 * node A routes echo tasks to node B over a real peer link) encoded in batches as the export queue sends them,
 * by otlp-proto.ts (OTLP/protobuf from the span objects), otlp-records.ts (OTLP/protobuf from the span ring's
 * records: each span written as a record queued for export, then the batch transcoded — the same bytes as
 * otlp-proto.ts; the row below it writes the records of a ring that exports nothing, which the ring costs
 * anyway), otlp-json.ts (OTLP/JSON) and, for reference, the SDK's protobuf and JSON serializers. Each encoder
 * runs in turn, the order rotating each round; the table gives the median and range over the rounds of
 * nanoseconds per span, and bytes per span.
 *
 * Usage (after `npm run build`): node test/telemetry/otlp-encode-cost.mjs [--tasks 300] [--batch 512] [--rounds 15] [--ms 300]
 */
import { createRequire } from "node:module";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    tasks: { type: "string", default: "300" },
    batch: { type: "string", default: "512" },
    rounds: { type: "string", default: "15" },
    ms: { type: "string", default: "300" },
  },
});
const dist = new URL("../../dist/src/", import.meta.url);
const { AgentNode } = await import(new URL("node/agent-node.js", dist).href);
const { startTracing } = await import(new URL("telemetry/tracing.js", dist).href);
const { encodeSpansProto } = await import(new URL("telemetry/otlp-proto.js", dist).href);
const { encodeSpansJson } = await import(new URL("telemetry/otlp-json.js", dist).href);
const { RecordBacklog } = await import(new URL("telemetry/otlp-records.js", dist).href);
const { SpanRing } = await import(new URL("telemetry/span-ring.js", dist).href);
const { ProtobufTraceSerializer, JsonTraceSerializer } = createRequire(import.meta.url)("@opentelemetry/otlp-transformer");

/** Spans of `tasks` routed echo tasks, as both nodes' export queues would send them. */
async function meshSpans(tasks) {
  const spans = [];
  const exporter = { export: (batch, done) => (spans.push(...batch), done({ code: 0 })), shutdown: () => Promise.resolve(), forceFlush: () => Promise.resolve() };
  const tracing = (id) => startTracing({ agentId: id, register: false, ringSize: 0, exporter, env: { OTEL_TRACES_SAMPLER: "always_on" } });
  const [ta, tb] = [tracing("a"), tracing("b")];
  const a = await AgentNode.start({ id: "a", tracing: ta });
  const b = new AgentNode({ id: "b", tracing: tb, seeds: [a.address] });
  b.announceCapability("echo", (x) => x);
  await b.start();
  while (!a.registry.withCapability("echo").some((x) => x.id === "b")) await new Promise((r) => setTimeout(r, 20));
  for (let i = 0; i < tasks; i++) await a.submit("echo", "x".repeat(62));
  await Promise.all([ta.forceFlush(), tb.forceFlush()]);
  await b.stop();
  await a.stop();
  await Promise.all([ta.shutdown(), tb.shutdown()]);
  return spans;
}

const spans = await meshSpans(Number(values.tasks));
const batchSize = Math.min(Number(values.batch), spans.length);
const batches = [];
for (let i = 0; i + batchSize <= spans.length; i += batchSize) batches.push(spans.slice(i, i + batchSize));
const backlog = new RecordBacklog(new SpanRing(0, "a", 512, batchSize));
const queryRing = new SpanRing(4096, "a");
const encoders = {
  "otlp-proto.ts (protobuf)": encodeSpansProto,
  "otlp-records.ts (protobuf)": (batch) => {
    for (const span of batch) backlog.add(span);
    return backlog.take(batch.length).bytes;
  },
  "  ring records, no export": (batch) => {
    for (const span of batch) queryRing.onEnd(span);
    return { length: 1 };
  },
  "otlp-json.ts (JSON)": encodeSpansJson,
  "SDK ProtobufTraceSerializer": (s) => ProtobufTraceSerializer.serializeRequest(s),
  "SDK JsonTraceSerializer": (s) => JsonTraceSerializer.serializeRequest(s),
};
const names = Object.keys(encoders);
const samples = new Map(names.map((n) => [n, []]));
const bytes = new Map(names.map((n) => [n, encoders[n](batches[0]).length / batches[0].length]));

/** Nanoseconds per span of `encode` over whole batches for about `ms`. */
function time(encode, ms) {
  let n = 0;
  let sink = 0;
  const started = performance.now();
  let elapsed = 0;
  while (elapsed < ms) {
    for (const batch of batches) {
      sink += encode(batch).length;
      n += batch.length;
    }
    elapsed = performance.now() - started;
  }
  if (sink === 0) throw new Error("nothing encoded");
  return (elapsed * 1e6) / n;
}

for (const name of names) time(encoders[name], 200); // warm-up
const rounds = Number(values.rounds);
for (let r = 0; r < rounds; r++) {
  for (let i = 0; i < names.length; i++) {
    const name = names[(i + r) % names.length];
    samples.get(name).push(time(encoders[name], Number(values.ms)));
  }
}
const median = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
console.log(`${spans.length} spans of ${values.tasks} routed echo tasks, batches of ${batchSize}; ${rounds} rounds of ${values.ms} ms per encoder`);
console.log("encoder                        ns/span [min–max]      bytes/span");
for (const name of names) {
  const xs = samples.get(name);
  const size = name.startsWith(" ") ? "" : bytes.get(name).toFixed(0);
  console.log(`${name.padEnd(30)} ${median(xs).toFixed(0).padStart(6)} [${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)}]`.padEnd(54) + size.padStart(6));
}
process.exit(0);
