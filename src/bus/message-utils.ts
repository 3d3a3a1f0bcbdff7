/** Helpers both bus implementations share: filling in messages, hop checks, handler fan-out. */
import { Code, MeshError } from "../protocol/errors.js";
import { newId } from "../protocol/ids.js";
import type { Message, MessageInit } from "../protocol/message.js";
import type { MessageHandler, Subscription } from "./bus.js";

/** A complete message from `init`, sent by `from` to `to`. */
export function completeMessage(init: MessageInit, from: string, to: string): Message {
  return {
    id: init.id ?? newId(),
    type: init.type,
    from,
    to,
    topic: init.topic,
    payload: init.payload,
    timestamp: init.timestamp ?? new Date(),
    correlationId: init.correlationId ?? newId(),
    hops: init.hops ?? 0,
  };
}

/** The message to send when passing `message` on to another agent: same correlation id, one more hop. */
export function forwarded(message: Message): MessageInit {
  return { type: message.type, payload: message.payload, correlationId: message.correlationId, hops: message.hops + 1 };
}

/** Fails with FAILED_PRECONDITION when `hops` exceeds `limit`. */
export function checkHops(hops: number, limit: number, what: string): void {
  if (hops > limit) {
    throw new MeshError(Code.FailedPrecondition, `hop limit ${limit} exceeded by ${what} (${hops} hops): forwarding chain stopped`);
  }
}

/** Interprets a handler's return value as a reply to `request`. */
export function replyInit(request: Message, value: unknown): MessageInit {
  if (value !== null && typeof value === "object" && "type" in value && "payload" in value && typeof (value as MessageInit).type === "string") {
    return value as MessageInit;
  }
  const type = request.type === "task_request" ? "task_result" : request.type === "capability_query" ? "capability_answer" : request.type === "collaboration_invite" ? "collaboration_reply" : request.type;
  return { type, payload: value === undefined ? null : value };
}

/** Handlers per key (topic or agent id). */
export class HandlerTable {
  private readonly table = new Map<string, MessageHandler[]>();

  /** Adds a handler for `key`. */
  add(key: string, handler: MessageHandler): Subscription {
    const list = this.table.get(key) ?? [];
    list.push(handler);
    this.table.set(key, list);
    let active = true;
    return {
      unsubscribe: () => {
        if (!active) return;
        active = false;
        const current = this.table.get(key);
        if (current === undefined) return;
        const next = current.filter((h) => h !== handler);
        if (next.length === 0) this.table.delete(key);
        else this.table.set(key, next);
      },
    };
  }

  /** The handlers of `key` now (a snapshot). */
  get(key: string): readonly MessageHandler[] {
    return this.table.get(key) ?? [];
  }

  /** Every key with handlers. */
  keys(): string[] {
    return [...this.table.keys()];
  }

  /** True when `key` has handlers. */
  has(key: string): boolean {
    return this.table.has(key);
  }

  /** Runs every handler of `key` with `message`; returns the errors they raised. */
  async deliver(key: string, message: Message): Promise<unknown[]> {
    const errors: unknown[] = [];
    await Promise.all(
      this.get(key).map(async (h) => {
        try {
          await h(message);
        } catch (err) {
          errors.push(err);
        }
      }),
    );
    return errors;
  }

  /** Runs the handlers of `key` in order for a request; the first value other than undefined is the answer. */
  async answer(key: string, message: Message): Promise<unknown> {
    return this.answerNow(key, message);
  }

  /**
   * answer() without a promise while the handlers answer synchronously: the answer itself, or a promise of it
   * from the first handler that returns one. A handler that throws synchronously throws here.
   */
  answerNow(key: string, message: Message): unknown {
    return answerFrom(this.get(key), 0, message);
  }
}

/** The first answer other than undefined of handlers[from...] to `message`, waiting for promises (see answerNow). */
function answerFrom(handlers: readonly MessageHandler[], from: number, message: Message): unknown {
  for (let i = from; i < handlers.length; i++) {
    const value = handlers[i](message);
    if (isThenable(value)) return Promise.resolve(value).then((v) => (v !== undefined ? v : answerFrom(handlers, i + 1, message)));
    if (value !== undefined) return value;
  }
  return undefined;
}

/** True for a promise or any object with a `then` method (what `await` waits for). */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && (typeof value === "object" || typeof value === "function") && typeof (value as { then?: unknown }).then === "function";
}
