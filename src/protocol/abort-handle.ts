/**
 * A cancellation handle for the mesh's own per-task paths (a task run, a routed call): `abort(reason)` settles
 * it once and runs the listeners registered with `onAbort`. Node's AbortSignal is an EventTarget whose
 * creation and listener bookkeeping cost several microseconds per task on the hot path (profiled: ~12 % of an
 * in-process routed task); the handle is a plain object, and makes an AbortSignal only when `signal` is read
 * (a task handler reading `ctx.signal`), which then follows the handle.
 */

/** A cancellation handle; see the file comment. */
export class AbortHandle {
  /** True once aborted. */
  aborted = false;
  /** Why it was aborted (undefined until then). */
  reason: unknown = undefined;
  private listeners: (() => void)[] | undefined;
  private controller: AbortController | undefined;

  /** Aborts with `reason` (once: later calls do nothing), then runs the listeners in the order they came. */
  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.controller?.abort(reason);
    const listeners = this.listeners;
    this.listeners = undefined;
    if (listeners !== undefined) for (const fn of listeners) fn();
  }

  /** Runs `fn` when the handle aborts (at once when it has); returns the function that unregisters it. */
  onAbort(fn: () => void): () => void {
    if (this.aborted) {
      fn();
      return noop;
    }
    (this.listeners ??= []).push(fn);
    return () => {
      const listeners = this.listeners;
      if (listeners === undefined) return;
      const i = listeners.indexOf(fn);
      if (i >= 0) listeners.splice(i, 1);
    };
  }

  /** An AbortSignal that aborts with the handle (made on first read). */
  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.aborted) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }
}

function noop(): void {}
