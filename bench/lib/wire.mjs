/**
 * What the load generators send: the raw echo method for grpc-js, AgentService.SubmitTask for grpc-js
 * (encoded with the project's generated protobuf types), and the benchmark's payload, the same size
 * everywhere (PAYLOAD_BYTES bytes of application data).
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { SubmitTaskRequestSchema, SubmitTaskResponseSchema } from "../../dist/gen/agentmesh/v1/agent_service_pb.js";
import { PayloadSchema } from "../../dist/gen/agentmesh/v1/payload_pb.js";

/** Bytes of application data per request and per response in every request/response benchmark. */
export const PAYLOAD_BYTES = 64;

/** The raw echo method, as a grpc-js service definition over raw bytes. */
export const ECHO_SERVICE = {
  echo: {
    path: "/bench.Echo/Echo",
    requestStream: false,
    responseStream: false,
    requestSerialize: (b) => b,
    requestDeserialize: (b) => b,
    responseSerialize: (b) => b,
    responseDeserialize: (b) => b,
  },
};

/** A JSON string value whose encoding is exactly PAYLOAD_BYTES bytes (62 letters and the two quotes). */
export const PAYLOAD_TEXT = "x".repeat(PAYLOAD_BYTES - 2);

/** The path of AgentService.SubmitTask. */
export const SUBMIT_TASK_PATH = "/agentmesh.v1.AgentService/SubmitTask";

/** The encoded SubmitTaskRequest for `capability` with `input` (a JSON value) and a timeout, ms. */
export function submitTaskRequest(capability, input, timeoutMs = 0) {
  const data = new TextEncoder().encode(JSON.stringify(input));
  const req = create(SubmitTaskRequestSchema, { capability, input: create(PayloadSchema, { contentType: "application/json", data }), timeoutMs });
  return Buffer.from(toBinary(SubmitTaskRequestSchema, req));
}

/** Decodes a SubmitTaskResponse. */
export function decodeSubmitTaskResponse(bytes) {
  return fromBinary(SubmitTaskResponseSchema, bytes);
}

/** The decoded JSON output of a SubmitTaskResponse. */
export function submitTaskOutput(response) {
  return JSON.parse(new TextDecoder().decode(response.output?.data ?? new Uint8Array()));
}
