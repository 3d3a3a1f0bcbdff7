/** Promise helpers shared by the layers. */
import { AbortHandle } from "./abort-handle.js";

/** `promise`, or a rejection with the signal's (or handle's) reason as soon as `signal` aborts. */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal | AbortHandle): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  if (signal instanceof AbortHandle) {
    const handle = signal;
    return new Promise<T>((resolve, reject) => {
      const off = handle.onAbort(() => reject(handle.reason));
      promise.then(
        (v) => {
          off();
          resolve(v);
        },
        (e) => {
          off();
          reject(e);
        },
      );
    });
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener("abort", onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener("abort", onAbort);
        reject(e);
      },
    );
  });
}
