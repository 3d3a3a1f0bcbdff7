/**
 * A guard for `agent-mesh node` against one known fault of @connectrpc/connect-node (up to 2.2.0, issue
 * connectrpc/connect-es#1795): the HTTP/2 keepalive timer of an Http2SessionManager can fire after its session was
 * destroyed but before the session's close handler stopped the timer; ClientHttp2Session.ping() then throws
 * ERR_HTTP2_INVALID_SESSION synchronously from a timer, which ends the process. Peer links keep such sessions,
 * and a node resumed after SIGSTOP runs its overdue timers before the close events of the sessions its peers
 * dropped meanwhile, so it hits the race. The throw happens before the ping is sent and leaves nothing half done
 * (the session is gone and its own close handler cleans up), so the node ignores that one error with a warning.
 * Every other uncaught exception still ends the process as it would without the guard.
 */
import type { Logger } from "../protocol/logger.js";

/** True for the error connect-node's keepalive throws when it pings a destroyed HTTP/2 session. */
export function isKeepalivePingOnDestroyedSession(err: unknown): boolean {
  if (!(err instanceof Error) || (err as NodeJS.ErrnoException).code !== "ERR_HTTP2_INVALID_SESSION") return false;
  const stack = err.stack ?? "";
  return stack.includes("ClientHttp2Session.ping") && stack.includes("http2-session-manager");
}

/** Installs the guard for the process; returns its removal. */
export function guardKeepalivePing(logger: Logger): () => void {
  const onUncaught = (err: unknown) => {
    if (isKeepalivePingOnDestroyedSession(err)) {
      logger.warn({ err: (err as Error).message }, "ignored a keepalive ping on a destroyed HTTP/2 session (connect-es#1795)");
      return;
    }
    // Not ours to handle: uninstall and raise it again, so Node reports it and exits as it would have.
    process.off("uncaughtException", onUncaught);
    process.nextTick(() => {
      throw err;
    });
  };
  process.on("uncaughtException", onUncaught);
  return () => process.off("uncaughtException", onUncaught);
}
