/**
 * The load generator: a bench helper process that drives closed-loop load against one target at a time
 * and reports the rate and latency. Every kind keeps ONE connection per target, reused across runs, with
 * `concurrency` requests in flight on it:
 *
 * - `tcp`: length-prefixed frames on one TCP connection to the echo floor (pipelined; writes of one tick
 *   go out in one syscall);
 * - `grpc`: the raw grpc-js unary echo (one HTTP/2 connection, a stream per call);
 * - `submit`: AgentService.SubmitTask through grpc-js (one HTTP/2 connection, a stream per call).
 *
 * Ops: `run` {kind, address, concurrency, durationMs, capability} → {requests, errors, wallMs, rps, p50Us,
 * p99Us}; `submit` {address, capability, input, timeoutMs} → one SubmitTask's decoded output (used to start
 * the in-node link load generator).
 */
import { connect } from "node:net";
import * as grpc from "@grpc/grpc-js";
import { serveHelper } from "./helper.mjs";
import { latencySummary } from "./stats.mjs";
import { decodeSubmitTaskResponse, ECHO_SERVICE, PAYLOAD_BYTES, PAYLOAD_TEXT, submitTaskOutput, submitTaskRequest, SUBMIT_TASK_PATH } from "./wire.mjs";

const clients = new Map();
const latencies = new Float64Array(4_000_000);

/** A pipelined length-prefixed TCP client: request() resolves when its echo (the next frame back) arrives. */
async function tcpClient(address) {
  const [host, port] = splitAddress(address);
  const socket = connect({ host, port, noDelay: true });
  await new Promise((resolve, reject) => socket.once("connect", resolve).once("error", reject));
  const frame = Buffer.alloc(4 + PAYLOAD_BYTES, "x");
  frame.writeUInt32BE(PAYLOAD_BYTES, 0);
  const waiting = [];
  let head = 0;
  let pending = Buffer.alloc(0);
  let corked = false;
  socket.on("data", (chunk) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    let at = 0;
    while (pending.length - at >= 4) {
      const size = pending.readUInt32BE(at);
      if (pending.length - at - 4 < size) break;
      at += 4 + size;
      const resolve = waiting[head];
      waiting[head++] = undefined;
      resolve();
    }
    if (head > 1024 && head * 2 > waiting.length) {
      waiting.splice(0, head);
      head = 0;
    }
    pending = at === pending.length ? Buffer.alloc(0) : pending.subarray(at);
  });
  return {
    request: () =>
      new Promise((resolve) => {
        waiting.push(resolve);
        if (!corked) {
          corked = true;
          socket.cork();
          process.nextTick(() => {
            corked = false;
            socket.uncork();
          });
        }
        socket.write(frame);
      }),
    close: () => socket.destroy(),
  };
}

/** A grpc-js client on one channel (one HTTP/2 connection) calling `path` with pre-encoded `body`. */
function grpcClient(address, path, body, check) {
  const client = new grpc.Client(address, grpc.credentials.createInsecure(), { "grpc.use_local_subchannel_pool": 1 });
  const identity = (b) => b;
  let checked = false;
  return {
    request: () =>
      new Promise((resolve, reject) =>
        client.makeUnaryRequest(path, identity, identity, body, (err, res) => {
          if (err) return reject(err);
          if (!checked) {
            checked = true;
            try {
              check(res);
            } catch (e) {
              return reject(e);
            }
          }
          resolve();
        }),
      ),
    close: () => client.close(),
  };
}

/** host and port of "host:port". */
function splitAddress(address) {
  const i = address.lastIndexOf(":");
  return [address.slice(0, i), Number(address.slice(i + 1))];
}

/** The cached client of `kind` for `address` (and capability, for SubmitTask). */
async function clientFor(kind, address, capability) {
  const key = `${kind}|${address}|${capability ?? ""}`;
  let c = clients.get(key);
  if (c !== undefined) return c;
  if (kind === "tcp") c = await tcpClient(address);
  else if (kind === "grpc") {
    const body = Buffer.alloc(PAYLOAD_BYTES, "x");
    c = grpcClient(address, ECHO_SERVICE.echo.path, body, (res) => {
      if (!body.equals(res)) throw new Error("grpc echo: the reply differs from the request");
    });
  } else if (kind === "submit") {
    c = grpcClient(address, SUBMIT_TASK_PATH, submitTaskRequest(capability, PAYLOAD_TEXT), (res) => {
      const out = submitTaskOutput(decodeSubmitTaskResponse(res));
      if (out !== PAYLOAD_TEXT) throw new Error(`SubmitTask ${capability}: unexpected output ${JSON.stringify(out).slice(0, 80)}`);
    });
  } else throw new Error(`unknown kind ${kind}`);
  clients.set(key, c);
  return c;
}

/** One closed-loop run: `concurrency` workers, each sending its next request when the previous one answered. */
async function run({ kind, address, concurrency, durationMs, capability }) {
  const client = await clientFor(kind, address, capability);
  let count = 0;
  let errors = 0;
  let firstError;
  const started = performance.now();
  const end = started + durationMs;
  const worker = async () => {
    for (;;) {
      const t0 = performance.now();
      if (t0 >= end) return;
      try {
        await client.request();
        if (count < latencies.length) latencies[count] = (performance.now() - t0) * 1000;
        count++;
      } catch (err) {
        errors++;
        firstError ??= err instanceof Error ? err.message : String(err);
        if (errors > 100) return;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const wallMs = performance.now() - started;
  const lat = latencySummary(latencies.subarray(0, Math.min(count, latencies.length)));
  return { requests: count, errors, firstError, wallMs, rps: count / (wallMs / 1000), p50Us: lat.p50, p99Us: lat.p99 };
}

/** One SubmitTask with a JSON input; resolves with the decoded output. */
async function submitOnce({ address, capability, input, timeoutMs }) {
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  const identity = (b) => b;
  try {
    const res = await new Promise((resolve, reject) =>
      client.makeUnaryRequest(SUBMIT_TASK_PATH, identity, identity, submitTaskRequest(capability, input, timeoutMs), (err, r) => (err ? reject(err) : resolve(r))),
    );
    return submitTaskOutput(decodeSubmitTaskResponse(res));
  } finally {
    client.close();
  }
}

serveHelper({ pid: process.pid }, { run, submit: submitOnce }, () => {
  for (const c of clients.values()) c.close();
});
