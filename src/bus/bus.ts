/**
 * The MessageBus seam of the source document (publish, subscribe, request), extended with what agents need
 * to address each other: one-way `send`, `broadcast`, and `attach` to receive what is addressed to an
 * agent. Two implementations pass one contract suite: LocalMessageBus (agents in one process) and
 * MeshMessageBus (agents across the mesh, over peer links).
 */
import type { Message, MessageInit } from "../protocol/message.js";

export type { Message, MessageInit, MessageType, MessagePayloads } from "../protocol/message.js";

/**
 * Receives a message. For a request, the value returned (or resolved) is the reply: a MessageInit
 * (`{type, payload}`) is sent as is, any other value becomes the payload of a reply of the request's type.
 * Throwing (or rejecting) fails the request with that error. For other messages the return value is ignored.
 */
export type MessageHandler = (message: Message) => unknown | Promise<unknown>;

/** Stops a subscription. */
export interface Subscription {
  /** Stops delivery to the handler; harmless when called twice. */
  unsubscribe(): void;
}

/** Options of one request. */
export interface RequestOptions {
  /** How long to wait for the reply, ms; default: the bus's requestTimeoutMs. */
  timeoutMs?: number;
  /** Abort to give up early (the request fails with CANCELLED). */
  signal?: AbortSignal;
}

/** Publish/subscribe and request/response between agents. */
export interface MessageBus {
  /** Delivers `message` to every subscriber of `topic`, on every agent; resolves once handed over for delivery. */
  publish(topic: string, message: MessageInit): Promise<void>;
  /** Calls `handler` for each message published to `topic` from now on. */
  subscribe(topic: string, handler: MessageHandler): Subscription;
  /**
   * Sends `message` to agent `agentId` and resolves with its reply. Fails with NOT_FOUND (unknown agent),
   * UNAVAILABLE (unreachable after bounded retries), DEADLINE_EXCEEDED (no reply in time), or the error
   * the receiving handler threw. Retries reuse the message id, so the handler runs once.
   */
  request(agentId: string, message: MessageInit, options?: RequestOptions): Promise<Message>;
  /** Sends `message` one-way to agent `agentId`'s attached handlers. */
  send(agentId: string, message: MessageInit): Promise<void>;
  /** Sends `message` one-way to every agent's attached handlers (the sender's included). */
  broadcast(message: MessageInit): Promise<void>;
  /** Receives what is addressed to `agentId`: requests, direct messages and broadcasts. */
  attach(agentId: string, handler: MessageHandler): Subscription;
}

/** Bus limits and timers, with defaults. */
export interface BusConfig {
  /** Default time a request waits for its reply, ms. Default 30000. */
  requestTimeoutMs: number;
  /** Attempts per request on transient failures (link down, queue full), the first included. Default 3. */
  maxAttempts: number;
  /** First retry delay, ms; doubles per attempt. Default 50. */
  retryInitialMs: number;
  /** Longest retry delay, ms. Default 1000. */
  retryMaxMs: number;
  /** Message ids remembered to deliver duplicates once (and answer repeated requests from the cache). Default 10000. */
  dedupeWindow: number;
  /**
   * Bytes of a reply kept in the dedupe window's preallocated memory (dedupeWindow × this, zero-filled, mapped in
   * as used); a longer reply is kept as an object of its own, which the GC copies and promotes. Default 384: a
   * small reply with its trace context (~300 bytes).
   */
  dedupeReplyBytes: number;
  /** Hops a message may take when it does not set its own limit. Default 8. */
  hopLimit: number;
}

/** Defaults tuned for a LAN. */
export const defaultBusConfig: Readonly<BusConfig> = Object.freeze({
  requestTimeoutMs: 30_000,
  maxAttempts: 3,
  retryInitialMs: 50,
  retryMaxMs: 1000,
  dedupeWindow: 10_000,
  dedupeReplyBytes: 384,
  hopLimit: 8,
});

/** The topic every agent's attached handlers hear broadcasts on (local bus bookkeeping). */
export const BROADCAST = "broadcast";
