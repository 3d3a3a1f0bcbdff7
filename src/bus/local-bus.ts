/**
 * The in-process bus of the source document (LocalMessageBus), extended to the full contract: requests with
 * deadlines, dedupe by message id, and hop limits. For agents that share one process.
 */
import { systemClock, type Clock } from "../protocol/clock.js";
import { Code, MeshError } from "../protocol/errors.js";
import type { Message, MessageInit } from "../protocol/message.js";
import { withDefaults } from "../protocol/config.js";
import { BROADCAST, defaultBusConfig, type BusConfig, type MessageBus, type MessageHandler, type RequestOptions, type Subscription } from "./bus.js";
import { Deadlines } from "./deadlines.js";
import { DedupeWindow } from "./dedupe.js";
import { checkHops, completeMessage, HandlerTable, replyInit } from "./message-utils.js";

/** Options of a LocalMessageBus. */
export interface LocalMessageBusOptions {
  /** Limits and timers. */
  config?: Partial<BusConfig>;
  /** Time source. */
  clock?: Clock;
  /** The sender id of messages published from outside any agent. Default "local". */
  selfId?: string;
}

/** A MessageBus for agents in one process. */
export class LocalMessageBus implements MessageBus {
  private readonly topics = new HandlerTable();
  private readonly agents = new HandlerTable();
  private readonly config: BusConfig;
  private readonly clock: Clock;
  private readonly deadlines: Deadlines;
  private readonly seen: DedupeWindow<Promise<Message>>;
  private readonly selfId: string;

  /** Creates an empty bus. */
  constructor(options: LocalMessageBusOptions = {}) {
    this.config = withDefaults(defaultBusConfig, options.config);
    this.clock = options.clock ?? systemClock;
    this.deadlines = new Deadlines(this.clock);
    this.seen = new DedupeWindow(this.config.dedupeWindow);
    this.selfId = options.selfId ?? "local";
  }

  async publish(topic: string, message: MessageInit): Promise<void> {
    const m = completeMessage({ ...message, topic }, message.from ?? this.selfId, topic);
    if (this.seen.check(m.id) !== undefined) return;
    await this.topics.deliver(topic, m);
  }

  subscribe(topic: string, handler: MessageHandler): Subscription {
    return this.topics.add(topic, handler);
  }

  async send(agentId: string, message: MessageInit): Promise<void> {
    if (!this.agents.has(agentId)) throw new MeshError(Code.NotFound, `agent ${agentId} is not on this bus`);
    const m = completeMessage(message, message.from ?? this.selfId, agentId);
    if (this.seen.check(m.id) !== undefined) return;
    checkHops(m.hops, this.config.hopLimit, `message ${m.id}`);
    await this.agents.deliver(agentId, m);
  }

  async broadcast(message: MessageInit): Promise<void> {
    const m = completeMessage(message, message.from ?? this.selfId, BROADCAST);
    if (this.seen.check(m.id) !== undefined) return;
    await Promise.all([...this.agentIds()].map((id) => this.agents.deliver(id, m)));
  }

  attach(agentId: string, handler: MessageHandler): Subscription {
    return this.agents.add(agentId, handler);
  }

  request(agentId: string, message: MessageInit, options: RequestOptions = {}): Promise<Message> {
    const m = completeMessage(message, message.from ?? this.selfId, agentId);
    const previous = this.seen.check(m.id);
    if (previous?.reply !== undefined) return previous.reply;
    const reply = this.run(agentId, m, options);
    this.seen.setReply(m.id, reply);
    return reply;
  }

  private run(agentId: string, m: Message, options: RequestOptions): Promise<Message> {
    return new Promise<Message>((resolve, reject) => {
      if (!this.agents.has(agentId)) {
        reject(new MeshError(Code.NotFound, `agent ${agentId} is not on this bus`));
        return;
      }
      try {
        checkHops(m.hops, this.config.hopLimit, `message ${m.id}`);
      } catch (err) {
        reject(err);
        return;
      }
      const timeoutMs = options.timeoutMs ?? this.config.requestTimeoutMs;
      const deadline = this.deadlines.add(this.clock.now() + timeoutMs, () =>
        reject(new MeshError(Code.DeadlineExceeded, `no reply from agent ${agentId} within ${timeoutMs} ms (${m.type})`)),
      );
      const onAbort = () => reject(new MeshError(Code.Canceled, `request to agent ${agentId} cancelled`));
      options.signal?.addEventListener("abort", onAbort, { once: true });
      this.agents.answer(agentId, m).then(
        (value) => {
          const init = replyInit(m, value);
          resolve(completeMessage({ ...init, correlationId: m.correlationId, hops: m.hops }, agentId, m.from));
        },
        (err) => reject(MeshError.from(err, Code.Unknown)),
      ).finally(() => {
        deadline.cancel();
        options.signal?.removeEventListener("abort", onAbort);
      });
    });
  }

  private agentIds(): string[] {
    return this.agents.keys();
  }
}
