import { afterEach, describe, expect, it } from "vitest";
import { defaultTransportConfig } from "../../src/transport/config.js";
import { GrpcTransport } from "../../src/transport/grpc-transport.js";
import type { Transport } from "../../src/transport/transport.js";
import { note, startPeer, type LinkPeer } from "../helpers/link-host.js";
import { waitFor } from "../helpers/wait.js";

const started: Transport[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((t) => t.stop()));
});

async function peer(id: string, compressLinks?: boolean): Promise<LinkPeer> {
  const t = new GrpcTransport({ port: 0, config: { closeGraceMs: 500, ...(compressLinks === undefined ? {} : { compressLinks }) } });
  started.push(t);
  return startPeer(id, t);
}

describe("link compression", () => {
  it("is off by default", () => {
    expect(defaultTransportConfig.compressLinks).toBe(false);
  });

  // Frames over 1 KiB are the ones a server compresses when the dialer accepts it; 300 notes written in one
  // tick travel as one such frame each way.
  for (const compressLinks of [false, true]) {
    it(`carries frames over 1 KiB both ways, in order, with compressLinks ${compressLinks}`, async () => {
      const a = await peer("a", compressLinks);
      const b = await peer("b");
      const text = "y".repeat(100);
      const out = a.transport.linkTo("b", b.transport.address);
      out.send(note("a", "b", "hi"));
      await waitFor(() => out.state.t === "ready" && b.notes().length === 1, { what: "the link to be up" });
      for (let i = 0; i < 300; i++) out.send(note("a", "b", { i, text }));
      const back = b.transport.linkTo("a", a.transport.address);
      expect(back.direction).toBe("inbound");
      for (let i = 0; i < 300; i++) back.send(note("b", "a", { i, text }));
      await waitFor(() => b.notes().length === 301 && a.notes().length === 300, { what: "300 notes each way" });
      expect(b.notes().slice(1)).toEqual(Array.from({ length: 300 }, (_, i) => ({ i, text })));
      expect(a.notes()).toEqual(Array.from({ length: 300 }, (_, i) => ({ i, text })));
    });
  }
});
