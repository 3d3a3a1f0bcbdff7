/**
 * A bounded window of recently seen message ids. A request's entry keeps its reply, so a retried request
 * gets the same answer without running its handler again. When full, the oldest id is forgotten.
 */

/** What is remembered of one message. */
export interface SeenEntry<R> {
  /** The reply, once the handler finished (requests only). */
  reply?: R;
}

/** Remembers the last `capacity` message ids. */
export class DedupeWindow<R> {
  private readonly seen = new Map<string, SeenEntry<R>>();

  /** Creates a window holding `capacity` ids. */
  constructor(private readonly capacity: number) {}

  /** The entry of `id` if it was seen, else records it and returns undefined. */
  check(id: string): SeenEntry<R> | undefined {
    const entry = this.seen.get(id);
    if (entry !== undefined) return entry;
    this.seen.set(id, {});
    if (this.seen.size > this.capacity) {
      const oldest = this.seen.keys().next().value as string;
      this.seen.delete(oldest);
    }
    return undefined;
  }

  /** Records the reply to request `id` (if still remembered). */
  setReply(id: string, reply: R): void {
    const entry = this.seen.get(id);
    if (entry !== undefined) entry.reply = reply;
  }

  /** Ids remembered now. */
  get size(): number {
    return this.seen.size;
  }
}
