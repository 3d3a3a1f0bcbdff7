/**
 * agent-mesh: peer-to-peer agent networks over gRPC. What users need first comes first: the node, its
 * config, the bus and registry seams, errors; then the layers' building blocks for advanced use and tests.
 */
// The node
export { AgentNode, type AgentState, type NodeStatus, type Task, type TaskOutcome, type RawTaskOutcome, type SubmitOptions } from "./node/agent-node.js";
export { defaultNodeConfig, type AgentNodeConfig } from "./node/config.js";
export { type TaskHandler, type TaskContext } from "./node/task-runner.js";
export { exampleHandlers } from "./node/examples.js";
export { HealthState, ServingStatus } from "./node/health.js";

// Messages and the bus
export { type Message, type MessageInit, type MessageType, type MessagePayloads } from "./protocol/message.js";
export { type MessageBus, type MessageHandler, type Subscription, type RequestOptions, type BusConfig, defaultBusConfig } from "./bus/bus.js";
export { LocalMessageBus, type LocalMessageBusOptions } from "./bus/local-bus.js";
export { MeshMessageBus, type MeshMessageBusOptions, type AgentDirectory, type CallOptions, type EnvelopeHandler } from "./bus/mesh-bus.js";
export { forwarded } from "./bus/message-utils.js";

// Discovery and registry
export { AgentRegistry, type ServiceRegistry, type RegistryListener } from "./discovery/registry.js";
export { type Discovery, type DiscoveryContext, type DiscoveryEvent } from "./discovery/discovery.js";
export { EmbeddedDiscovery, type EmbeddedDiscoveryConfig } from "./discovery/embedded.js";
export { ConsulDiscovery, type ConsulDiscoveryOptions } from "./discovery/consul.js";
export { HybridDiscovery, type HybridDiscoveryOptions } from "./discovery/consul-hybrid.js";
export { defaultConsulConfig, localConsulConfig, type ConsulConfig, type ConsulCheckKind } from "./discovery/consul-config.js";
export { defaultSwimConfig, localSwimConfig, type SwimConfig } from "./membership/config.js";

// Patterns
export { leastLoaded, loadScore, type SelectStrategy, type TaskSpec } from "./patterns/select.js";

// Errors, payloads, ids
export { MeshError, Code, codeName, type MeshErrorOptions } from "./protocol/errors.js";
export { toPayload, fromPayload, JSON_CONTENT_TYPE, TEXT_CONTENT_TYPE, BINARY_CONTENT_TYPE } from "./protocol/payload.js";
export { newId } from "./protocol/ids.js";
export { type Logger, type LogFields, silentLogger } from "./protocol/logger.js";
export { type Clock, type TimerHandle, systemClock } from "./protocol/clock.js";
export { createJsonLogger, logLevelFromEnv, LOG_LEVELS, type JsonLoggerOptions, type LogLevel } from "./telemetry/logger.js";
export { startTracing, samplerFromEnv, asyncContextFromEnv, DEFAULT_SERVICE_NAMESPACE, type Tracing, type TracingOptions } from "./telemetry/tracing.js";
export { DEFAULT_EXPORT_QUEUE_CONFIG, type ExportQueueConfig, type ExportStats } from "./telemetry/export-queue.js";
export { withAsyncContext } from "./telemetry/context-manager.js";
export { type NodeTracing } from "./telemetry/node-tracing.js";
export { SpanRing, DEFAULT_SPAN_RING_SIZE, DEFAULT_SPAN_RING_SPAN_BYTES, type SpanSource, type SpanFilter } from "./telemetry/span-ring.js";
export { buildTraces, renderWaterfall, type TraceTree, type SpanNode } from "./telemetry/waterfall.js";
export { type AgentModule } from "./cli/agent-module.js";

// Transport
export { type Transport, type Link, type LinkState, type TransportHost } from "./transport/transport.js";
export { GrpcTransport, type GrpcTransportOptions } from "./transport/grpc-transport.js";
export { MemoryNetwork, MemoryTransport, type MemoryTransportOptions } from "./transport/memory-transport.js";
export { defaultTransportConfig, type TransportConfig } from "./transport/config.js";

// Generated protocol (for clients)
export * as pb from "./protocol/pb.js";
