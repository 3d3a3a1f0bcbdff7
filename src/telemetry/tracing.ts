/**
 * Tracing setup, configured by the standard OpenTelemetry environment variables. Each node process calls
 * startTracing once; it installs the node's span recorder (span-recorder.ts: an API TracerProvider with no
 * SDK span machinery) whose spans carry the agent's resource, W3C trace context and baggage propagation
 * (w3c-propagator.ts), a context manager (AsyncLocalStorage or the synchronous one, see context-manager.ts and
 * asyncContextFromEnv), and up to three sinks of finished spans:
 *
 * - the span ring (span-ring.ts): the node's recent finished spans, for `agent-mesh trace` without a
 *   collector. On by default (AGENT_MESH_TRACE_RING_SIZE, default 4096; 0 turns it off), in an arena of
 *   AGENT_MESH_TRACE_RING_SPAN_BYTES (default 512) bytes per span.
 * - the export queue (export-queue.ts) in front of the OTLP/HTTP exporter (otlp-exporter.ts: the SDK's
 *   transport; OTLP/protobuf by default, JSON by otlp-json.ts with OTEL_EXPORTER_OTLP_[TRACES_]PROTOCOL=http/json,
 *   see otlp-protocol.ts), only when OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or OTEL_EXPORTER_OTLP_ENDPOINT is set
 *   (or OTEL_TRACES_EXPORTER=console). For OTLP/protobuf the spans wait as the span ring's records and a batch
 *   is transcoded from them (otlp-records.ts; with AGENT_MESH_TRACE_RING_SIZE=0 the ring keeps only what
 *   waits); otherwise, and for an exporter given in the options, as span objects. Its batching follows
 *   OTEL_BSP_SCHEDULE_DELAY, OTEL_BSP_MAX_QUEUE_SIZE, OTEL_BSP_MAX_EXPORT_BATCH_SIZE and
 *   OTEL_BSP_EXPORT_TIMEOUT; headers, timeouts and compression OTEL_EXPORTER_OTLP_*.
 * - SDK span processors a caller adds (tests: an in-memory exporter); recorded spans are ReadableSpans.
 *
 * The sampler is OTEL_TRACES_SAMPLER's (and _ARG), as lean samplers deciding exactly as the SDK's do
 * (sampling.ts); span limits follow OTEL_SPAN_*_LIMIT. The OpenTelemetry SDK packages (resources, the OTLP
 * exporter's) are loaded only when spans leave the process (an exporter or SDK processors); a node that only
 * keeps its ring loads none of them.
 *
 * With nothing to record into (or OTEL_SDK_DISABLED=true) nothing is installed: the mesh's spans are the API's no-ops.
 */
import { context, diag, DiagLogLevel, propagation, trace, type Sampler, type TracerProvider } from "@opentelemetry/api";
import type { Resource } from "@opentelemetry/resources";
import type { SpanExporter, SpanProcessor } from "@opentelemetry/sdk-trace-base";
import { envFlag, envInt, EnvVarError } from "../protocol/env-vars.js";
import { Code, MeshError } from "../protocol/errors.js";
import { silentLogger, type Logger } from "../protocol/logger.js";
import { ATTR_AGENT_ID } from "../protocol/trace-context.js";
import { AsyncContextManager, noteInstalledContextManager, SyncContextManager } from "./context-manager.js";
import { DEFAULT_EXPORT_QUEUE_CONFIG, ExportQueue, type ExportQueueConfig, type ExportStats } from "./export-queue.js";
import { installNodeTracing, type NodeTracing } from "./node-tracing.js";
import { isAbortable, newOtlpExporter } from "./otlp-exporter.js";
import { otlpTracesProtocol } from "./otlp-protocol.js";
import { RecordBacklog } from "./otlp-records.js";
import { DEFAULT_SPAN_LIMITS, type SpanLimits } from "./recorded-span.js";
import { leanSampler, samplerSpecFromEnv, sdkSampler } from "./sampling.js";
import { sdkResources, sdkTraceBase } from "./sdk.js";
import { DEFAULT_SPAN_RING_SIZE, DEFAULT_SPAN_RING_SPAN_BYTES, SpanRing } from "./span-ring.js";
import { SpanRecorder, type SpanSink } from "./span-recorder.js";
import { W3CPropagator } from "./w3c-propagator.js";

/** The resource's service.namespace unless OTEL_RESOURCE_ATTRIBUTES gives one: the mesh, whose agents are its services. */
export const DEFAULT_SERVICE_NAMESPACE = "agent-mesh";

/** Options of startTracing; everything but agentId defaults from the environment. */
export interface TracingOptions {
  /** The agent this process runs: the resource's service.instance.id and agentmesh.agent_id, and its service.name unless OTEL_SERVICE_NAME gives one. */
  agentId: string;
  /** Environment to read (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Spans the ring keeps; 0: no ring. Default $AGENT_MESH_TRACE_RING_SIZE, else 4096. */
  ringSize?: number;
  /** Arena bytes per span of the ring (the ring's byte budget is ringSize × this). Default $AGENT_MESH_TRACE_RING_SPAN_BYTES, else 512. */
  ringSpanBytes?: number;
  /** Exporter behind the export queue, instead of the one the environment names (tests, benchmarks). */
  exporter?: SpanExporter;
  /**
   * Hand `exporter` each batch as an EncodedSpans (otlp-records.ts: an OTLP/protobuf request transcoded from
   * the span ring's records) rather than as spans. Default false (the OTLP/protobuf exporter the environment
   * names is always handed EncodedSpans).
   */
  encodedExport?: boolean;
  /** SDK span processors that also get every span (e.g. a SimpleSpanProcessor over an InMemorySpanExporter in tests). */
  spanProcessors?: SpanProcessor[];
  /** Sampler instead of the one OTEL_TRACES_SAMPLER names (any object with the API's shouldSample). */
  sampler?: Sampler;
  /** Span limits; default OTEL_SPAN_*_LIMIT, else the SDK's (128 attributes, events, links; no value length limit). */
  spanLimits?: Partial<SpanLimits>;
  /** The export queue's limits and timers; default OTEL_BSP_* (and AGENT_MESH_TRACE_EXPORT_CONCURRENCY), else DEFAULT_EXPORT_QUEUE_CONFIG. */
  exportQueue?: Partial<ExportQueueConfig>;
  /** Trace membership and gossip traffic. Default $AGENT_MESH_TRACE_MEMBERSHIP ("true"/"1"), else false. */
  traceMembership?: boolean;
  /**
   * Let the active span follow async work (AsyncLocalStorage) rather than only synchronous calls; see
   * context-manager.ts for what each keeps and costs. Default: asyncContextFromEnv. The first tracing started
   * in a process decides for all of it.
   */
  asyncContext?: boolean;
  /**
   * Make this the process's tracer provider (the API global, and the default of nodes created later). Default
   * true. False keeps it private: give it to one AgentNode with `tracing` (several nodes in one process).
   */
  register?: boolean;
  /** Where the OpenTelemetry diagnostics (e.g. an unreachable collector, dropped spans) go. Default: nowhere. */
  logger?: Logger;
}

/** Tracing as started: what a node uses, plus flushing and shutdown. */
export interface Tracing extends NodeTracing {
  /** True when spans are recorded (a ring, an exporter or a span processor is on). */
  readonly enabled: boolean;
  /** The ring of recent spans, when kept. */
  readonly spans: SpanRing | undefined;
  /** Where spans are exported over OTLP/HTTP, when they are. */
  readonly exportUrl: string | undefined;
  /** The resource every exported span carries (made on first use: it loads the SDK's resources package). */
  readonly resource: Resource;
  /** What the export queue did so far (exported, dropped, failed); undefined when nothing is exported. */
  exportStats(): ExportStats | undefined;
  /** Exports what is buffered. */
  forceFlush(): Promise<void>;
  /**
   * Flushes (waiting at most `timeoutMs`, default 5000, for the collector), then stops recording and
   * unregisters the provider when it was registered. Harmless twice.
   */
  shutdown(timeoutMs?: number): Promise<void>;
}

/** Starts tracing for agent `agentId` as the environment (and `options`) say; see the file comment. */
export function startTracing(options: TracingOptions): Tracing {
  const env = options.env ?? process.env;
  const ringSize = options.ringSize ?? ringSizeFromEnv(env);
  const ringSpanBytes = options.ringSpanBytes ?? ringSpanBytesFromEnv(env);
  const traceMembership = options.traceMembership ?? flagFromEnv(env, "AGENT_MESH_TRACE_MEMBERSHIP");
  const disabled = flagFromEnv(env, "OTEL_SDK_DISABLED");
  const exportUrl = options.exporter !== undefined || disabled ? undefined : otlpTracesUrl(env);
  const fromEnv = disabled || options.exporter !== undefined ? undefined : exporterFromEnv(env, exportUrl);
  const exporter = disabled ? undefined : (options.exporter ?? fromEnv?.exporter);
  const encoded = exporter !== undefined && (options.exporter !== undefined ? options.encodedExport === true : fromEnv?.encoded === true);
  const processors = disabled ? [] : (options.spanProcessors ?? []);
  const queueConfig = exporter === undefined ? undefined : { ...exportQueueConfigFromEnv(env), ...options.exportQueue };
  // With EncodedSpans the ring's arena is the export queue and the queue writes each span into the ring
  // (otlp-records.ts): the ring is then no sink of its own, and with no ring asked for it keeps only what waits.
  const records = encoded ? new SpanRing(ringSize, options.agentId, ringSpanBytes, queueConfig!.maxQueueSize) : undefined;
  const ring = encoded ? (ringSize > 0 ? records : undefined) : ringSize > 0 && !disabled ? new SpanRing(ringSize, options.agentId, ringSpanBytes) : undefined;
  const queue = exporter === undefined ? undefined : new ExportQueue(exporter, queueConfig, records === undefined ? undefined : new RecordBacklog(records));
  const sinks: SpanSink[] = [...(processors as unknown as SpanSink[])];
  if (ring !== undefined && !encoded) sinks.push(ring);
  if (queue !== undefined) sinks.push(queue);
  let resource: Resource | undefined;
  const resourceOf = () => (resource ??= tracingResource(options.agentId, env));
  if (sinks.length === 0) {
    return {
      enabled: false,
      tracerProvider: trace.getTracerProvider(),
      spans: undefined,
      traceMembership: false,
      exportUrl: undefined,
      get resource() {
        return resourceOf();
      },
      exportStats: () => undefined,
      forceFlush: () => Promise.resolve(),
      shutdown: () => Promise.resolve(),
    };
  }
  // The lean samplers decide as the SDK's do, without the SDK's per-span result objects and id checks.
  const sampler = options.sampler ?? leanSampler(samplerSpecFromEnv(env));
  const limits = { ...spanLimitsFromEnv(env), ...options.spanLimits };
  const provider = new SpanRecorder({ sampler, limits, sinks, resource: resourceOf });
  installContextAndPropagation(options.asyncContext ?? asyncContextFromEnv(env));
  if (options.logger !== undefined && options.logger !== silentLogger) routeDiagnostics(options.logger);
  const register = options.register ?? true;
  let stopped: Promise<void> | undefined;
  const tracing: Tracing = {
    enabled: true,
    tracerProvider: provider,
    spans: ring,
    traceMembership,
    exportUrl: fromEnv?.otlp === true ? exportUrl : undefined,
    get resource() {
      return resourceOf();
    },
    exportStats: () => queue?.stats(),
    forceFlush: () => provider.forceFlush(),
    shutdown: (timeoutMs = 5000) =>
      (stopped ??= (async () => {
        if (register && registered === provider) {
          trace.disable();
          registered = undefined;
          installNodeTracing(undefined);
        }
        // Past the deadline the exports still in flight are given up, so nothing of them keeps the process alive.
        if (!(await withDeadline(provider.shutdown(), timeoutMs)) && isAbortable(exporter)) exporter.abortExports();
      })()),
  };
  if (register) {
    if (registered !== undefined) trace.disable(); // replaces this module's earlier registration, never another SDK's
    if (trace.setGlobalTracerProvider(provider as TracerProvider)) registered = provider;
    installNodeTracing(tracing);
  }
  return tracing;
}

/** The provider this module made the API global, if any. */
let registered: SpanRecorder | undefined;

/**
 * Waits for `promise`, at most `ms` (a shutdown must not hang on an unreachable collector); never rejects.
 * Resolves true when `promise` settled in time. The deadline's timer keeps the process alive meanwhile, so a
 * process that ends after its shutdown gives the flush its whole deadline.
 */
async function withDeadline(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const settled = await Promise.race([promise.then(() => true, () => true), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)))]);
  clearTimeout(timer);
  return settled;
}

let contextInstalled = false;

/**
 * Whether the active span should follow async work: $AGENT_MESH_TRACE_ASYNC_CONTEXT ("true"/"1" or
 * "false"/"0") when set, else whether this runtime's AsyncLocalStorage works without promise hooks
 * (asyncLocalStorageIsCheap): on Node 24 it costs next to nothing, on Node 20 every promise of the process pays
 * for it — there the synchronous manager is the default (the mesh's own spans keep their parents either way).
 */
export function asyncContextFromEnv(env: NodeJS.ProcessEnv = process.env): boolean {
  const text = (env.AGENT_MESH_TRACE_ASYNC_CONTEXT ?? "").trim();
  return text === "" ? asyncLocalStorageIsCheap() : flagFromEnv(env, "AGENT_MESH_TRACE_ASYNC_CONTEXT");
}

/**
 * True when AsyncLocalStorage runs on V8's continuation-preserved data (AsyncContextFrame: the default from
 * Node 24, behind --experimental-async-context-frame in Node 22) rather than on promise hooks.
 */
export function asyncLocalStorageIsCheap(version = process.versions.node, flags = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? "").split(/\s+/)]): boolean {
  if (flags.includes("--no-async-context-frame")) return false;
  return Number(version.split(".")[0]) >= 24 || flags.includes("--experimental-async-context-frame");
}

/**
 * Installs the context manager — AsyncLocalStorage (`asyncContext`, the default here) or the synchronous one
 * (context-manager.ts says what each keeps) — and the W3C trace context + baggage propagator, once per
 * process: the first call decides.
 */
export function installContextAndPropagation(asyncContext = true): void {
  if (contextInstalled) return;
  contextInstalled = true;
  const manager = (asyncContext ? new AsyncContextManager() : new SyncContextManager()).enable();
  if (context.setGlobalContextManager(manager)) noteInstalledContextManager(manager);
  propagation.setGlobalPropagator(new W3CPropagator());
}

/**
 * The SDK sampler OTEL_TRACES_SAMPLER (and OTEL_TRACES_SAMPLER_ARG) names; default parentbased_always_on.
 * Loads @opentelemetry/sdk-trace-base.
 */
export function samplerFromEnv(env: NodeJS.ProcessEnv = process.env): Sampler {
  return sdkSampler(samplerSpecFromEnv(env));
}

/**
 * The OTLP/HTTP traces URL: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT as is, else OTEL_EXPORTER_OTLP_ENDPOINT with
 * "/v1/traces" appended; undefined when neither is set (exporting is off).
 */
export function otlpTracesUrl(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const signal = (env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? "").trim();
  const base = (env.OTEL_EXPORTER_OTLP_ENDPOINT ?? "").trim();
  const [name, url] = signal !== "" ? ["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", signal] : base !== "" ? ["OTEL_EXPORTER_OTLP_ENDPOINT", `${base.replace(/\/+$/, "")}/v1/traces`] : [];
  if (name === undefined || url === undefined) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new MeshError(Code.InvalidArgument, `${name}: not a URL: "${name === "OTEL_EXPORTER_OTLP_ENDPOINT" ? base : signal}"`);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new MeshError(Code.InvalidArgument, `${name}: expected an http:// or https:// URL, got "${url}"`);
  }
  return url;
}

/**
 * The resource of agent `agentId`'s spans: service.name from OTEL_SERVICE_NAME (else OTEL_RESOURCE_ATTRIBUTES,
 * else the agent id, so each agent is a service of its own in Jaeger and the like), service.namespace
 * "agent-mesh" unless OTEL_RESOURCE_ATTRIBUTES gives one, the attributes of OTEL_RESOURCE_ATTRIBUTES,
 * service.instance.id and agentmesh.agent_id set to the agent id, and the SDK's own telemetry.sdk.* attributes.
 */
export function tracingResource(agentId: string, env: NodeJS.ProcessEnv = process.env): Resource {
  const attributes = parseResourceAttributes(env.OTEL_RESOURCE_ATTRIBUTES ?? "");
  const serviceName = (env.OTEL_SERVICE_NAME ?? "").trim() || attributes["service.name"] || agentId;
  const serviceNamespace = attributes["service.namespace"] || DEFAULT_SERVICE_NAMESPACE;
  const { defaultResource, resourceFromAttributes } = sdkResources();
  return defaultResource().merge(
    resourceFromAttributes({
      ...attributes,
      "service.name": serviceName,
      "service.namespace": serviceNamespace,
      "service.instance.id": agentId,
      [ATTR_AGENT_ID]: agentId,
    }),
  );
}

/** OTEL_RESOURCE_ATTRIBUTES ("key=value,key2=value2", values percent-encoded) as a record. */
export function parseResourceAttributes(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of text.split(",")) {
    if (item.trim() === "") continue;
    const eq = item.indexOf("=");
    const key = eq < 0 ? "" : item.slice(0, eq).trim();
    if (key === "") throw new MeshError(Code.InvalidArgument, `OTEL_RESOURCE_ATTRIBUTES: expected key=value pairs separated by commas, got "${item}"`);
    let value: string;
    try {
      value = decodeURIComponent(item.slice(eq + 1).trim());
    } catch {
      throw new MeshError(Code.InvalidArgument, `OTEL_RESOURCE_ATTRIBUTES: bad percent-encoding in the value of "${key}"`);
    }
    out[key] = value;
  }
  return out;
}

/** $AGENT_MESH_TRACE_RING_SIZE (0 to 1000000), else the default 4096. */
export function ringSizeFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  return intFromEnv(env, "AGENT_MESH_TRACE_RING_SIZE", 0, 1_000_000) ?? DEFAULT_SPAN_RING_SIZE;
}

/** Smallest and largest AGENT_MESH_TRACE_RING_SPAN_BYTES. */
const RING_SPAN_BYTES_RANGE = [64, 65_536] as const;

/** $AGENT_MESH_TRACE_RING_SPAN_BYTES (arena bytes per span of the ring, 64 to 65536), else the default 512. */
export function ringSpanBytesFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  return intFromEnv(env, "AGENT_MESH_TRACE_RING_SPAN_BYTES", ...RING_SPAN_BYTES_RANGE) ?? DEFAULT_SPAN_RING_SPAN_BYTES;
}

/** A boolean environment variable (envFlag); unset or empty is false; malformed, INVALID_ARGUMENT. */
function flagFromEnv(env: NodeJS.ProcessEnv, name: string): boolean {
  return invalidArgument(() => envFlag(env, name)) ?? false;
}

/**
 * The exporter OTEL_TRACES_EXPORTER names ("otlp", the default, needs an endpoint and speaks the protocol
 * otlpTracesProtocol reads; "console"; "none"; the last named wins), whether it is the OTLP exporter, and
 * whether it takes EncodedSpans (OTLP/protobuf).
 */
function exporterFromEnv(env: NodeJS.ProcessEnv, url: string | undefined): { exporter: SpanExporter | undefined; otlp: boolean; encoded: boolean } {
  const names = (env.OTEL_TRACES_EXPORTER ?? "").trim().toLowerCase();
  let chosen: { exporter: SpanExporter | undefined; otlp: boolean; encoded: boolean } = { exporter: undefined, otlp: false, encoded: false };
  for (const name of names === "" ? ["otlp"] : names.split(",").map((n) => n.trim())) {
    if (name === "none") return { exporter: undefined, otlp: false, encoded: false };
    if (name === "otlp") {
      if (url !== undefined) {
        const protocol = otlpTracesProtocol(env);
        chosen = { exporter: newOtlpExporter(url, protocol), otlp: true, encoded: protocol === "http/protobuf" };
      }
    } else if (name === "console") {
      chosen = { exporter: new (sdkTraceBase().ConsoleSpanExporter)(), otlp: false, encoded: false };
    } else {
      throw new MeshError(Code.InvalidArgument, `OTEL_TRACES_EXPORTER: "${name}" is not one of otlp, console, none`);
    }
  }
  return chosen;
}

/** An integer environment variable from `min` to `max` (envInt); undefined when unset or empty; malformed, INVALID_ARGUMENT. */
function intFromEnv(env: NodeJS.ProcessEnv, name: string, min: number, max: number): number | undefined {
  return invalidArgument(() => envInt(env, name, min, max));
}

/** What `read` returns; an EnvVarError it throws as a MeshError INVALID_ARGUMENT with the same message. */
function invalidArgument<T>(read: () => T): T {
  try {
    return read();
  } catch (err) {
    throw err instanceof EnvVarError ? new MeshError(Code.InvalidArgument, err.message) : err;
  }
}

/**
 * Span limits from OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT (else OTEL_ATTRIBUTE_COUNT_LIMIT),
 * OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT (else OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT), OTEL_SPAN_EVENT_COUNT_LIMIT,
 * OTEL_SPAN_LINK_COUNT_LIMIT, OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT and OTEL_LINK_ATTRIBUTE_COUNT_LIMIT; the SDK's
 * defaults (DEFAULT_SPAN_LIMITS) for those unset.
 */
export function spanLimitsFromEnv(env: NodeJS.ProcessEnv = process.env): SpanLimits {
  const n = (name: string) => intFromEnv(env, name, 0, 1_000_000_000);
  const d = DEFAULT_SPAN_LIMITS;
  return {
    attributeCount: n("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT") ?? n("OTEL_ATTRIBUTE_COUNT_LIMIT") ?? d.attributeCount,
    attributeValueLength: n("OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT") ?? n("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT") ?? d.attributeValueLength,
    eventCount: n("OTEL_SPAN_EVENT_COUNT_LIMIT") ?? d.eventCount,
    linkCount: n("OTEL_SPAN_LINK_COUNT_LIMIT") ?? d.linkCount,
    attributesPerEvent: n("OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT") ?? d.attributesPerEvent,
    attributesPerLink: n("OTEL_LINK_ATTRIBUTE_COUNT_LIMIT") ?? d.attributesPerLink,
  };
}

/**
 * The export queue's limits and timers from OTEL_BSP_MAX_QUEUE_SIZE, OTEL_BSP_MAX_EXPORT_BATCH_SIZE,
 * OTEL_BSP_SCHEDULE_DELAY, OTEL_BSP_EXPORT_TIMEOUT and AGENT_MESH_TRACE_EXPORT_CONCURRENCY; the defaults
 * (DEFAULT_EXPORT_QUEUE_CONFIG: the SDK's timers, twice its batch and queue, 2 exports in flight) for those unset.
 */
export function exportQueueConfigFromEnv(env: NodeJS.ProcessEnv = process.env): ExportQueueConfig {
  const d = DEFAULT_EXPORT_QUEUE_CONFIG;
  return {
    maxQueueSize: intFromEnv(env, "OTEL_BSP_MAX_QUEUE_SIZE", 1, 10_000_000) ?? d.maxQueueSize,
    maxExportBatchSize: intFromEnv(env, "OTEL_BSP_MAX_EXPORT_BATCH_SIZE", 1, 10_000_000) ?? d.maxExportBatchSize,
    scheduledDelayMs: intFromEnv(env, "OTEL_BSP_SCHEDULE_DELAY", 0, 3_600_000) ?? d.scheduledDelayMs,
    exportTimeoutMs: intFromEnv(env, "OTEL_BSP_EXPORT_TIMEOUT", 1, 3_600_000) ?? d.exportTimeoutMs,
    maxConcurrentExports: intFromEnv(env, "AGENT_MESH_TRACE_EXPORT_CONCURRENCY", 1, 64) ?? d.maxConcurrentExports,
  };
}

let diagnosticsRouted = false;

/** Sends the SDK's warnings and errors (failed exports, dropped spans) to `logger`, once per process. */
function routeDiagnostics(logger: Logger): void {
  if (diagnosticsRouted) return;
  diagnosticsRouted = true;
  const log = logger.child({ component: "opentelemetry" });
  const line = (level: "warn" | "error") => (message: string, ...args: unknown[]) => log[level](args.length > 0 ? { detail: args.map(String).join(" ") } : {}, message);
  diag.setLogger({ error: line("error"), warn: line("warn"), info: () => {}, debug: () => {}, verbose: () => {} }, DiagLogLevel.WARN);
}
