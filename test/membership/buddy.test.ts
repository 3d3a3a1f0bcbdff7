/**
 * Lifeguard's buddy system: a member this node suspects hears the suspicion on this node's next message to it,
 * ahead of the dissemination queue — here with the queue switched off (maxPiggybackUpdates 0), so only that rule
 * can carry it — and no other member gets a claim about itself.
 */
import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import {
  AgentInfoSchema,
  MemberStatus,
  MembershipSyncSchema,
  MemberUpdateSchema,
  ProbeAckSchema,
  type MemberUpdate,
} from "../../gen/agentmesh/v1/membership_pb.js";
import type { Body } from "../../src/protocol/envelope.js";
import { Swim } from "../../src/membership/swim.js";
import { VirtualClock } from "../../src/sim/virtual-clock.js";

const info = (id: string, status = MemberStatus.ALIVE) => create(AgentInfoSchema, { id, address: `sim:${id}`, capacity: 1, status });

describe("buddy system", () => {
  it("puts the suspicion of the recipient first on every message to it, and only to it", () => {
    const clock = new VirtualClock();
    const sent: { to: string; body: Body }[] = [];
    const swim = new Swim({
      localInfo: () => info("a"),
      messenger: { send: (to, body) => sent.push({ to: to.id ?? to.address, body }) },
      clock,
      config: { maxPiggybackUpdates: 0 },
      random: () => 0.5,
    });
    swim.start();
    swim.receive("c", { case: "membershipSync", value: create(MembershipSyncSchema, { members: [info("b"), info("c")] }) });
    // c reports that it suspects b.
    const suspicion = create(MemberUpdateSchema, { agent: info("b", MemberStatus.SUSPECT), reporter: "c" });
    swim.receive("c", { case: "probeAck", value: create(ProbeAckSchema, { seq: 0n, updates: [suspicion] }) });

    sent.length = 0;
    clock.advance(2 * swim.config.probeIntervalMs + 1);
    const updatesTo = (id: string): MemberUpdate[] =>
      sent.filter((m) => m.to === id && m.body.case === "probe").flatMap((m) => (m.body.value as { updates: MemberUpdate[] }).updates);
    const toB = updatesTo("b");
    expect(sent.some((m) => m.to === "b" && m.body.case === "probe"), "a probed b").toBe(true);
    expect(toB.length, "a's probes to b carry updates").toBeGreaterThan(0);
    expect(toB[0]?.agent?.id).toBe("b");
    expect(toB[0]?.agent?.status).toBe(MemberStatus.SUSPECT);
    expect(toB[0]?.reporter).toBe("a");
    const toC = updatesTo("c");
    expect(sent.some((m) => m.to === "c" && m.body.case === "probe"), "a probed c").toBe(true);
    expect(toC, "c is not suspected: nothing rides on its probes with the queue off").toEqual([]);
    swim.stop();
  });
});
