/** Small helpers over async iterables. */

/** Maps every item of an async iterable. */
export async function* mapAsync<T, U>(source: AsyncIterable<T>, fn: (item: T) => U): AsyncGenerator<U> {
  for await (const item of source) yield fn(item);
}

/** A single-consumer async queue: push items, end or fail it; iterate to receive them in order. */
export class Channel<T> implements AsyncIterable<T> {
  private items: T[] = [];
  private done = false;
  private error: unknown;
  private waiter: (() => void) | undefined;

  /** Adds an item (ignored once ended). */
  push(item: T): void {
    if (this.done) return;
    this.items.push(item);
    this.notify();
  }

  /** Ends the stream after the queued items. */
  end(): void {
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

  private notify(): void {
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
