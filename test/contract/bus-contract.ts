/**
 * The MessageBus contract: one suite every implementation must pass. A "world" holds three agents, "a",
 * "b" and "c"; each test gets a fresh one. Messages name their sender (`from`) because a bus shared by
 * several agents cannot know who sends; a bus that serves one agent fills in its own id, the same one.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { defaultBusConfig, type MessageBus, type MessageHandler, type Subscription } from "../../src/bus/bus.js";
import { forwarded } from "../../src/bus/message-utils.js";
import { Code, MeshError } from "../../src/protocol/errors.js";
import type { Message, MessageInit, MessagePayloads } from "../../src/protocol/message.js";
import { waitFor } from "../helpers/wait.js";

/** The agents of every world. */
export const AGENTS = ["a", "b", "c"] as const;
/** One of them. */
export type AgentId = (typeof AGENTS)[number];

/** Three agents on one implementation of the bus. */
export interface BusWorld {
  /** The bus agent `id` sends with. */
  bus(id: AgentId): MessageBus;
  /** Makes agent `id` receive what is addressed to it (requests, direct messages, broadcasts) with `handler`. */
  register(id: AgentId, handler: MessageHandler): Subscription;
  /** Stops everything the world started. */
  cleanup(): Promise<void>;
}

function deferred<T = void>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((res) => (resolve = res));
  return { promise, resolve };
}

async function rejection(promise: Promise<unknown>): Promise<MeshError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(MeshError);
    return err as MeshError;
  }
  throw new Error("expected the call to fail, it succeeded");
}

/** Registers the contract suite for the bus implementation `name`, on worlds made by `makeWorld`. */
export function busContract(name: string, makeWorld: () => Promise<BusWorld>): void {
  describe(`MessageBus contract: ${name}`, () => {
    let world: BusWorld;
    /** A message from agent `from`. */
    const from = (sender: AgentId, init: MessageInit): MessageInit => ({ ...init, from: sender });

    beforeEach(async () => {
      world = await makeWorld();
    });
    afterEach(async () => {
      await world.cleanup();
    });

    describe("publish and subscribe", () => {
      it("reaches every subscriber of the topic on every agent, once, and no subscriber of another topic", async () => {
        const news = new Map<AgentId, Message[]>(AGENTS.map((id) => [id, []]));
        const other = new Map<AgentId, Message[]>(AGENTS.map((id) => [id, []]));
        for (const id of AGENTS) {
          world.bus(id).subscribe("news", (m) => void news.get(id)?.push(m));
          world.bus(id).subscribe("other", (m) => void other.get(id)?.push(m));
        }
        const second: Message[] = [];
        world.bus("b").subscribe("news", (m) => void second.push(m));

        await world.bus("a").publish("news", from("a", { type: "headline", payload: { n: 1 }, correlationId: "story-1" }));
        await world.bus("a").publish("other", from("a", { type: "marker", payload: null }));
        await waitFor(() => AGENTS.every((id) => news.get(id)?.length === 1 && other.get(id)?.length === 1) && second.length === 1, {
          what: "every subscriber to hear its topic",
        });

        for (const id of AGENTS) {
          const [m] = news.get(id) ?? [];
          expect(m).toMatchObject({ type: "headline", payload: { n: 1 }, from: "a", topic: "news", to: "news", correlationId: "story-1", hops: 0 });
          expect(m.id).toEqual(expect.any(String));
          expect(m.timestamp).toBeInstanceOf(Date);
          expect(other.get(id)?.map((x) => x.type)).toEqual(["marker"]);
        }
        expect(second.map((m) => m.payload)).toEqual([{ n: 1 }]);
      });

      it("stops delivering to a handler after unsubscribe", async () => {
        const got: unknown[] = [];
        const markers: unknown[] = [];
        const sub = world.bus("b").subscribe("t", (m) => void got.push(m.payload));
        world.bus("b").subscribe("marker", (m) => void markers.push(m.payload));
        await world.bus("a").publish("t", from("a", { type: "x", payload: 1 }));
        await waitFor(() => got.length === 1, { what: "the first message" });
        sub.unsubscribe();
        sub.unsubscribe(); // harmless twice
        await world.bus("a").publish("t", from("a", { type: "x", payload: 2 }));
        await world.bus("b").publish("t", from("b", { type: "x", payload: 3 }));
        await world.bus("a").publish("marker", from("a", { type: "x", payload: "a done" }));
        await world.bus("b").publish("marker", from("b", { type: "x", payload: "b done" }));
        await waitFor(() => markers.length === 2, { what: "the markers" });
        expect(got).toEqual([1]);
      });
    });

    describe("request", () => {
      it("resolves with the handler's reply: its payload, the request's correlation id, from the responder", async () => {
        let seen: Message | undefined;
        world.register("b", (m) => {
          seen = m;
          return { doubled: (m.payload as { n: number }).n * 2 };
        });
        const reply = await world.bus("a").request("b", from("a", { type: "compute", payload: { n: 21 }, correlationId: "corr-1" }));
        expect(reply).toMatchObject({ type: "compute", payload: { doubled: 42 }, correlationId: "corr-1", from: "b", to: "a" });
        expect(reply.id).not.toBe(seen?.id);
        expect(seen).toMatchObject({ type: "compute", payload: { n: 21 }, correlationId: "corr-1", from: "a", to: "b", hops: 0 });
      });

      it("sends a reply of the type the handler chose when it returns {type, payload}", async () => {
        world.register("c", () => ({ type: "answer", payload: ["x", "y"] }));
        const reply = await world.bus("b").request("c", from("b", { type: "question", payload: "?" }));
        expect(reply).toMatchObject({ type: "answer", payload: ["x", "y"], from: "c", to: "b" });
      });

      it("gives a new correlation id to a request without one, and keeps it on the reply", async () => {
        let seen: Message | undefined;
        world.register("b", (m) => {
          seen = m;
          return "ok";
        });
        const reply = await world.bus("a").request("b", from("a", { type: "q", payload: null }));
        expect(seen?.correlationId).toEqual(expect.any(String));
        expect(seen?.correlationId.length).toBeGreaterThan(0);
        expect(reply.correlationId).toBe(seen?.correlationId);
      });

      it("matches concurrent requests to their own replies", async () => {
        const n = 30;
        const held: (() => void)[] = [];
        const allArrived = deferred();
        for (const id of ["b", "c"] as const) {
          world.register(id, (m) => {
            const i = (m.payload as { i: number }).i;
            return new Promise((resolve) => {
              held.push(() => resolve({ i, by: id }));
              if (held.length === n) allArrived.resolve();
            });
          });
        }
        const targets = Array.from({ length: n }, (_, i) => (i % 2 === 0 ? "b" : "c") as AgentId);
        const replies = targets.map((to, i) => world.bus("a").request(to, from("a", { type: "job", payload: { i }, correlationId: `job-${i}` })));
        await allArrived.promise;
        for (const release of held.reverse()) release(); // answer in the opposite order
        const got = await Promise.all(replies);
        got.forEach((reply, i) => {
          expect(reply.payload).toEqual({ i, by: targets[i] });
          expect(reply.from).toBe(targets[i]);
          expect(reply.correlationId).toBe(`job-${i}`);
        });
      });

      it("fails with NOT_FOUND naming an unknown agent", async () => {
        const e = await rejection(world.bus("a").request("nobody-here", from("a", { type: "q", payload: null })));
        expect(e.code).toBe(Code.NotFound);
        expect(e.message).toContain("nobody-here");
      });

      it("fails with the message of an error the handler threw", async () => {
        world.register("b", () => {
          throw new Error("disk on fire");
        });
        const e = await rejection(world.bus("a").request("b", from("a", { type: "q", payload: null })));
        expect(e.message).toBe("disk on fire");
        expect(e.code).toBe(Code.Unknown);
      });

      it("keeps the code of a MeshError the handler threw (or rejected with)", async () => {
        world.register("b", async () => {
          throw new MeshError(Code.PermissionDenied, "agent b does not share its notes");
        });
        const e = await rejection(world.bus("a").request("b", from("a", { type: "q", payload: null })));
        expect(e.code).toBe(Code.PermissionDenied);
        expect(e.message).toBe("agent b does not share its notes");
        expect(e.retryable).toBe(false);
      });

      it("fails with DEADLINE_EXCEEDED at its timeout when no reply comes", async () => {
        let calls = 0;
        world.register("b", () => {
          calls++;
          return new Promise(() => {}); // never answers
        });
        const started = Date.now();
        const e = await rejection(world.bus("a").request("b", from("a", { type: "q", payload: null }), { timeoutMs: 250 }));
        const elapsed = Date.now() - started;
        expect(e.code).toBe(Code.DeadlineExceeded);
        expect(e.message).toContain("b");
        expect(elapsed).toBeGreaterThanOrEqual(240);
        expect(elapsed).toBeLessThan(5000);
        expect(calls).toBe(1);
      });

      it("fails with CANCELLED when its signal aborts", async () => {
        world.register("b", () => new Promise(() => {}));
        const abort = new AbortController();
        const pending = world.bus("a").request("b", from("a", { type: "q", payload: null }), { signal: abort.signal, timeoutMs: 10_000 });
        abort.abort();
        const e = await rejection(pending);
        expect(e.code).toBe(Code.Canceled);
      });
    });

    describe("duplicate message ids", () => {
      it("runs the handler once for the same id sent twice, and both callers get the reply", async () => {
        let calls = 0;
        world.register("b", () => ({ call: ++calls }));
        const first = await world.bus("a").request("b", from("a", { id: "dup-seq", type: "q", payload: null }));
        const second = await world.bus("a").request("b", from("a", { id: "dup-seq", type: "q", payload: null }));
        expect(calls).toBe(1);
        expect(first.payload).toEqual({ call: 1 });
        expect(second.payload).toEqual({ call: 1 });
      });

      it("runs the handler once for the same id sent twice at once", async () => {
        let calls = 0;
        world.register("b", async () => ({ call: ++calls }));
        const replies = await Promise.all([
          world.bus("a").request("b", from("a", { id: "dup-conc", type: "q", payload: null })),
          world.bus("a").request("b", from("a", { id: "dup-conc", type: "q", payload: null })),
        ]);
        expect(calls).toBe(1);
        expect(replies.map((r) => r.payload)).toEqual([{ call: 1 }, { call: 1 }]);
      });

      it("answers a duplicate that arrives while the handler still runs, without running it again", async () => {
        let calls = 0;
        const gate = deferred();
        world.register("b", async (m) => {
          if (m.type === "marker") return "marker";
          calls++;
          await gate.promise;
          return { call: calls };
        });
        const first = world.bus("a").request("b", from("a", { id: "dup-running", type: "q", payload: null }), { timeoutMs: 10_000 });
        await waitFor(() => calls === 1, { what: "the handler to start" });
        const second = world.bus("c").request("b", from("c", { id: "dup-running", type: "q", payload: null }), { timeoutMs: 10_000 });
        // A later request from c on the same path proves the duplicate has arrived.
        expect((await world.bus("c").request("b", from("c", { type: "marker", payload: null }))).payload).toBe("marker");
        gate.resolve();
        const [r1, r2] = await Promise.all([first, second]);
        expect(calls).toBe(1);
        expect(r1.payload).toEqual({ call: 1 });
        expect(r2.payload).toEqual({ call: 1 });
      });
    });

    describe("send and broadcast", () => {
      it("send reaches the addressed agent's handlers only", async () => {
        const got = new Map<AgentId, Message[]>(AGENTS.map((id) => [id, []]));
        for (const id of AGENTS) world.register(id, (m) => void got.get(id)?.push(m));
        await world.bus("a").send("b", from("a", { type: "note", payload: { text: "hi b" }, correlationId: "chat-1" }));
        await waitFor(() => got.get("b")?.length === 1, { what: "b to get the note" });
        await world.bus("a").send("c", from("a", { type: "marker", payload: null }));
        await waitFor(() => got.get("c")?.length === 1, { what: "c to get the marker" });
        expect(got.get("b")?.[0]).toMatchObject({ type: "note", payload: { text: "hi b" }, from: "a", to: "b", correlationId: "chat-1" });
        expect(got.get("a")).toEqual([]);
        expect(got.get("c")?.map((m) => m.type)).toEqual(["marker"]);
      });

      it("send to an unknown agent fails with NOT_FOUND naming it", async () => {
        const e = await rejection(world.bus("a").send("ghost", from("a", { type: "note", payload: null })));
        expect(e.code).toBe(Code.NotFound);
        expect(e.message).toContain("ghost");
      });

      it("broadcast reaches every agent once, the sender included", async () => {
        const got = new Map<AgentId, Message[]>(AGENTS.map((id) => [id, []]));
        for (const id of AGENTS) world.register(id, (m) => void got.get(id)?.push(m));
        await world.bus("a").broadcast(from("a", { type: "announce", payload: { v: 1 } }));
        await world.bus("c").broadcast(from("c", { type: "announce", payload: { v: 2 } }));
        await waitFor(() => AGENTS.every((id) => got.get(id)?.length === 2), { what: "every agent to hear both" });
        for (const id of AGENTS) {
          const byPayload = [...(got.get(id) ?? [])].sort((x, y) => (x.payload as { v: number }).v - (y.payload as { v: number }).v);
          expect(byPayload.map((m) => ({ from: m.from, to: m.to, payload: m.payload, type: m.type }))).toEqual([
            { from: "a", to: "broadcast", payload: { v: 1 }, type: "announce" },
            { from: "c", to: "broadcast", payload: { v: 2 }, type: "announce" },
          ]);
        }
      });
    });

    describe("hop limit", () => {
      it("stops a forwarding loop with FAILED_PRECONDITION at the original caller", async () => {
        let calls = 0;
        world.register("a", (m) => {
          calls++;
          return world.bus("a").request("b", { ...forwarded(m), from: "a" });
        });
        world.register("b", (m) => {
          calls++;
          return world.bus("b").request("a", { ...forwarded(m), from: "b" });
        });
        const e = await rejection(world.bus("c").request("a", from("c", { type: "relay", payload: "round and round", correlationId: "loop-1" })));
        expect(e.code).toBe(Code.FailedPrecondition);
        expect(e.message).toContain(`hop limit ${defaultBusConfig.hopLimit}`);
        expect(calls).toBe(defaultBusConfig.hopLimit + 1);
      });

      it("carries the correlation id and counts hops on every forward", async () => {
        const seen: Message[] = [];
        world.register("a", (m) => {
          seen.push(m);
          return world.bus("a").request("b", { ...forwarded(m), from: "a" });
        });
        world.register("b", (m) => {
          seen.push(m);
          return { reachedAfter: m.hops };
        });
        const reply = await world.bus("c").request("a", from("c", { type: "relay", payload: 1, correlationId: "chain-1" }));
        expect(reply.payload).toEqual({ reachedAfter: 1 });
        expect(seen.map((m) => [m.to, m.hops, m.correlationId])).toEqual([
          ["a", 0, "chain-1"],
          ["b", 1, "chain-1"],
        ]);
      });
    });

    describe("typed message types of the source document", () => {
      it("task_request reaches the handler as {capability, input, taskId} and its reply is a task_result", async () => {
        let seen: Message | undefined;
        world.register("b", (m) => {
          seen = m;
          const p = m.payload as MessagePayloads["task_request"];
          return { summary: (p.input as { text: string }).text.slice(0, 5), capability: p.capability };
        });
        const payload: MessagePayloads["task_request"] = { capability: "summarize", input: { text: "hello world" }, taskId: "task-1" };
        const reply = await world.bus("a").request("b", from("a", { type: "task_request", payload }));
        expect(seen?.type).toBe("task_request");
        expect(seen?.payload).toEqual(payload);
        expect(reply.type).toBe("task_result");
        expect(reply.payload).toEqual({ summary: "hello", capability: "summarize" });
      });

      it("consensus_vote: {question, options} out, {choice} back, tallied across voters", async () => {
        const questions: unknown[] = [];
        world.register("b", (m) => {
          questions.push(m.payload);
          return { choice: "sushi" };
        });
        world.register("c", (m) => {
          questions.push(m.payload);
          return { choice: "sushi", rationale: "fresh" };
        });
        const payload: MessagePayloads["consensus_vote"] = { question: "lunch?", options: ["pizza", "sushi"] };
        const votes = await Promise.all(
          (["b", "c"] as const).map((voter) => world.bus("a").request(voter, from("a", { type: "consensus_vote", correlationId: "vote-1", payload }))),
        );
        expect(questions).toEqual([payload, payload]);
        for (const vote of votes) {
          expect(vote.type).toBe("consensus_vote");
          expect(vote.correlationId).toBe("vote-1");
          expect((vote.payload as MessagePayloads["consensus_vote"]).choice).toBe("sushi");
        }
        expect(votes.map((v) => v.from).sort()).toEqual(["b", "c"]);
        expect((votes.find((v) => v.from === "c")?.payload as MessagePayloads["consensus_vote"]).rationale).toBe("fresh");
      });

      it("capability_query: {capability} out, a capability_answer {capability, canHandle} back", async () => {
        let seen: unknown;
        world.register("c", (m) => {
          seen = m.payload;
          const { capability } = m.payload as MessagePayloads["capability_query"];
          return { capability, canHandle: capability === "ocr" };
        });
        const yes = await world.bus("a").request("c", from("a", { type: "capability_query", payload: { capability: "ocr" } }));
        const no = await world.bus("a").request("c", from("a", { type: "capability_query", payload: { capability: "translate" } }));
        expect(seen).toEqual({ capability: "translate" });
        expect(yes.type).toBe("capability_answer");
        expect(yes.payload).toEqual({ capability: "ocr", canHandle: true });
        expect(no.payload).toEqual({ capability: "translate", canHandle: false });
      });
    });
  });
}
