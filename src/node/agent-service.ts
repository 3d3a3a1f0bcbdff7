/**
 * AgentService, the client API every node serves (gRPC, gRPC-Web and Connect on the node's port). Input is
 * validated here and errors leave as gRPC statuses naming the offending field, capability or agent.
 */
import { create } from "@bufbuild/protobuf";
import { ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import {
  AgentService,
  BroadcastResponseSchema,
  ListAgentsResponseSchema,
  MembershipEventKind,
  PublishResponseSchema,
  SubmitTaskResponseSchema,
  SubscribeResponseSchema,
  WatchMembershipResponseSchema,
  type SubscribeResponse,
  type WatchMembershipResponse,
} from "../../gen/agentmesh/v1/agent_service_pb.js";
import type { Payload } from "../../gen/agentmesh/v1/payload_pb.js";
import type { AgentInfo } from "../../gen/agentmesh/v1/membership_pb.js";
import { Channel } from "../transport/async-iter.js";
import { newEnvelope, toTopic } from "../protocol/envelope.js";
import { Code, MeshError } from "../protocol/errors.js";
import { newId } from "../protocol/ids.js";
import { messageToBody, type Message } from "../protocol/message.js";
import { fromPayload, toPayload } from "../protocol/payload.js";
import { requireCapability, requireNonEmpty } from "../protocol/validate.js";
import type { AgentNode } from "./agent-node.js";

/** Converts any error into the ConnectError a handler throws. */
function toStatus(err: unknown): ConnectError {
  if (err instanceof ConnectError) return err;
  return MeshError.from(err).toConnectError();
}

/** Runs `fn`, turning thrown errors into gRPC statuses. */
async function guarded<T>(fn: () => Promise<T> | T): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toStatus(err);
  }
}

/** Decodes a client payload only to validate it (INVALID_ARGUMENT naming `field` when malformed). */
function validPayload(payload: Payload | undefined, field: string): unknown {
  return fromPayload(payload, field);
}

/** The AgentService implementation of `node`. */
export function createAgentService(node: AgentNode): ServiceImpl<typeof AgentService> {
  return {
    submitTask: (req) =>
      guarded(async () => {
        const capability = requireCapability(req.capability, "capability");
        validPayload(req.input, "input");
        const outcome = await node.submitPayload(capability, req.input ?? toPayload(null), {
          timeoutMs: req.timeoutMs,
          correlationId: req.correlationId === "" ? undefined : req.correlationId,
        });
        return create(SubmitTaskResponseSchema, {
          taskId: outcome.taskId,
          correlationId: outcome.correlationId,
          agentId: outcome.agentId,
          output: outcome.output,
          hops: outcome.hops,
          durationMs: outcome.durationMs,
          attempt: outcome.attempt,
        });
      }),

    publish: (req) =>
      guarded(async () => {
        const topic = requireNonEmpty(req.topic, "topic");
        const type = requireNonEmpty(req.type, "type");
        const payload = validPayload(req.payload, "payload");
        const id = newId();
        const correlationId = req.correlationId === "" ? newId() : req.correlationId;
        await node.bus.publish(topic, { id, type, payload, correlationId });
        return create(PublishResponseSchema, { messageId: id, correlationId });
      }),

    broadcast: (req) =>
      guarded(async () => {
        const type = requireNonEmpty(req.type, "type");
        const payload = validPayload(req.payload, "payload");
        const id = newId();
        const correlationId = req.correlationId === "" ? newId() : req.correlationId;
        await node.broadcast({ id, type, payload, correlationId });
        return create(BroadcastResponseSchema, { messageId: id, correlationId, recipients: node.registry.size });
      }),

    subscribe: (req, ctx) => subscribe(node, req.topic, ctx),

    listAgents: (req) =>
      guarded(() => {
        const all = node.allAgents();
        const agents = req.capability === "" ? all : all.filter((a) => a.capabilities.includes(req.capability));
        return create(ListAgentsResponseSchema, { selfId: node.id, agents });
      }),

    watchMembership: (_req, ctx) => watchMembership(node, ctx),

    getStatus: () => guarded(() => node.report()),
  };
}

async function* subscribe(node: AgentNode, topicField: string, ctx: HandlerContext): AsyncGenerator<SubscribeResponse> {
  let topic: string;
  try {
    topic = requireNonEmpty(topicField, "topic");
  } catch (err) {
    throw toStatus(err);
  }
  const channel = new Channel<Message>();
  let backlog = 0;
  const max = node.limits.maxSubscriberBacklog;
  const sub = node.bus.subscribe(topic, (m) => {
    if (++backlog > max) {
      channel.fail(new MeshError(Code.ResourceExhausted, `subscriber of topic "${topic}" fell ${max} messages behind; resubscribe`).toConnectError());
      return;
    }
    channel.push(m);
  });
  const onAbort = () => channel.end();
  ctx.signal.addEventListener("abort", onAbort, { once: true });
  try {
    for await (const m of channel) {
      backlog--;
      const envelope = newEnvelope({
        body: messageToBody(m.type, m.payload),
        from: m.from,
        to: toTopic(topic),
        messageId: m.id,
        correlationId: m.correlationId,
        hops: m.hops,
        timestampMs: m.timestamp.getTime(),
      });
      yield create(SubscribeResponseSchema, { envelope });
    }
  } finally {
    sub.unsubscribe();
    ctx.signal.removeEventListener("abort", onAbort);
  }
}

async function* watchMembership(node: AgentNode, ctx: HandlerContext): AsyncGenerator<WatchMembershipResponse> {
  const channel = new Channel<WatchMembershipResponse>();
  const event = (kind: MembershipEventKind, agent: AgentInfo, snapshot = false) =>
    create(WatchMembershipResponseSchema, { kind, agent, snapshot });
  for (const agent of node.registry.all()) channel.push(event(MembershipEventKind.JOIN, agent, true));
  const off = node.registry.watch((kind, agent) => channel.push(event(kind === "join" ? MembershipEventKind.JOIN : kind === "leave" ? MembershipEventKind.LEAVE : MembershipEventKind.UPDATE, agent)));
  const onAbort = () => channel.end();
  ctx.signal.addEventListener("abort", onAbort, { once: true });
  try {
    yield* channel;
  } finally {
    off();
    ctx.signal.removeEventListener("abort", onAbort);
  }
}
