/** The generated protocol types and services, re-exported for library users (`import { pb } from "agent-mesh"`). */
export * from "../../gen/agentmesh/v1/agent_service_pb.js";
export * from "../../gen/agentmesh/v1/auction_pb.js";
export * from "../../gen/agentmesh/v1/collaboration_pb.js";
export * from "../../gen/agentmesh/v1/consensus_pb.js";
export * from "../../gen/agentmesh/v1/envelope_pb.js";
export * from "../../gen/agentmesh/v1/gossip_pb.js";
export * from "../../gen/agentmesh/v1/membership_pb.js";
export * from "../../gen/agentmesh/v1/mesh_service_pb.js";
export * from "../../gen/agentmesh/v1/payload_pb.js";
export * from "../../gen/agentmesh/v1/task_pb.js";
export * from "../../gen/agentmesh/v1/trace_pb.js";
export { Health, HealthCheckRequestSchema, HealthCheckResponseSchema, HealthCheckResponse_ServingStatus } from "../../gen/grpc/health/v1/health_pb.js";
