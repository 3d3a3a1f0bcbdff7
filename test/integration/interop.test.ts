/**
 * Interop: a plain @grpc/grpc-js client (no Connect, no proto-loader; messages encoded with @bufbuild/protobuf
 * and the generated schemas) calls AgentService and grpc.health.v1.Health on a node process.
 */
import * as grpc from "@grpc/grpc-js";
import { create, fromBinary, toBinary, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ListAgentsRequestSchema,
  ListAgentsResponseSchema,
  SubmitTaskRequestSchema,
  SubmitTaskResponseSchema,
  type ListAgentsRequest,
  type ListAgentsResponse,
  type SubmitTaskRequest,
  type SubmitTaskResponse,
} from "../../gen/agentmesh/v1/agent_service_pb.js";
import { MemberStatus } from "../../gen/agentmesh/v1/membership_pb.js";
import { PayloadSchema } from "../../gen/agentmesh/v1/payload_pb.js";
import { HealthCheckRequestSchema, HealthCheckResponseSchema, HealthCheckResponse_ServingStatus } from "../../gen/grpc/health/v1/health_pb.js";
import { Processes, type NodeProcess } from "../helpers/processes.js";

function method<I extends DescMessage, O extends DescMessage>(path: string, input: I, output: O) {
  return {
    path,
    requestStream: false,
    responseStream: false,
    requestSerialize: (m: MessageShape<I>) => Buffer.from(toBinary(input, m)),
    requestDeserialize: (b: Buffer) => fromBinary(input, b),
    responseSerialize: (m: MessageShape<O>) => Buffer.from(toBinary(output, m)),
    responseDeserialize: (b: Buffer) => fromBinary(output, b),
  } as const;
}

const AgentServiceDefinition = {
  listAgents: method("/agentmesh.v1.AgentService/ListAgents", ListAgentsRequestSchema, ListAgentsResponseSchema),
  submitTask: method("/agentmesh.v1.AgentService/SubmitTask", SubmitTaskRequestSchema, SubmitTaskResponseSchema),
};

/** The client grpc-js makes from the definition, with the two unary methods typed. */
interface AgentServiceClient extends grpc.Client {
  listAgents(req: ListAgentsRequest, cb: (err: grpc.ServiceError | null, res?: ListAgentsResponse) => void): grpc.ClientUnaryCall;
  submitTask(req: SubmitTaskRequest, cb: (err: grpc.ServiceError | null, res?: SubmitTaskResponse) => void): grpc.ClientUnaryCall;
}

const AgentServiceClientCtor = grpc.makeGenericClientConstructor(AgentServiceDefinition, "AgentService") as unknown as new (
  address: string,
  credentials: grpc.ChannelCredentials,
) => AgentServiceClient;

function unary<Req, Res>(call: (req: Req, cb: (err: grpc.ServiceError | null, res?: Res) => void) => unknown, req: Req): Promise<Res> {
  return new Promise((resolve, reject) => call(req, (err, res) => (err !== null ? reject(err) : resolve(res as Res))));
}

async function rejection(p: Promise<unknown>): Promise<grpc.ServiceError> {
  try {
    await p;
  } catch (err) {
    return err as grpc.ServiceError;
  }
  throw new Error("expected the call to fail");
}

const json = (value: unknown) => create(PayloadSchema, { contentType: "application/json", data: new TextEncoder().encode(JSON.stringify(value)) });
const parse = (data: Uint8Array | undefined) => JSON.parse(new TextDecoder().decode(data)) as unknown;

const procs = new Processes();
let node: NodeProcess;
let client: AgentServiceClient;
let raw: grpc.Client;

beforeAll(async () => {
  node = await procs.startNode({ id: "interop-1", capabilities: ["echo", "uppercase", "fail"] });
  client = new AgentServiceClientCtor(node.address, grpc.credentials.createInsecure());
  raw = new grpc.Client(node.address, grpc.credentials.createInsecure());
});

afterAll(async () => {
  client?.close();
  raw?.close();
  await procs.stopAll();
});

function healthCheck(service: string) {
  return new Promise<HealthCheckResponse_ServingStatus>((resolve, reject) => {
    raw.makeUnaryRequest(
      "/grpc.health.v1.Health/Check",
      (m: ReturnType<typeof create<typeof HealthCheckRequestSchema>>) => Buffer.from(toBinary(HealthCheckRequestSchema, m)),
      (b: Buffer) => fromBinary(HealthCheckResponseSchema, b),
      create(HealthCheckRequestSchema, { service }),
      (err, res) => (err !== null ? reject(err) : resolve(res!.status)),
    );
  });
}

describe("a grpc-js client", () => {
  it("lists agents", async () => {
    const res = await unary(client.listAgents.bind(client), create(ListAgentsRequestSchema, {}));
    expect(res.selfId).toBe("interop-1");
    expect(res.agents).toHaveLength(1);
    expect(res.agents[0]).toMatchObject({ id: "interop-1", address: node.address, capabilities: ["echo", "uppercase", "fail"], status: MemberStatus.ALIVE });
  });

  it("submits a task and reads its result", async () => {
    const res = await unary(client.submitTask.bind(client), create(SubmitTaskRequestSchema, { capability: "uppercase", input: json("quiet mesh") }));
    expect(res.agentId).toBe("interop-1");
    expect(res.output?.contentType).toBe("application/json");
    expect(parse(res.output?.data)).toBe("QUIET MESH");
    expect(res.correlationId).not.toBe("");
  });

  it("checks health", async () => {
    expect(await healthCheck("")).toBe(HealthCheckResponse_ServingStatus.SERVING);
    expect(await healthCheck("agentmesh.v1.AgentService")).toBe(HealthCheckResponse_ServingStatus.SERVING);
  });

  it("gets INVALID_ARGUMENT naming the field for an empty capability", async () => {
    const err = await rejection(unary(client.submitTask.bind(client), create(SubmitTaskRequestSchema, { capability: "", input: json(1) })));
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(err.details).toContain("capability");
  });

  it("gets INVALID_ARGUMENT naming the field for input that is not JSON", async () => {
    const bad = create(PayloadSchema, { contentType: "application/json", data: new TextEncoder().encode("{oops") });
    const err = await rejection(unary(client.submitTask.bind(client), create(SubmitTaskRequestSchema, { capability: "echo", input: bad })));
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(err.details).toContain("input");
  });

  it("gets NOT_FOUND naming an unknown capability", async () => {
    const err = await rejection(unary(client.submitTask.bind(client), create(SubmitTaskRequestSchema, { capability: "summon-dragon", input: json(null) })));
    expect(err.code).toBe(grpc.status.NOT_FOUND);
    expect(err.details).toContain('"summon-dragon"');
  });

  it("gets the handler's error when it throws, and the node keeps serving", async () => {
    const err = await rejection(
      unary(client.submitTask.bind(client), create(SubmitTaskRequestSchema, { capability: "fail", input: json({ code: "RESOURCE_EXHAUSTED", message: "out of widgets" }) })),
    );
    expect(err.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(err.details).toBe("out of widgets");
    const res = await unary(client.submitTask.bind(client), create(SubmitTaskRequestSchema, { capability: "echo", input: json({ after: "failure" }) }));
    expect(parse(res.output?.data)).toEqual({ after: "failure" });
    expect(await healthCheck("")).toBe(HealthCheckResponse_ServingStatus.SERVING);
    expect(node.alive()).toBe(true);
  });
});
