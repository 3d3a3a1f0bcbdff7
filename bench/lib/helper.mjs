/**
 * The child side of a bench helper process (servers, load generators): reports readiness to the parent over
 * IPC, answers `{ op, id, ... }` requests with `{ id, reply }` or `{ id, error }`, and exits when the parent
 * goes away or sends SIGTERM.
 */

/** Reports `ready` to the parent and serves `ops` (op name → async function of the message) until told to stop. */
export function serveHelper(ready, ops = {}, onStop = () => {}) {
  if (process.send === undefined) {
    process.stderr.write("this script is a bench helper: run it through bench/main.mjs\n");
    process.exit(2);
  }
  const stop = () => {
    try {
      onStop();
    } finally {
      process.exit(0);
    }
  };
  process.once("disconnect", stop);
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
  process.on("message", async (m) => {
    if (m?.op === undefined) return;
    const op = ops[m.op];
    try {
      if (op === undefined) throw new Error(`unknown op ${m.op}`);
      const reply = await op(m);
      process.send({ id: m.id, reply });
    } catch (err) {
      process.send({ id: m.id, error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
    }
  });
  process.send({ ready });
}
