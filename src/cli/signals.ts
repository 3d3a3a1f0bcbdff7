/**
 * Stop requests for long-running commands: SIGTERM, SIGINT, or, for a process spawned with an IPC channel,
 * the parent going away. A second signal while stopping ends the process at once by that signal.
 */

/** What asked a command to stop. */
export type StopReason = "SIGTERM" | "SIGINT" | "parent-exit";

/** A pending stop request. */
export interface StopRequest {
  /** Resolves with the first reason to stop. */
  readonly requested: Promise<StopReason>;
  /** Removes the handlers. */
  dispose(): void;
}

/** Listens for a stop request until disposed. */
export function onStopRequest(): StopRequest {
  let deliver: (reason: StopReason) => void = () => {};
  let received: StopReason | undefined;
  const requested = new Promise<StopReason>((resolve) => (deliver = resolve));
  const onSignal = (signal: "SIGTERM" | "SIGINT") => {
    if (received !== undefined && received !== "parent-exit") {
      dispose();
      process.kill(process.pid, signal);
      return;
    }
    received = signal;
    deliver(signal);
  };
  const onTerm = () => onSignal("SIGTERM");
  const onInt = () => onSignal("SIGINT");
  const onDisconnect = () => {
    received ??= "parent-exit";
    deliver("parent-exit");
  };
  process.on("SIGTERM", onTerm);
  process.on("SIGINT", onInt);
  if (process.channel !== undefined) {
    process.channel.unref();
    process.once("disconnect", onDisconnect);
  }
  function dispose(): void {
    process.off("SIGTERM", onTerm);
    process.off("SIGINT", onInt);
    process.off("disconnect", onDisconnect);
  }
  return { requested, dispose };
}
