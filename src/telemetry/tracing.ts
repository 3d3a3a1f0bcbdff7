/**
 * Tracing setup with the OpenTelemetry JS SDK, configured by the standard environment variables. Each node
 * process calls startTracing once; it installs a tracer provider whose resource names the agent, W3C trace
 * context and baggage propagators, an AsyncLocalStorage context manager, and up to two span processors:
 *
 * - the span ring (span-ring.ts): the node's recent finished spans, for `agent-mesh trace` without a
 *   collector. On by default (AGENT_MESH_TRACE_RING_SIZE, default 4096; 0 turns it off).
 * - a BatchSpanProcessor with the OTLP/HTTP exporter (JSON), only when OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or
 *   OTEL_EXPORTER_OTLP_ENDPOINT is set. Its batching follows OTEL_BSP_SCHEDULE_DELAY, OTEL_BSP_MAX_QUEUE_SIZE,
 *   OTEL_BSP_MAX_EXPORT_BATCH_SIZE and OTEL_BSP_EXPORT_TIMEOUT; headers and timeouts OTEL_EXPORTER_OTLP_*.
 *
 * With neither (or OTEL_SDK_DISABLED=true) nothing is installed: the mesh's spans are the API's no-ops.
 */
import { context, diag, DiagLogLevel, propagation, trace, type TracerProvider } from "@opentelemetry/api";
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from "@opentelemetry/core";
import type { OTLPTraceExporter as OtlpExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { defaultResource, resourceFromAttributes, type Resource } from "@opentelemetry/resources";
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BasicTracerProvider,
  BatchSpanProcessor,
  ConsoleSpanExporter,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  type Sampler,
  type SpanExporter,
  type SpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { createRequire } from "node:module";
import { Code, MeshError } from "../protocol/errors.js";
import { silentLogger, type Logger } from "../protocol/logger.js";
import { ATTR_AGENT_ID } from "../protocol/trace-context.js";
import { AsyncContextManager } from "./context-manager.js";
import { installNodeTracing, type NodeTracing } from "./node-tracing.js";
import { DEFAULT_SPAN_RING_SIZE, SpanRing } from "./span-ring.js";

/** The service name when OTEL_SERVICE_NAME (and service.name in OTEL_RESOURCE_ATTRIBUTES) is unset. */
export const DEFAULT_SERVICE_NAME = "agent-mesh";

/** Options of startTracing; everything but agentId defaults from the environment. */
export interface TracingOptions {
  /** The agent this process runs: the resource's service.instance.id and agentmesh.agent_id. */
  agentId: string;
  /** Environment to read (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Spans the ring keeps; 0: no ring. Default $AGENT_MESH_TRACE_RING_SIZE, else 4096. */
  ringSize?: number;
  /** Exporter for the batch processor, instead of the one the environment names (tests, benchmarks). */
  exporter?: SpanExporter;
  /** More span processors (e.g. a SimpleSpanProcessor over an InMemorySpanExporter in tests). */
  spanProcessors?: SpanProcessor[];
  /** Sampler instead of the one OTEL_TRACES_SAMPLER names. */
  sampler?: Sampler;
  /** Trace membership and gossip traffic. Default $AGENT_MESH_TRACE_MEMBERSHIP ("true"/"1"), else false. */
  traceMembership?: boolean;
  /**
   * Make this the process's tracer provider (the API global, and the default of nodes created later). Default
   * true. False keeps it private: give it to one AgentNode with `tracing` (several nodes in one process).
   */
  register?: boolean;
  /** Where the SDK's own warnings (e.g. an unreachable collector) go. Default: nowhere. */
  logger?: Logger;
}

/** Tracing as started: what a node uses, plus flushing and shutdown. */
export interface Tracing extends NodeTracing {
  /** True when spans are recorded (a ring or an exporter is on). */
  readonly enabled: boolean;
  /** The ring of recent spans, when kept. */
  readonly spans: SpanRing | undefined;
  /** Where spans are exported over OTLP/HTTP, when they are. */
  readonly exportUrl: string | undefined;
  /** The resource every span carries. */
  readonly resource: Resource;
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
  const traceMembership = options.traceMembership ?? flagFromEnv(env, "AGENT_MESH_TRACE_MEMBERSHIP");
  const resource = tracingResource(options.agentId, env);
  const disabled = flagFromEnv(env, "OTEL_SDK_DISABLED");
  const exportUrl = options.exporter !== undefined || disabled ? undefined : otlpTracesUrl(env);
  const exporter = disabled ? undefined : (options.exporter ?? exporterFromEnv(env, exportUrl));
  const ring = ringSize > 0 && !disabled ? new SpanRing(ringSize, options.agentId) : undefined;
  const processors: SpanProcessor[] = [...(disabled ? [] : (options.spanProcessors ?? []))];
  if (ring !== undefined) processors.push(ring);
  if (exporter !== undefined) processors.push(new BatchSpanProcessor(exporter));
  if (processors.length === 0) {
    return {
      enabled: false,
      tracerProvider: trace.getTracerProvider(),
      spans: undefined,
      traceMembership: false,
      exportUrl: undefined,
      resource,
      forceFlush: () => Promise.resolve(),
      shutdown: () => Promise.resolve(),
    };
  }
  const provider = new BasicTracerProvider({ resource, sampler: options.sampler ?? samplerFromEnv(env), spanProcessors: processors });
  installContextAndPropagation();
  if (options.logger !== undefined && options.logger !== silentLogger) routeDiagnostics(options.logger);
  const register = options.register ?? true;
  let stopped: Promise<void> | undefined;
  const tracing: Tracing = {
    enabled: true,
    tracerProvider: provider as TracerProvider,
    spans: ring,
    traceMembership,
    exportUrl: exporter !== undefined && exporter === otlpExporter ? exportUrl : undefined,
    resource,
    forceFlush: () => provider.forceFlush(),
    shutdown: (timeoutMs = 5000) =>
      (stopped ??= (async () => {
        if (register && registered === provider) {
          trace.disable();
          registered = undefined;
          installNodeTracing(undefined);
        }
        await withDeadline(provider.shutdown(), timeoutMs);
      })()),
  };
  if (register) {
    if (registered !== undefined) trace.disable(); // replaces this module's earlier registration, never another SDK's
    if (trace.setGlobalTracerProvider(provider)) registered = provider;
    installNodeTracing(tracing);
  }
  return tracing;
}

/** The provider this module made the API global, if any. */
let registered: BasicTracerProvider | undefined;

/** Waits for `promise`, at most `ms` (a shutdown must not hang on an unreachable collector); never rejects. */
async function withDeadline(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([promise.catch(() => {}), new Promise<void>((resolve) => (timer = setTimeout(resolve, ms).unref()))]);
  clearTimeout(timer);
}

let contextInstalled = false;

/** Installs the AsyncLocalStorage context manager and the W3C trace context + baggage propagators, once. */
export function installContextAndPropagation(): void {
  if (contextInstalled) return;
  contextInstalled = true;
  context.setGlobalContextManager(new AsyncContextManager().enable());
  propagation.setGlobalPropagator(new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }));
}

/** The sampler OTEL_TRACES_SAMPLER (and OTEL_TRACES_SAMPLER_ARG) names; default parentbased_always_on. */
export function samplerFromEnv(env: NodeJS.ProcessEnv = process.env): Sampler {
  const name = (env.OTEL_TRACES_SAMPLER ?? "").trim().toLowerCase();
  const ratio = (): number => {
    const text = (env.OTEL_TRACES_SAMPLER_ARG ?? "").trim();
    if (text === "") return 1;
    const value = Number(text);
    if (!Number.isFinite(value) || value < 0 || value > 1) {
      throw new MeshError(Code.InvalidArgument, `OTEL_TRACES_SAMPLER_ARG: expected a ratio from 0 to 1, got "${text}"`);
    }
    return value;
  };
  switch (name) {
    case "always_on":
      return new AlwaysOnSampler();
    case "always_off":
      return new AlwaysOffSampler();
    case "traceidratio":
      return new TraceIdRatioBasedSampler(ratio());
    case "":
    case "parentbased_always_on":
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    case "parentbased_always_off":
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case "parentbased_traceidratio":
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio()) });
    default:
      throw new MeshError(
        Code.InvalidArgument,
        `OTEL_TRACES_SAMPLER: "${env.OTEL_TRACES_SAMPLER}" is not one of always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off, parentbased_traceidratio`,
      );
  }
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
 * else "agent-mesh"), the attributes of OTEL_RESOURCE_ATTRIBUTES, service.instance.id and agentmesh.agent_id
 * set to the agent id, and the SDK's own telemetry.sdk.* attributes.
 */
export function tracingResource(agentId: string, env: NodeJS.ProcessEnv = process.env): Resource {
  const attributes = parseResourceAttributes(env.OTEL_RESOURCE_ATTRIBUTES ?? "");
  const serviceName = (env.OTEL_SERVICE_NAME ?? "").trim() || attributes["service.name"] || DEFAULT_SERVICE_NAME;
  return defaultResource().merge(
    resourceFromAttributes({ ...attributes, "service.name": serviceName, "service.instance.id": agentId, [ATTR_AGENT_ID]: agentId }),
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

/** $AGENT_MESH_TRACE_RING_SIZE, else the default 4096. */
export function ringSizeFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const text = (env.AGENT_MESH_TRACE_RING_SIZE ?? "").trim();
  if (text === "") return DEFAULT_SPAN_RING_SIZE;
  const value = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(value) || value > 1_000_000) {
    throw new MeshError(Code.InvalidArgument, `AGENT_MESH_TRACE_RING_SIZE: expected an integer from 0 to 1000000, got "${text}"`);
  }
  return value;
}

/** A boolean environment variable: "true"/"1" or "false"/"0" (any case); unset or empty is false. */
function flagFromEnv(env: NodeJS.ProcessEnv, name: string): boolean {
  const text = (env[name] ?? "").trim().toLowerCase();
  if (text === "" || text === "false" || text === "0") return false;
  if (text === "true" || text === "1") return true;
  throw new MeshError(Code.InvalidArgument, `${name}: expected true or false, got "${env[name]}"`);
}

/** The last OTLP exporter made (to tell it from others). */
let otlpExporter: SpanExporter | undefined;

/**
 * A new OTLP/HTTP exporter to `url`. Its package is loaded only now, when an endpoint is configured: a node
 * that exports nothing does not pay its memory (about 2.5 MB).
 */
function newOtlpExporter(url: string): SpanExporter {
  const { OTLPTraceExporter } = createRequire(import.meta.url)("@opentelemetry/exporter-trace-otlp-http") as { OTLPTraceExporter: typeof OtlpExporter };
  otlpExporter = new OTLPTraceExporter({ url });
  return otlpExporter;
}

/** The exporter OTEL_TRACES_EXPORTER names ("otlp", the default, needs an endpoint; "console"; "none"). */
function exporterFromEnv(env: NodeJS.ProcessEnv, url: string | undefined): SpanExporter | undefined {
  const names = (env.OTEL_TRACES_EXPORTER ?? "").trim().toLowerCase();
  let exporter: SpanExporter | undefined;
  for (const name of names === "" ? ["otlp"] : names.split(",").map((n) => n.trim())) {
    if (name === "none") return undefined;
    if (name === "otlp") {
      if (url !== undefined) exporter = newOtlpExporter(url);
    } else if (name === "console") {
      exporter = new ConsoleSpanExporter();
    } else {
      throw new MeshError(Code.InvalidArgument, `OTEL_TRACES_EXPORTER: "${name}" is not one of otlp, console, none`);
    }
  }
  return exporter;
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
