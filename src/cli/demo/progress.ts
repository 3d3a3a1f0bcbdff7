/**
 * Progress of the demo's tasks: a live bar (cli-progress) on a terminal; elsewhere (pipes, CI logs) a plain
 * line every 10 % so logs stay readable.
 */
import cliProgress from "cli-progress";
import { println, type OutStream } from "../io.js";

/** Reports tasks as they finish. */
export interface Progress {
  /** One more task finished. */
  tick(ok: boolean): void;
  /** Ends the display (idempotent). */
  stop(): void;
}

/** A progress display of `total` tasks on `stream`. */
export function createProgress(total: number, stream: OutStream): Progress {
  return stream.isTTY === true ? barProgress(total, stream) : lineProgress(total, stream);
}

function barProgress(total: number, stream: OutStream): Progress {
  const bar = new cliProgress.SingleBar(
    { stream, format: "tasks [{bar}] {value}/{total} {percentage}% | failed {failed} | {duration_formatted}", fps: 10, hideCursor: false },
    cliProgress.Presets.shades_classic,
  );
  let failed = 0;
  let value = 0;
  let stopped = false;
  bar.start(total, 0, { failed });
  return {
    tick(ok) {
      if (stopped) return;
      if (!ok) failed++;
      bar.update(++value, { failed });
    },
    stop() {
      if (stopped) return;
      stopped = true;
      bar.stop();
    },
  };
}

function lineProgress(total: number, stream: OutStream): Progress {
  let done = 0;
  let failed = 0;
  let lastTenth = 0;
  return {
    tick(ok) {
      done++;
      if (!ok) failed++;
      const tenth = Math.floor((done * 10) / total);
      if (tenth > lastTenth) {
        lastTenth = tenth;
        println(stream, `progress: ${done}/${total} tasks (${Math.floor((done * 100) / total)}%), ${failed} failed`);
      }
    },
    stop() {},
  };
}
