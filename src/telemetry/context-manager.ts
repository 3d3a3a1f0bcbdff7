/**
 * The active trace context follows async work through node's AsyncLocalStorage: a task handler that
 * awaits, sets timers or submits a sub-task still runs inside its task's span, so the sub-task's spans are
 * its children. A minimal OpenTelemetry ContextManager (functions only; event emitters are not patched —
 * the mesh passes contexts explicitly where callbacks cross an emitter).
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { ROOT_CONTEXT, type Context, type ContextManager } from "@opentelemetry/api";

/** A ContextManager over AsyncLocalStorage. */
export class AsyncContextManager implements ContextManager {
  private readonly storage = new AsyncLocalStorage<Context>();

  /** The context of the running async work (the root context outside any). */
  active(): Context {
    return this.storage.getStore() ?? ROOT_CONTEXT;
  }

  /** Runs `fn` with `context` active, for everything it does synchronously and asynchronously. */
  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(context: Context, fn: F, thisArg?: ThisParameterType<F>, ...args: A): ReturnType<F> {
    const cb = thisArg === undefined ? fn : fn.bind(thisArg);
    return this.storage.run(context, cb as never, ...args) as ReturnType<F>;
  }

  /** `target` (a function) bound to run with `context` active; other values are returned unchanged. */
  bind<T>(context: Context, target: T): T {
    if (typeof target !== "function") return target;
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const manager = this;
    const bound = function (this: unknown, ...args: unknown[]) {
      return manager.with(context, () => (target as (...a: unknown[]) => unknown).apply(this, args));
    };
    return bound as T;
  }

  /** Nothing to set up. */
  enable(): this {
    return this;
  }

  /** Forgets the active context of the current async chain. */
  disable(): this {
    this.storage.disable();
    return this;
  }
}
