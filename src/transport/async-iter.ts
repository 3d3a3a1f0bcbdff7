/** Small helpers over async iterables. */

/** Maps every item of an async iterable. */
export async function* mapAsync<T, U>(source: AsyncIterable<T>, fn: (item: T) => U): AsyncGenerator<U> {
  for await (const item of source) yield fn(item);
}

/** Where a consumed Channel delivers: the items, then the end or the error. */
interface Sink<T> {
  onItem(item: T): void;
  resolve(): void;
  reject(err: unknown): void;
}

/**
 * A single-consumer async queue: push items, end or fail it; iterate to receive them in order, or `consume`
 * them with a callback (synchronously as they are pushed: no promise and no microtask per item).
 */
export class Channel<T> implements AsyncIterable<T> {
  private items: T[] = [];
  private done = false;
  private error: unknown;
  private waiter: (() => void) | undefined;
  private sink: Sink<T> | undefined;

  /** Adds an item (ignored once ended). A consumer's callback runs now; if it throws, the channel fails with that error. */
  push(item: T): void {
    if (this.done) return;
    const sink = this.sink;
    if (sink !== undefined) {
      try {
        sink.onItem(item);
      } catch (err) {
        this.fail(err);
      }
      return;
    }
    this.items.push(item);
    this.notify();
  }

  /** Ends the stream after the queued items. */
  end(): void {
    if (this.done) return;
    this.done = true;
    this.notify();
  }

  /** Ends the stream with an error, dropping queued items. */
  fail(err: unknown): void {
    if (this.done && this.error !== undefined) return;
    this.done = true;
    this.error = err ?? new Error("channel failed");
    this.items = [];
    this.notify();
  }

  /**
   * Delivers every item to `onItem` as it is pushed (those queued already, at once), instead of iteration.
   * Resolves when the channel ends; rejects when it fails, or with what `onItem` threw (the channel then fails).
   * Use it or iterate, not both.
   */
  consume(onItem: (item: T) => void): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      // Items pushed while these are delivered are queued behind them (the sink is set after).
      while (this.items.length > 0 && this.error === undefined) {
        const queued = this.items;
        this.items = [];
        for (const item of queued) {
          if (this.error !== undefined) break;
          try {
            onItem(item);
          } catch (err) {
            this.fail(err);
          }
        }
      }
      this.sink = { onItem, resolve, reject };
      this.notify();
    });
  }

  private notify(): void {
    const sink = this.sink;
    if (sink !== undefined) {
      if (this.error !== undefined) sink.reject(this.error);
      else if (this.done) sink.resolve();
      return;
    }
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<T> {
    for (;;) {
      if (this.error !== undefined) throw this.error;
      if (this.items.length > 0) {
        const batch = this.items;
        this.items = [];
        for (const item of batch) yield item;
        continue;
      }
      if (this.done) return;
      await new Promise<void>((resolve) => (this.waiter = resolve));
    }
  }
}

/**
 * Calls `onItem` with every item of `source` in order: synchronously as they arrive when `source` is a Channel
 * (consume), else through iteration. Resolves at the end of `source`; rejects with its error or what `onItem` threw.
 */
export function forEachItem<T>(source: AsyncIterable<T>, onItem: (item: T) => void): Promise<void> {
  if (source instanceof Channel) return (source as Channel<T>).consume(onItem);
  return (async () => {
    for await (const item of source) onItem(item);
  })();
}
