/** A minimal node above a Transport for link tests: it records what arrives and introduces itself in Hello. */
import { create } from "@bufbuild/protobuf";
import type { Envelope } from "../../gen/agentmesh/v1/envelope_pb.js";
import { AgentInfoSchema, MemberStatus, type AgentInfo } from "../../gen/agentmesh/v1/membership_pb.js";
import { newEnvelope, toAgent } from "../../src/protocol/envelope.js";
import { messageToBody } from "../../src/protocol/message.js";
import type { Link, Transport } from "../../src/transport/transport.js";

/** A started transport with the envelopes it received. */
export interface LinkPeer {
  readonly id: string;
  readonly transport: Transport;
  readonly received: Envelope[];
  readonly hellos: AgentInfo[];
  /** The payloads of received "note" messages, in arrival order. */
  notes(): unknown[];
  /** The usable links to `peerId`. */
  usableLinksTo(peerId: string): Link[];
}

/** Starts `transport` under a recording host for agent `id`. */
export async function startPeer(id: string, transport: Transport): Promise<LinkPeer> {
  const info = create(AgentInfoSchema, { id, status: MemberStatus.ALIVE, capacity: 1 });
  const received: Envelope[] = [];
  const hellos: AgentInfo[] = [];
  await transport.start({
    localInfo: () => info,
    onEnvelope: (env) => received.push(env),
    onPeerHello: (peer) => hellos.push(peer),
  });
  info.address = transport.address;
  return {
    id,
    transport,
    received,
    hellos,
    notes: () => received.filter((e) => e.body.case === "user").map((e) => (e.body.case === "user" ? JSON.parse(new TextDecoder().decode(e.body.value.payload?.data)) : undefined)),
    usableLinksTo: (peerId) => transport.links().filter((l) => l.usable && l.peer?.id === peerId),
  };
}

/** A one-way "note" envelope from `from` to `to` carrying `payload`. */
export function note(from: string, to: string, payload: unknown): Envelope {
  return newEnvelope({ from, to: toAgent(to), body: messageToBody("note", payload) });
}
