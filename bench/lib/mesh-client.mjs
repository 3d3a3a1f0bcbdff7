/**
 * The benchmark's clients of a node: AgentService over connect-node's gRPC transport (one HTTP/2 session
 * per node) for control and streams, a grpc-js client for timed unary calls, and a membership watcher that
 * timestamps every WatchMembership event.
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import * as grpc from "@grpc/grpc-js";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { AgentService, MembershipEventKind } from "../../dist/gen/agentmesh/v1/agent_service_pb.js";
import { MemberStatus } from "../../dist/gen/agentmesh/v1/membership_pb.js";

/** The generated enums the benchmark compares membership events and agent states with. */
export { MemberStatus, MembershipEventKind };

/** An AgentService client of the node at `address` (host:port); close() ends its HTTP/2 session. */
export function nodeClient(address) {
  const baseUrl = `http://${address}`;
  const sessionManager = new Http2SessionManager(baseUrl);
  const service = createClient(AgentService, createGrpcTransport({ baseUrl, sessionManager }));
  return { address, service, close: () => sessionManager.abort() };
}

/**
 * A grpc-js client of AgentService's unary methods on the node at `address` (the same client library as the
 * load generator; used where the benchmark times single calls). call(name, init) resolves with the decoded
 * response of method `name` (e.g. "reachConsensus").
 */
export function grpcAgentClient(address) {
  const client = new grpc.Client(address, grpc.credentials.createInsecure(), { "grpc.use_local_subchannel_pool": 1 });
  return {
    call(name, init) {
      const method = AgentService.method[name];
      if (method === undefined) return Promise.reject(new Error(`AgentService has no method ${name}`));
      const bytes = Buffer.from(toBinary(method.input, create(method.input, init)));
      const identity = (b) => b;
      return new Promise((resolve, reject) =>
        client.makeUnaryRequest(`/${AgentService.typeName}/${method.name}`, identity, identity, bytes, (err, res) => (err ? reject(err) : resolve(fromBinary(method.output, res)))),
      );
    },
    close: () => client.close(),
  };
}

/**
 * Watches one node's membership (WatchMembership) and keeps every event with the time it arrived here
 * (performance.now(), ms). waitFor(predicate, timeoutMs) resolves with the arrival time of the first event,
 * past or future, that satisfies the predicate.
 */
export function watchMembership(client) {
  const events = [];
  const waiters = new Set();
  const abort = new AbortController();
  let failed;
  void (async () => {
    try {
      for await (const res of client.service.watchMembership({}, { signal: abort.signal })) {
        const e = { at: performance.now(), kind: res.kind, snapshot: res.snapshot, agent: res.agent };
        events.push(e);
        for (const w of [...waiters]) if (w.predicate(e)) w.resolve(e.at);
      }
    } catch (err) {
      failed = err;
      for (const w of [...waiters]) w.reject(err);
    }
  })();
  return {
    events,
    /** Resolves with the arrival time of the first event (from `since` on) matching `predicate`; rejects after `timeoutMs`. */
    waitFor(predicate, timeoutMs, since = 0) {
      const past = events.find((e) => e.at >= since && predicate(e));
      if (past !== undefined) return Promise.resolve(past.at);
      if (failed !== undefined) return Promise.reject(failed);
      return new Promise((resolve, reject) => {
        const w = {
          predicate: (e) => e.at >= since && predicate(e),
          resolve: (at) => {
            clearTimeout(w.timer);
            waiters.delete(w);
            resolve(at);
          },
          reject: (err) => {
            clearTimeout(w.timer);
            waiters.delete(w);
            reject(err);
          },
        };
        w.timer = setTimeout(() => w.reject(new Error(`no such membership event at ${client.address} within ${timeoutMs} ms`)), timeoutMs);
        waiters.add(w);
      });
    },
    /** Stops watching. */
    close: () => abort.abort(),
  };
}

/** Polls `check` every `intervalMs` until it returns a truthy value (resolved with it) or `timeoutMs` passes (rejects naming `what`). */
export async function pollUntil(check, { timeoutMs, intervalMs = 20, what }) {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value) return value;
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
