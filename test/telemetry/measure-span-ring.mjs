/**
 * What the span ring costs per span, in-process (not a test: prints figures).
 *
 * 1. encode: ring.onEnd alone, for finished recorded spans shaped like the mesh's (a name from a few, a parent,
 *    the five envelope attributes: correlation id, message type, from, to, hops) and for SDK spans
 *    (BasicTracerProvider) of the same shape: nanoseconds per span, and the record's bytes.
 * 2. lifecycle: start a span, set its attributes, end it into the ring, plus GARBAGE bytes of other short-lived
 *    allocations per span (what a request allocates besides its spans), in a child process under
 *    `node --trace-gc-nvp`: CPU nanoseconds per span, and bytes promoted to the old generation and scavenge
 *    pause per span from V8's GC trace. Modes: no ring (only the last span is held), this build's ring and, with
 *    --compare-dist, another build's ring (e.g. /work/main/dist), interleaved over --cycles.
 *
 * Usage (after `npm run build`): node test/telemetry/measure-span-ring.mjs [--spans N] [--rounds N] [--cycles N]
 *                                  [--garbage BYTES] [--compare-dist DIR]
 */
import { spawn } from "node:child_process";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    spans: { type: "string", default: "200000" },
    rounds: { type: "string", default: "5" },
    cycles: { type: "string", default: "3" },
    garbage: { type: "string", default: "4096" },
    "compare-dist": { type: "string" },
    child: { type: "string" },
    dist: { type: "string" },
  },
});
const SPANS = Number(values.spans);
const ROUNDS = Number(values.rounds);
const here = fileURLToPath(new URL(".", import.meta.url));
const thisDist = resolve(here, "../../dist");

async function load(dist) {
  const [ring, recorder, sampling, tracing, api, sdk] = await Promise.all([
    import(`${dist}/src/telemetry/span-ring.js`),
    import(`${dist}/src/telemetry/span-recorder.js`),
    import(`${dist}/src/telemetry/sampling.js`),
    import(`${dist}/src/telemetry/tracing.js`),
    import("@opentelemetry/api"),
    import("@opentelemetry/sdk-trace-base"),
  ]);
  return { ...ring, ...recorder, ...sampling, ...tracing, api, sdk };
}

const NAMES = ["send task_request", "handle task_request", "receive task_result", "route echo", "run echo"];
const uuid = () => crypto.randomUUID();

/** Sets the mesh's envelope attributes on `span`. */
function envelope(span, i, correlationId) {
  span.setAttribute("agentmesh.correlation_id", correlationId);
  span.setAttribute("agentmesh.message_type", "task_request");
  span.setAttribute("agentmesh.from", "node-a");
  span.setAttribute("agentmesh.to", "node-b");
  span.setAttribute("agentmesh.hops", i & 3);
}

async function parent() {
  const m = await load(thisDist);
  const { SpanRing, SpanRecorder, leanSampler, samplerSpecFromEnv, tracingResource, api, sdk } = m;
  // ---- 1. encode ----
  const ended = [];
  const collect = { onEnd: (s) => void ended.push(s), forceFlush: () => Promise.resolve(), shutdown: () => Promise.resolve() };
  const recorder = new SpanRecorder({ sampler: leanSampler(samplerSpecFromEnv({})), sinks: [collect], resource: () => tracingResource("node-a", {}) });
  const tracer = recorder.getTracer("measure");
  const sdkEnded = [];
  const sdkProvider = new sdk.BasicTracerProvider({ resource: tracingResource("node-a", {}), spanProcessors: [{ onStart() {}, onEnd: (s) => void sdkEnded.push(s), forceFlush: () => Promise.resolve(), shutdown: () => Promise.resolve() }] });
  const sdkTracer = sdkProvider.getTracer("measure");
  const SET = 4096;
  for (let i = 0; i < SET; i++) {
    const correlationId = uuid();
    for (const [t, list] of [[tracer, ended], [sdkTracer, sdkEnded]]) {
      const root = t.startSpan("agentmesh.v1.AgentService/SubmitTask", { kind: api.SpanKind.SERVER });
      const span = t.startSpan(NAMES[i % NAMES.length], { kind: api.SpanKind.PRODUCER }, api.trace.setSpan(api.ROOT_CONTEXT, root));
      envelope(span, i, correlationId);
      span.end();
      root.end();
      list.pop(); // only the child: a root has no parent and no attributes
    }
  }
  if (ended.length !== SET || sdkEnded.length !== SET) throw new Error("unexpected span count");
  const ring = new SpanRing(4096, "node-a");
  const timeEncode = (spans) => {
    const times = [];
    for (let r = 0; r < ROUNDS; r++) {
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < SPANS; i++) ring.onEnd(spans[i & (SET - 1)]);
      times.push(Number(process.hrtime.bigint() - t0) / SPANS);
    }
    return times.sort((a, b) => a - b);
  };
  const recorded = timeEncode(ended);
  const bytesPerRecord = recordBytes(ring, ended);
  const readable = timeEncode(sdkEnded);
  const timed = (fn) => {
    const ms = [];
    let result;
    for (let i = 0; i < 7; i++) {
      const t = performance.now();
      result = fn();
      ms.push(performance.now() - t);
    }
    return { first: ms[0], median: ms.slice(1).sort((a, b) => a - b)[3], result };
  };
  const one = timed(() => ring.query({ correlationId: sdkEnded[SET - 1].attributes["agentmesh.correlation_id"] }).length);
  const all = timed(() => ring.query({}).length);
  const fmt = (xs) => `median ${xs[xs.length >> 1].toFixed(0)} ns [${xs[0].toFixed(0)}–${xs[xs.length - 1].toFixed(0)}]`;
  console.log(`encode (ring.onEnd), ${SPANS} spans × ${ROUNDS} rounds, ring of 4096:`);
  console.log(`  recorded span, 5 envelope attributes: ${fmt(recorded)} per span, ${bytesPerRecord.toFixed(0)} B per record`);
  console.log(`  SDK span, same shape:                 ${fmt(readable)} per span`);
  console.log(`  query by correlation id over 4096 records: ${one.median.toFixed(2)} ms (first ${one.first.toFixed(2)} ms; ${one.result} match)`);
  console.log(`  query of all 4096 as wire spans: ${all.median.toFixed(2)} ms (first ${all.first.toFixed(2)} ms)`);

  // ---- 2. lifecycle ----
  const modes = [["no ring (last span held)", "none", thisDist], ["ring (this build)", "ring", thisDist]];
  if (values["compare-dist"] !== undefined) modes.push([`ring (${values["compare-dist"]})`, "ring", resolve(values["compare-dist"])]);
  const results = new Map(modes.map(([label]) => [label, []]));
  for (let c = 0; c < Number(values.cycles); c++) {
    for (const [label, mode, dist] of modes) results.get(label).push(await runChild(mode, dist));
  }
  console.log(`\nlifecycle: start, 5 attributes, end; + ${values.garbage} B of other garbage per span; ${SPANS} spans per run, ${values.cycles} runs each (medians):`);
  for (const [label, runs] of results) {
    const med = (k) => runs.map((r) => r[k]).sort((a, b) => a - b)[runs.length >> 1];
    console.log(`  ${label.padEnd(34)} CPU ${med("cpuNs").toFixed(0)} ns/span  promoted ${med("promoted").toFixed(1)} B/span  scavenge pause ${med("pauseNs").toFixed(0)} ns/span  (${med("scavenges").toFixed(0)} scavenges, ${med("markCompacts").toFixed(0)} mark-compacts)`);
  }
}

/** Average record bytes: the arena's write position over spans written, measured on a fresh ring. */
function recordBytes(ringLike, spans) {
  const fresh = new ringLike.constructor(spans.length * 4, "node-a");
  for (const s of spans) fresh.onEnd(s);
  return fresh.written / spans.length;
}

function runChild(mode, dist) {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ["--trace-gc-nvp", fileURLToPath(import.meta.url), "--child", mode, "--dist", dist, "--spans", String(SPANS), "--garbage", values.garbage], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.on("error", fail);
    child.on("exit", (code) => {
      if (code !== 0) return fail(new Error(`child ${mode} exited ${code}`));
      const result = JSON.parse(out.split("\n").find((l) => l.startsWith("{")));
      // GC lines after the marker belong to the measured loop.
      const measured = out.slice(out.indexOf("MEASURE-START"), out.indexOf("MEASURE-END"));
      let promoted = 0;
      let pause = 0;
      let scavenges = 0;
      let markCompacts = 0;
      for (const line of measured.split("\n")) {
        const gc = /gc=(\w+)/.exec(line)?.[1];
        if (gc === undefined) continue;
        const p = Number(/promoted=(\d+)/.exec(line)?.[1] ?? 0);
        const ms = Number(/pause=([\d.]+)/.exec(line)?.[1] ?? 0);
        if (gc === "s") {
          scavenges++;
          promoted += p;
          pause += ms;
        } else markCompacts++;
      }
      done({ cpuNs: result.cpuNs, promoted: promoted / SPANS, pauseNs: (pause * 1e6) / SPANS, scavenges, markCompacts });
    });
  });
}

async function child(mode, dist) {
  const m = await load(dist);
  const { SpanRecorder, leanSampler, samplerSpecFromEnv, tracingResource, SpanRing, api } = m;
  // "none": the span goes to a holder of one (so it escapes and is allocated, as spans are in a node).
  const held = [undefined];
  const sink = mode === "ring" ? new SpanRing(4096, "node-a") : { onEnd: (span) => void (held[0] = span), forceFlush: () => Promise.resolve(), shutdown: () => Promise.resolve() };
  const recorder = new SpanRecorder({ sampler: leanSampler(samplerSpecFromEnv({})), sinks: [sink], resource: () => tracingResource("node-a", {}) });
  const tracer = recorder.getTracer("measure");
  const garbage = Number(values.garbage);
  const holder = new Array(16);
  const run = (n) => {
    for (let i = 0; i < n; i++) {
      const correlationId = uuid();
      const span = tracer.startSpan(NAMES[i % NAMES.length], { kind: api.SpanKind.PRODUCER });
      envelope(span, i, correlationId);
      span.end();
      // Other short-lived allocations of a request (buffers, messages, closures).
      for (let g = 0; g < garbage; g += 256) holder[(i + g) & 15] = new Array(30).fill(i);
    }
  };
  run(SPANS / 2); // warm-up: JIT, and the ring full
  const t0 = process.cpuUsage();
  process.stdout.write("MEASURE-START\n");
  run(SPANS);
  process.stdout.write("MEASURE-END\n");
  const cpu = process.cpuUsage(t0);
  process.stdout.write(`${JSON.stringify({ cpuNs: ((cpu.user + cpu.system) * 1000) / SPANS, held: holder.length })}\n`);
}

if (values.child !== undefined) await child(values.child, values.dist);
else await parent();
