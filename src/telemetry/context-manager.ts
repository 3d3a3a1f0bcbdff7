/**
 * Where the active trace context lives. Two OpenTelemetry ContextManagers (functions only; event emitters
 * are not patched — the mesh passes contexts explicitly where callbacks cross an emitter):
 *
 * - AsyncContextManager: the active context follows async work through node's AsyncLocalStorage, so a task
 *   handler that awaits, sets timers or submits a sub-task still runs inside its task's span, and the
 *   sub-task's spans are its children. Before Node 24 AsyncLocalStorage works through promise hooks: every
 *   promise of the process then costs some 70 ns more (on the routed benchmark, most of tracing's cost).
 * - SyncContextManager: the active context is set only for the synchronous extent of `with` — no hooks, no
 *   cost on promises. The mesh's own spans keep their parents (it passes contexts explicitly from call to
 *   call, TaskContext.delegate included), as does what a handler does before its first await; after one, a
 *   handler's log lines carry no trace ids (their correlation id still leads to the trace) and what it
 *   submits with node.submit starts a trace of its own.
 *
 * startTracing picks one (tracing.ts, asyncContextFromEnv): AsyncLocalStorage where it is cheap (Node 24),
 * else the synchronous one, unless AGENT_MESH_TRACE_ASYNC_CONTEXT says otherwise. Under the synchronous one,
 * the collaboration patterns keep their rounds in one trace through withAsyncContext (AsyncLocalStorage
 * enabled only while a round runs).
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { context, ROOT_CONTEXT, type Context, type ContextManager } from "@opentelemetry/api";
import type { Logger } from "../protocol/logger.js";

/** `target` (a function) bound to run with `context` active in `manager`; other values are returned unchanged. */
function bindToContext<T>(manager: ContextManager, context: Context, target: T): T {
  if (typeof target !== "function") return target;
  const bound = function (this: unknown, ...args: unknown[]) {
    return manager.with(context, () => (target as (...a: unknown[]) => unknown).apply(this, args));
  };
  return bound as T;
}

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
    return bindToContext(this, context, target);
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

/**
 * A ContextManager whose active context lasts for the synchronous extent of `with`; see the file comment.
 * `withAsync` is the exception for work that must keep its context across awaits and is rare enough to pay for
 * AsyncLocalStorage while it runs (a collaboration pattern's rounds): the storage is enabled for it and
 * disabled again when no such work is left, so promise hooks run only meanwhile.
 */
export class SyncContextManager implements ContextManager {
  /** The context of the innermost running `with`; undefined outside any. */
  private current: Context | undefined;
  private readonly scoped = new AsyncLocalStorage<Context>();
  private scopes = 0;

  /** The context set by the innermost running `with`, else that of a running `withAsync`, else the root context. */
  active(): Context {
    if (this.current !== undefined) return this.current;
    return this.scopes > 0 ? (this.scoped.getStore() ?? ROOT_CONTEXT) : ROOT_CONTEXT;
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

  /** Runs `fn` with `context` active across its awaits too (AsyncLocalStorage, enabled until no such run is left). */
  withAsync<T>(context: Context, fn: () => Promise<T>): Promise<T> {
    this.scopes++;
    let result: Promise<T>;
    try {
      result = this.scoped.run(context, () => this.with(context, fn));
    } catch (err) {
      this.release();
      throw err;
    }
    const release = () => this.release();
    void result.then(release, release);
    return result;
  }

  private release(): void {
    if (--this.scopes === 0) this.scoped.disable();
  }

  /** `target` (a function) bound to run with `context` active; other values are returned unchanged. */
  bind<T>(context: Context, target: T): T {
    return bindToContext(this, context, target);
  }

  /** Nothing to set up. */
  enable(): this {
    return this;
  }

  /** Back to the root context. */
  disable(): this {
    this.current = undefined;
    return this;
  }
}

let installed: ContextManager | undefined;

/** Records the context manager made the API's global one (tracing.ts), for withAsyncContext. */
export function noteInstalledContextManager(manager: ContextManager): void {
  installed = manager;
}

/**
 * Runs `fn` with `ctx` active across its awaits whatever the installed manager: context.with under
 * AsyncLocalStorage (or a manager this module did not make), SyncContextManager.withAsync under the
 * synchronous one. For the rare work whose later steps need their parent (a collaboration pattern's rounds).
 */
export function withAsyncContext<T>(ctx: Context, fn: () => Promise<T>): Promise<T> {
  return installed instanceof SyncContextManager ? installed.withAsync(ctx, fn) : context.with(ctx, fn);
}

/**
 * A logger whose every line is written with `ctx` active, so its lines carry that context's trace and span ids
 * whenever they are written — after a handler's awaits too, whatever context manager is installed.
 */
export function loggerInContext(log: Logger, ctx: Context): Logger {
  return {
    debug: (fields, msg) => context.with(ctx, () => log.debug(fields, msg)),
    info: (fields, msg) => context.with(ctx, () => log.info(fields, msg)),
    warn: (fields, msg) => context.with(ctx, () => log.warn(fields, msg)),
    error: (fields, msg) => context.with(ctx, () => log.error(fields, msg)),
    child: (fields) => loggerInContext(log.child(fields), ctx),
  };
}
