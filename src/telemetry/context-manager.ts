/**
 * Where the active trace context lives. Two OpenTelemetry ContextManagers (functions only; event emitters
 * are not patched — the mesh passes contexts explicitly where callbacks cross an emitter):
 *
 * - AsyncContextManager (the default): the active context follows async work through node's
 *   AsyncLocalStorage, so a task handler that awaits, sets timers or submits a sub-task still runs inside its
 *   task's span, and the sub-task's spans are its children. On Node 20 AsyncLocalStorage works through
 *   promise hooks: every promise of the process then costs some 70 ns more.
 * - SyncContextManager: the active context is set only for the synchronous extent of `with` — no hooks, no
 *   cost on promises. The mesh's own spans keep their parents (it passes contexts explicitly from call to
 *   call), as does what a handler does before its first await; after one, a handler's log lines carry no
 *   trace ids and what it submits starts a trace of its own (with the task's correlation id when given).
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

/** A ContextManager whose active context lasts for the synchronous extent of `with`; see the file comment. */
export class SyncContextManager implements ContextManager {
  private current: Context = ROOT_CONTEXT;

  /** The context set by the innermost running `with` (the root context outside any). */
  active(): Context {
    return this.current;
  }

  /** Runs `fn` with `context` active until it returns (not across its awaits). */
  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(context: Context, fn: F, thisArg?: ThisParameterType<F>, ...args: A): ReturnType<F> {
    const previous = this.current;
    this.current = context;
    try {
      return fn.call(thisArg, ...args);
    } finally {
      this.current = previous;
    }
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

  /** Back to the root context. */
  disable(): this {
    this.current = ROOT_CONTEXT;
    return this;
  }
}
