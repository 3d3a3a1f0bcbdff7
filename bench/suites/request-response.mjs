/**
 * Request/response benchmarks, the tracing comparison and the soak, all on one set of processes started
 * side by side: the TCP echo floor, the raw grpc-js echo, a load generator, and pairs of node processes
 * (A routes to B over their peer link; B has `echo`, A has `bench_link`). Every configuration runs once
 * to warm up, then `runs` times, interleaved (the order rotates each round and reverses every other round:
 * lib/stats.mjs roundOrder), so slow drift of a shared machine spreads over all of them.
 *
 * Configurations (concurrency 1 and 64; 64-byte payload each way):
 *   tcp     the floor: length-prefixed TCP echo, one connection, pipelined
 *   grpc    raw grpc-js unary echo, one HTTP/2 connection
 *   connect SubmitTask on the node's server stack (startMeshServer + connect-node) answered at once: no mesh
 *   raw     the same, served by the raw gRPC routes (grpc-unary.ts), as a node serves plain-gRPC client calls
 *   routed  client → SubmitTask on A → link → B runs echo → link → A → client (grpc-js client, one connection)
 *   direct  client → SubmitTask on B, which has echo (local handling)
 *   link    A's in-node load generator → node.request over the link → B answers → A (no client hop)
 * With --compare-bin, a second pair runs from another build (e.g. the commit before a hot-path change) and
 * routed, direct and link run on both, interleaved: before/after figures from the same run.
 * `link` alone (--only link): tcp, grpc and link at concurrency 1 and 64, and link on a pair with tracing off
 * (link-off); with --compare-bin, link and link-off of that build too (pairs of it as shipped and tracing off).
 * Tracing (concurrency 64, routed), on three pairs of its own with the same history: nodes with
 * OTEL_SDK_DISABLED=true (off), as shipped (span ring, on by default), and exporting every span over OTLP/HTTP
 * to a local receiver (batch exporter, always_on sampler).
 * At the end the exporting pair stops gracefully and the spans the receiver got are held against the tasks that
 * pair ran (SPANS_PER_ROUTED_TASK each): a span lost fails the goal.
 */
import { SPANS_PER_ROUTED_TASK, startPair, startReceiver, submitLoad } from "../lib/pair.mjs";
import { ask } from "../lib/processes.mjs";
import { cpuMeter, cpuSeconds, rssMb } from "../lib/proc-stats.mjs";
import { pairedRatios, roundOrder, slope, spread } from "../lib/stats.mjs";
import { PAYLOAD_TEXT } from "../lib/wire.mjs";

/** The tracing configurations: routed load on the pairs with the span ring, tracing off and the OTLP export. */
const TRACING_CONFIGS = new Set(["routed-ring", "routed-off", "routed-otlp"]);

/** Runs the request/response, tracing and soak benchmarks selected in `ctx.only`; resolves with their results. */
export async function requestResponseSuite(ctx) {
  const { procs, only, log } = ctx;
  const rr = only.has("rr");
  const tracing = only.has("tracing");
  const soak = only.has("soak");
  const linkOnly = only.has("link") && !rr;
  const loadgen = await procs.startHelper("loadgen", "lib/loadgen.mjs");
  const tcp = rr || linkOnly ? await procs.startHelper("tcp-echo", "servers/tcp-echo.mjs") : undefined;
  const grpc = rr || linkOnly ? await procs.startHelper("grpc-echo", "servers/grpc-echo.mjs") : undefined;
  const connect = rr ? await procs.startHelper("connect-echo", "servers/connect-echo.mjs") : undefined;
  const raw = rr ? await procs.startHelper("raw-echo", "servers/connect-echo.mjs", ["--raw"]) : undefined;
  const sink = tracing ? await startReceiver(procs) : undefined;
  const pairs = { mesh: await startPair(ctx.procs, "mesh", {}) };
  if (ctx.compareBin !== undefined) pairs.cmp = await startPair(ctx.procs, "cmp", {}, ctx.compareBin);
  // The tracing configurations run on pairs of their own, started together and loaded only by those
  // configurations, so that the three have the same history: the request/response pair's long history
  // (every other load, the soak) makes its span ring cost less than a fresh pair's.
  if (tracing) pairs.ring = await startPair(ctx.procs, "ring", {});
  if (tracing || linkOnly) pairs.off = await startPair(ctx.procs, "off", { OTEL_SDK_DISABLED: "true" });
  if (linkOnly && ctx.compareBin !== undefined) pairs.cmpOff = await startPair(ctx.procs, "cmp-off", { OTEL_SDK_DISABLED: "true" }, ctx.compareBin);
  if (tracing) pairs.otlp = await startPair(ctx.procs, "otlp", { OTEL_EXPORTER_OTLP_ENDPOINT: sink.ready.endpoint, OTEL_TRACES_SAMPLER: "always_on" });
  log(`request/response: processes up (loadgen ${loadgen.pid}${tcp ? `, tcp ${tcp.pid}, grpc ${grpc.pid}` : ""}, nodes ${Object.values(pairs).map((p) => `${p.a.id}/${p.b.id}`).join(", ")})`);

  // Idle RSS: after start-up has settled, before any load.
  await sleep(ctx.settleMs);
  const idleRssMb = { A: rssMb(pairs.mesh.a.pid), B: rssMb(pairs.mesh.b.pid) };
  const cmpIdleRssMb = pairs.cmp === undefined ? undefined : { A: rssMb(pairs.cmp.a.pid), B: rssMb(pairs.cmp.b.pid) };

  const configs = [];
  const m = pairs.mesh;
  let exportedTasks = 0;
  if (rr) {
    for (const c of [1, 64]) {
      configs.push(
        { name: "tcp", c, pids: { loadgen: loadgen.pid, server: tcp.pid }, go: (ms) => ask(loadgen, { op: "run", kind: "tcp", address: `127.0.0.1:${tcp.ready.port}`, concurrency: c, durationMs: ms }, ms + 15_000) },
        { name: "grpc", c, pids: { loadgen: loadgen.pid, server: grpc.pid }, go: (ms) => ask(loadgen, { op: "run", kind: "grpc", address: `127.0.0.1:${grpc.ready.port}`, concurrency: c, durationMs: ms }, ms + 15_000) },
        { name: "connect", c, pids: { loadgen: loadgen.pid, server: connect.pid }, go: (ms) => submitLoad(loadgen, { address: `127.0.0.1:${connect.ready.port}` }, c, ms) },
        { name: "raw", c, pids: { loadgen: loadgen.pid, server: raw.pid }, go: (ms) => submitLoad(loadgen, { address: `127.0.0.1:${raw.ready.port}` }, c, ms) },
        { name: "routed", c, pids: { loadgen: loadgen.pid, A: m.a.pid, B: m.b.pid }, rss: { A: m.a.pid, B: m.b.pid }, go: (ms) => submitLoad(loadgen, m.a, c, ms) },
        { name: "direct", c, pids: { loadgen: loadgen.pid, B: m.b.pid }, rss: { B: m.b.pid }, go: (ms) => submitLoad(loadgen, m.b, c, ms) },
        { name: "link", c, pids: { A: m.a.pid, B: m.b.pid }, rss: { A: m.a.pid, B: m.b.pid }, go: (ms) => linkLoad(loadgen, m, c, ms) },
      );
    }
  }
  if (linkOnly) {
    const link = (name, p) => ({ name, pids: { A: p.a.pid, B: p.b.pid }, rss: { A: p.a.pid, B: p.b.pid }, go: (c) => (ms) => linkLoad(loadgen, p, c, ms) });
    const linkPairs = [link("link", m), link("link-off", pairs.off)];
    if (pairs.cmp !== undefined) linkPairs.push(link("link-cmp", pairs.cmp), link("link-off-cmp", pairs.cmpOff));
    for (const c of [1, 64]) {
      configs.push(
        { name: "tcp", c, pids: { loadgen: loadgen.pid, server: tcp.pid }, go: (ms) => ask(loadgen, { op: "run", kind: "tcp", address: `127.0.0.1:${tcp.ready.port}`, concurrency: c, durationMs: ms }, ms + 15_000) },
        { name: "grpc", c, pids: { loadgen: loadgen.pid, server: grpc.pid }, go: (ms) => ask(loadgen, { op: "run", kind: "grpc", address: `127.0.0.1:${grpc.ready.port}`, concurrency: c, durationMs: ms }, ms + 15_000) },
        ...linkPairs.map((l) => ({ name: l.name, c, pids: l.pids, rss: l.rss, go: l.go(c) })),
      );
    }
  } else if (pairs.cmp !== undefined) {
    const p = pairs.cmp;
    for (const c of [1, 64]) {
      configs.push(
        { name: "routed-cmp", c, pids: { loadgen: loadgen.pid, A: p.a.pid, B: p.b.pid }, rss: { A: p.a.pid, B: p.b.pid }, go: (ms) => submitLoad(loadgen, p.a, c, ms) },
        { name: "direct-cmp", c, pids: { loadgen: loadgen.pid, B: p.b.pid }, rss: { B: p.b.pid }, go: (ms) => submitLoad(loadgen, p.b, c, ms) },
        { name: "link-cmp", c, pids: { A: p.a.pid, B: p.b.pid }, rss: { A: p.a.pid, B: p.b.pid }, go: (ms) => linkLoad(loadgen, p, c, ms) },
      );
      if (!rr) {
        configs.push(
          { name: "routed", c, pids: { loadgen: loadgen.pid, A: m.a.pid, B: m.b.pid }, rss: { A: m.a.pid, B: m.b.pid }, go: (ms) => submitLoad(loadgen, m.a, c, ms) },
          { name: "direct", c, pids: { loadgen: loadgen.pid, B: m.b.pid }, rss: { B: m.b.pid }, go: (ms) => submitLoad(loadgen, m.b, c, ms) },
          { name: "link", c, pids: { A: m.a.pid, B: m.b.pid }, rss: { A: m.a.pid, B: m.b.pid }, go: (ms) => linkLoad(loadgen, m, c, ms) },
        );
      }
    }
  }
  if (tracing) {
    for (const mode of ["ring", "off", "otlp"]) {
      const p = pairs[mode];
      configs.push({ name: `routed-${mode}`, c: 64, pids: { loadgen: loadgen.pid, A: p.a.pid, B: p.b.pid, ...(mode === "otlp" ? { sink: sink.pid } : {}) }, go: (ms) => submitLoad(loadgen, p.a, 64, ms) });
    }
    // Every task the exporting pair runs, warm-ups included: the receiver must get each one's spans.
    const otlp = configs.at(-1);
    const go = otlp.go;
    otlp.go = async (ms) => {
      const r = await go(ms);
      exportedTasks += r.requests;
      return r;
    };
  }

  const samples = new Map(configs.map((cfg) => [key(cfg), []]));
  // Warm-up, not recorded. The tracing pairs get longer: a pair's code is compiled and optimized under load,
  // and the more of it runs per task the longer that takes (from the first request, node A's CPU per task
  // settles after ~4 s with tracing off, ~8 s with the span ring and ~14 s exporting), so shorter warm-ups
  // measure the tracing pairs before their steady state.
  for (const cfg of configs) await measure(cfg, TRACING_CONFIGS.has(cfg.name) ? ctx.tracingWarmupMs : ctx.warmupMs);
  for (let r = 0; r < ctx.runs; r++) {
    for (const cfg of roundOrder(configs, r, 3)) samples.get(key(cfg)).push(await measure(cfg, ctx.runMs));
    log(`request/response: round ${r + 1}/${ctx.runs} done`);
  }
  const results = Object.fromEntries(configs.map((cfg) => [key(cfg), summarise(cfg, samples.get(key(cfg)))]));
  const out = { payloadBytes: PAYLOAD_TEXT.length + 2, runs: ctx.runs, runMs: ctx.runMs, idleRssMb, cmpIdleRssMb, results };
  // The soak, on the request/response pair (the tracing rounds below run on pairs of their own).
  if (soak) out.soak = await soakRun(ctx, loadgen, m);

  // The tracing ratios' own rounds: the three tracing configurations alone, longer runs.
  const tracingConfigs = configs.filter((cfg) => TRACING_CONFIGS.has(cfg.name));
  const tracingRounds = tracingConfigs.length > 0 ? ctx.tracingRounds : 0;
  for (let r = 0; r < tracingRounds; r++) {
    for (const cfg of roundOrder(tracingConfigs, r)) samples.get(key(cfg)).push(await measure(cfg, ctx.tracingRunMs));
    log(`tracing: round ${r + 1}/${tracingRounds} done`);
  }
  for (const cfg of tracingConfigs) results[key(cfg)] = summarise(cfg, samples.get(key(cfg)));
  if (tracing) {
    // Each round's ratio to tracing off (the rounds above and these: the same rounds for the three), whose
    // median the tracing goals take; see lib/stats.mjs pairedRatios.
    const off = samples.get("routed-off@64");
    const paired = {
      "routed-ring@64": pairedRatios(samples.get("routed-ring@64"), off, "rps"),
      "routed-otlp@64": pairedRatios(samples.get("routed-otlp@64"), off, "rps"),
    };
    // The exporting pair stops gracefully first (its nodes export what waits as they shut down), so the
    // receiver's count can be held against the spans of every task it ran.
    await Promise.all([procs.stop(pairs.otlp.a), procs.stop(pairs.otlp.b)]);
    const counts = await ask(sink, { op: "counts" }, 5000);
    out.tracing = { rounds: tracingRounds, runMs: ctx.tracingRunMs, paired, sink: counts, exportedTasks, expectedSpans: exportedTasks * SPANS_PER_ROUTED_TASK };
  }
  await sleep(ctx.settleMs);
  out.idleAfterLoadRssMb = { A: rssMb(m.a.pid), B: rssMb(m.b.pid) };
  return out;
}



/** The in-node link load: one SubmitTask(bench_link) on A, whose handler drives the load to B and reports. */
function linkLoad(loadgen, pair, concurrency, ms) {
  const input = { peer: pair.b.id, concurrency, durationMs: ms, payload: PAYLOAD_TEXT };
  return ask(loadgen, { op: "submit", capability: "bench_link", address: pair.a.address, input, timeoutMs: ms + 15_000 }, ms + 20_000);
}

/** One run of `cfg` for `ms`: the load generator's figures, CPU % of each process, and RSS of the nodes mid-run. */
async function measure(cfg, ms) {
  const meter = cpuMeter(cfg.pids);
  const rss = {};
  const timer = setTimeout(() => {
    for (const [name, pid] of Object.entries(cfg.rss ?? {})) rss[name] = rssMb(pid);
  }, ms / 2);
  const r = await cfg.go(ms);
  clearTimeout(timer);
  const cpu = meter.stop();
  if (r.requests === 0) throw new Error(`${key(cfg)}: no request completed (${r.firstError ?? "no error reported"})`);
  const cpuSecondsTotal = Object.values(cpu.percent).reduce((a, p) => a + (p / 100) * cpu.wallS, 0);
  return { rps: r.rps, p50Us: r.p50Us, p99Us: r.p99Us, errors: r.errors, firstError: r.firstError, cpuPercent: cpu.percent, cpuUsPerRequest: (cpuSecondsTotal * 1e6) / r.requests, rssMb: rss };
}

/** The median and range over the runs of every figure of `cfg`. */
function summarise(cfg, runs) {
  const names = Object.keys(cfg.pids);
  const rssNames = Object.keys(cfg.rss ?? {});
  return {
    name: cfg.name,
    concurrency: cfg.c,
    rps: spread(runs.map((x) => x.rps)),
    rpsRuns: runs.map((x) => Math.round(x.rps)),
    p50Us: spread(runs.map((x) => x.p50Us)),
    p99Us: spread(runs.map((x) => x.p99Us)),
    cpuPercent: Object.fromEntries(names.map((n) => [n, spread(runs.map((x) => x.cpuPercent[n]))])),
    cpuUsPerRequest: spread(runs.map((x) => x.cpuUsPerRequest)),
    loadRssMb: Object.fromEntries(rssNames.map((n) => [n, Math.max(...runs.map((x) => x.rssMb[n] ?? NaN))])),
    errors: runs.reduce((a, x) => a + x.errors, 0),
    firstError: runs.find((x) => x.firstError !== undefined)?.firstError,
  };
}

/**
 * The soak: routed SubmitTask load at concurrency 64 on the main pair for `ctx.soakSeconds`, in chunks of at
 * most 5 s, with both nodes' RSS sampled every second. Growth: median RSS of the last quarter minus that of
 * the second quarter (the first quarter is warm-up), per node; also the least-squares slope over the second half.
 */
async function soakRun(ctx, loadgen, pair) {
  const totalMs = ctx.soakSeconds * 1000;
  const samples = [];
  const started = performance.now();
  const cpuStart = { A: cpuSeconds(pair.a.pid), B: cpuSeconds(pair.b.pid) };
  const sampler = setInterval(() => samples.push({ t: (performance.now() - started) / 1000, A: rssMb(pair.a.pid), B: rssMb(pair.b.pid) }), 1000);
  const chunks = [];
  try {
    for (;;) {
      const left = totalMs - (performance.now() - started);
      if (left < 200) break;
      const r = await submitLoad(loadgen, pair.a, 64, Math.min(5000, left));
      chunks.push({ rps: r.rps, p99Us: r.p99Us, errors: r.errors });
    }
  } finally {
    clearInterval(sampler);
  }
  const wallS = (performance.now() - started) / 1000;
  const quarter = (q, node) => spread(samples.filter((s) => s.t >= (q * wallS) / 4 && s.t < ((q + 1) * wallS) / 4).map((s) => s[node])).median;
  const node = (name) => {
    const second = quarter(1, name);
    const last = quarter(3, name);
    const half = samples.filter((s) => s.t >= wallS / 2);
    return {
      secondQuarterMb: second,
      lastQuarterMb: last,
      growthMb: last - second,
      slopeMbPerMin: slope(half.map((s) => s.t), half.map((s) => s[name])) * 60,
      maxMb: Math.max(...samples.map((s) => s[name])),
    };
  };
  ctx.log(`soak: ${wallS.toFixed(0)} s done`);
  return {
    seconds: wallS,
    rps: spread(chunks.map((c) => c.rps)),
    p99Us: spread(chunks.map((c) => c.p99Us)),
    errors: chunks.reduce((a, c) => a + c.errors, 0),
    cpuPercent: { A: ((cpuSeconds(pair.a.pid) - cpuStart.A) / wallS) * 100, B: ((cpuSeconds(pair.b.pid) - cpuStart.B) / wallS) * 100 },
    rss: { A: node("A"), B: node("B") },
    samples,
  };
}

/** The key of a configuration in the results: NAME@CONCURRENCY. */
function key(cfg) {
  return `${cfg.name}@${cfg.c}`;
}

function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}
