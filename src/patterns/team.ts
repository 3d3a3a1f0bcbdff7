/**
 * Collaboration invites and capability queries with real semantics: an agent invites peers to a team for a
 * goal (each accepts or declines through its invite handler), and a capability query asks agents directly who
 * can do X now (their live answer, not a possibly stale registry entry). Both gather answers until everyone
 * answered or the timeout passed.
 */
import { create } from "@bufbuild/protobuf";
import { CapabilityQuerySchema, CollaborationInviteSchema } from "../../gen/agentmesh/v1/collaboration_pb.js";
import type { MeshMessageBus } from "../bus/mesh-bus.js";
import { Code, MeshError } from "../protocol/errors.js";
import { newId } from "../protocol/ids.js";
import { toPayload } from "../protocol/payload.js";

/** Options of an invitation round. */
export interface InviteOptions {
  /** Agents to invite. */
  agents: string[];
  /** What the team works on. */
  goal: string;
  /** The role offered. */
  role?: string;
  /** Capabilities the team needs from invitees. */
  capabilities?: string[];
  /** Extra context. */
  context?: unknown;
  /** How long to wait for answers, ms. Default 2000. */
  timeoutMs?: number;
  /** Team id; default a new one. */
  teamId?: string;
  /** Correlation id. */
  correlationId?: string;
}

/** Who joined. */
export interface Team {
  /** The team id. */
  teamId: string;
  /** Agents that accepted. */
  members: string[];
  /** Agents that declined or did not answer, and why. */
  declined: { agent: string; reason: string }[];
}

/** Invites agents to a team and gathers their answers. */
export async function inviteTeam(bus: MeshMessageBus, options: InviteOptions): Promise<Team> {
  if (options.goal === "") throw new MeshError(Code.InvalidArgument, "goal: must not be empty");
  const teamId = options.teamId ?? newId();
  const invite = create(CollaborationInviteSchema, {
    teamId,
    goal: options.goal,
    role: options.role ?? "",
    capabilities: options.capabilities ?? [],
    context: toPayload(options.context ?? null),
  });
  const members: string[] = [];
  const declined: { agent: string; reason: string }[] = [];
  await Promise.all(
    [...new Set(options.agents)].map(async (agent) => {
      try {
        const reply = await bus.call(agent, { case: "collaborationInvite", value: invite }, { correlationId: options.correlationId, timeoutMs: options.timeoutMs ?? 2000 });
        if (reply.body.case !== "collaborationReply") throw new MeshError(Code.Internal, `answered with ${reply.body.case}`);
        if (reply.body.value.accepted) members.push(agent);
        else declined.push({ agent, reason: reply.body.value.reason || "declined" });
      } catch (err) {
        declined.push({ agent, reason: MeshError.from(err).message });
      }
    }),
  );
  return { teamId, members: members.sort(), declined };
}

/** The answers to a capability query. */
export interface CapabilityQueryResult {
  /** The capability asked for. */
  capability: string;
  /** Agents that said they can, sorted. */
  capable: string[];
  /** Agents that said they cannot. */
  incapable: string[];
  /** Agents that did not answer in time, and why. */
  missing: { agent: string; reason: string }[];
}

/** Asks agents whether they can handle `capability` now. */
export async function queryCapability(bus: MeshMessageBus, capability: string, agents: string[], options: { timeoutMs?: number; correlationId?: string } = {}): Promise<CapabilityQueryResult> {
  if (capability === "") throw new MeshError(Code.InvalidArgument, "capability: must not be empty");
  const query = create(CapabilityQuerySchema, { capability });
  const capable: string[] = [];
  const incapable: string[] = [];
  const missing: { agent: string; reason: string }[] = [];
  await Promise.all(
    [...new Set(agents)].map(async (agent) => {
      try {
        const reply = await bus.call(agent, { case: "capabilityQuery", value: query }, { correlationId: options.correlationId, timeoutMs: options.timeoutMs ?? 2000 });
        if (reply.body.case !== "capabilityAnswer") throw new MeshError(Code.Internal, `answered with ${reply.body.case}`);
        (reply.body.value.canHandle ? capable : incapable).push(agent);
      } catch (err) {
        missing.push({ agent, reason: MeshError.from(err).message });
      }
    }),
  );
  return { capability, capable: capable.sort(), incapable: incapable.sort(), missing };
}
