/**
 * A grpc.health.v1.Health client on plain @grpc/grpc-js (no Connect, no proto-loader: messages are encoded with
 * @bufbuild/protobuf and the generated schemas), as Consul's gRPC check and Kubernetes' gRPC probe call it. Used by
 * the health service tests and by the Consul double's gRPC checks.
 */
import * as grpc from "@grpc/grpc-js";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  HealthCheckRequestSchema,
  HealthCheckResponseSchema,
  HealthCheckResponse_ServingStatus as ServingStatus,
  type HealthCheckRequest,
  type HealthCheckResponse,
} from "../../gen/grpc/health/v1/health_pb.js";

export { ServingStatus };

const serialize = (m: HealthCheckRequest) => Buffer.from(toBinary(HealthCheckRequestSchema, m));
const deserialize = (b: Buffer) => fromBinary(HealthCheckResponseSchema, b);

/** One Watch stream: every status received so far, and how the stream ended (undefined while open). */
export interface HealthWatch {
  /** Statuses in the order received. */
  statuses: ServingStatus[];
  /** The final gRPC status code once the stream ended. */
  ended: grpc.status | undefined;
  /** Cancels the call. */
  cancel(): void;
}

/** A health client for one server address (host:port). */
export class GrpcHealthClient {
  private readonly client: grpc.Client;

  /** Opens a channel (insecure: the checks here run without TLS, like `GRPCUseTLS: false`). */
  constructor(address: string) {
    this.client = new grpc.Client(address, grpc.credentials.createInsecure());
  }

  /** Calls Check; resolves with the status or rejects with the grpc ServiceError. `timeoutMs` is the call deadline. */
  check(service: string, timeoutMs = 5000): Promise<ServingStatus> {
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest(
        "/grpc.health.v1.Health/Check",
        serialize,
        deserialize,
        create(HealthCheckRequestSchema, { service }),
        new grpc.Metadata(),
        { deadline: Date.now() + timeoutMs },
        (err: grpc.ServiceError | null, res?: HealthCheckResponse) => (err !== null ? reject(err) : resolve(res!.status)),
      );
    });
  }

  /** Opens a Watch stream on `service`. */
  watch(service: string): HealthWatch {
    const call = this.client.makeServerStreamRequest("/grpc.health.v1.Health/Watch", serialize, deserialize, create(HealthCheckRequestSchema, { service }));
    const watch: HealthWatch = { statuses: [], ended: undefined, cancel: () => call.cancel() };
    call.on("data", (res: HealthCheckResponse) => watch.statuses.push(res.status));
    call.on("status", (s: grpc.StatusObject) => (watch.ended = s.code));
    call.on("error", () => {}); // the status event reports it
    return watch;
  }

  /** Closes the channel. */
  close(): void {
    this.client.close();
  }
}
