/**
 * How a link batches what is sent (link-base.ts): a burst of sends made from promise callbacks travels in one
 * frame at the next tick; bursts from later callbacks of the same event-loop turn share one more frame at the
 * turn's end; a lone send is not held back to the turn's end.
 */
import { afterEach, describe, expect, it } from "vitest";
import { MemoryNetwork, type MemoryTransport } from "../../src/transport/memory-transport.js";
import type { Link } from "../../src/transport/transport.js";
import { note, startPeer, type LinkPeer } from "../helpers/link-host.js";
import { waitFor } from "../helpers/wait.js";

const started: MemoryTransport[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((t) => t.stop()));
});

async function readyPair(): Promise<{ network: MemoryNetwork; link: Link; b: LinkPeer }> {
  const network = new MemoryNetwork();
  const [ta, tb] = [network.transport(), network.transport()];
  started.push(ta, tb);
  await startPeer("a", ta);
  const b = await startPeer("b", tb);
  const link = ta.linkTo("b", tb.address);
  link.send(note("a", "b", "hi"));
  await waitFor(() => link.state.t === "ready" && b.notes().length === 1, { what: "the link to be up" });
  return { network, link, b };
}

describe("link batching", () => {
  it("sends a burst made from promise callbacks in one frame", async () => {
    const { network, link, b } = await readyPair();
    const before = network.framesDelivered;
    await Promise.all(
      Array.from({ length: 50 }, async (_, i) => {
        await null;
        link.send(note("a", "b", i));
      }),
    );
    await waitFor(() => b.notes().length === 51, { what: "50 notes" });
    expect(network.framesDelivered - before).toBe(1);
    expect(b.notes().slice(1)).toEqual(Array.from({ length: 50 }, (_, i) => i));
  });

  it("sends the first burst of a turn at once and the later bursts of that turn together at its end", async () => {
    const { network, link, b } = await readyPair();
    const before = network.framesDelivered;
    // Three callbacks of one check phase: ticks and microtasks run between them, as between I/O callbacks.
    for (let k = 0; k < 3; k++) setImmediate(() => Array.from({ length: 10 }, (_, i) => link.send(note("a", "b", k * 10 + i))));
    await waitFor(() => b.notes().length === 31, { what: "30 notes" });
    expect(network.framesDelivered - before).toBe(2);
    expect(b.notes().slice(1)).toEqual(Array.from({ length: 30 }, (_, i) => i));
  });

  it("sends a lone envelope before the event loop's check phase", async () => {
    const { link, b } = await readyPair();
    let checkPhase = false;
    let arrivedBeforeCheck: boolean | undefined;
    const push = b.received.push.bind(b.received);
    b.received.push = (...items) => {
      arrivedBeforeCheck ??= !checkPhase;
      return push(...items);
    };
    setImmediate(() => (checkPhase = true));
    link.send(note("a", "b", "now"));
    await waitFor(() => b.notes().length === 2, { what: "the note" });
    expect(arrivedBeforeCheck).toBe(true);
  });
});
