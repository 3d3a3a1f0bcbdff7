/**
 * Sampling as OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG name it: the variables read once into a
 * SamplerSpec, then lean samplers over the API's Sampler interface that decide exactly as the SDK's do (same
 * trace-id ratio arithmetic, same parent rules) without loading the SDK or allocating per span; the SDK's
 * samplers for the same spec (sdkSampler, samplerFromEnv) are there for callers who want them.
 */
import { isSpanContextValid, SamplingDecision, trace, TraceFlags, type Attributes, type Context, type Link, type Sampler, type SamplingResult, type SpanKind } from "@opentelemetry/api";
import { Code, MeshError } from "../protocol/errors.js";
import { knownValid } from "./span-recorder.js";
import { sdkTraceBase } from "./sdk.js";

/** The sampler names OTEL_TRACES_SAMPLER accepts. */
export const SAMPLER_NAMES = ["always_on", "always_off", "traceidratio", "parentbased_always_on", "parentbased_always_off", "parentbased_traceidratio"] as const;

/** A sampler as the environment names it. */
export interface SamplerSpec {
  /** The sampler (default parentbased_always_on). */
  readonly name: (typeof SAMPLER_NAMES)[number];
  /** The ratio of the traceidratio samplers, 0 to 1 (default 1). */
  readonly ratio: number;
}

/** OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG as a SamplerSpec; INVALID_ARGUMENT naming the variable when malformed. */
export function samplerSpecFromEnv(env: NodeJS.ProcessEnv = process.env): SamplerSpec {
  const text = (env.OTEL_TRACES_SAMPLER ?? "").trim().toLowerCase();
  const name = text === "" ? "parentbased_always_on" : text;
  if (!(SAMPLER_NAMES as readonly string[]).includes(name)) {
    throw new MeshError(Code.InvalidArgument, `OTEL_TRACES_SAMPLER: "${env.OTEL_TRACES_SAMPLER}" is not one of ${SAMPLER_NAMES.join(", ")}`);
  }
  let ratio = 1;
  if (name.endsWith("traceidratio")) {
    const arg = (env.OTEL_TRACES_SAMPLER_ARG ?? "").trim();
    if (arg !== "") {
      ratio = Number(arg);
      if (!Number.isFinite(ratio) || ratio < 0 || ratio > 1) {
        throw new MeshError(Code.InvalidArgument, `OTEL_TRACES_SAMPLER_ARG: expected a ratio from 0 to 1, got "${arg}"`);
      }
    }
  }
  return { name: name as SamplerSpec["name"], ratio };
}

/** The SDK's sampler for `spec` (loads @opentelemetry/sdk-trace-base). */
export function sdkSampler(spec: SamplerSpec): Sampler {
  const sdk = sdkTraceBase();
  const root = (base: string): Sampler =>
    base === "always_on" ? new sdk.AlwaysOnSampler() : base === "always_off" ? new sdk.AlwaysOffSampler() : new sdk.TraceIdRatioBasedSampler(spec.ratio);
  return spec.name.startsWith("parentbased_") ? new sdk.ParentBasedSampler({ root: root(spec.name.slice("parentbased_".length)) }) : root(spec.name);
}

/** A lean sampler for `spec` deciding as the SDK's does (no SDK loaded). */
export function leanSampler(spec: SamplerSpec): Sampler {
  const root = (base: string): Sampler => (base === "always_on" ? ALWAYS_ON : base === "always_off" ? ALWAYS_OFF : new RatioSampler(spec.ratio));
  return spec.name.startsWith("parentbased_") ? new ParentSampler(root(spec.name.slice("parentbased_".length))) : root(spec.name);
}

const SAMPLED: SamplingResult = Object.freeze({ decision: SamplingDecision.RECORD_AND_SAMPLED });
const DROPPED: SamplingResult = Object.freeze({ decision: SamplingDecision.NOT_RECORD });

/** Records and samples every span. */
const ALWAYS_ON: Sampler = { shouldSample: () => SAMPLED, toString: () => "AlwaysOnSampler" };
/** Records no span. */
const ALWAYS_OFF: Sampler = { shouldSample: () => DROPPED, toString: () => "AlwaysOffSampler" };

/** Samples a fixed share of traces, by trace id (the SDK's TraceIdRatioBasedSampler arithmetic). */
class RatioSampler implements Sampler {
  private readonly upperBound: number;

  constructor(private readonly ratio: number) {
    this.upperBound = ratio >= 1 ? 0x100000000 : Math.floor(Math.max(0, ratio) * 0xffffffff);
  }

  shouldSample(_context: Context, traceId: string): SamplingResult {
    return traceId.length === 32 && accumulate(traceId) < this.upperBound ? SAMPLED : DROPPED;
  }

  toString(): string {
    return `TraceIdRatioBased{${this.ratio}}`;
  }
}

/** XOR of the trace id's four 32-bit words, as the SDK computes it. */
function accumulate(traceId: string): number {
  let accumulation = 0;
  for (let i = 0; i < 32; i += 8) {
    let part = 0;
    for (let j = 0; j < 8; j++) {
      const c = traceId.charCodeAt(i + j);
      part = (part << 4) | (c < 58 ? c - 48 : c < 71 ? c - 55 : c - 87);
    }
    accumulation = (accumulation ^ part) >>> 0;
  }
  return accumulation;
}

/** Follows the parent's decision (sampled parent: sample; unsampled: drop); `root` decides for root spans. */
class ParentSampler implements Sampler {
  constructor(private readonly root: Sampler) {}

  shouldSample(context: Context, traceId: string, name: string, kind: SpanKind, attributes: Attributes, links: Link[]): SamplingResult {
    const span = trace.getSpan(context);
    const parent = span?.spanContext();
    if (parent === undefined || (!knownValid(span) && !isSpanContextValid(parent))) return this.root.shouldSample(context, traceId, name, kind, attributes, links);
    return (parent.traceFlags & TraceFlags.SAMPLED) !== 0 ? SAMPLED : DROPPED;
  }

  toString(): string {
    return `ParentBased{root=${this.root.toString()}}`;
  }
}
