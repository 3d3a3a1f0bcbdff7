/**
 * Writing a link's FrameSource to an HTTP/2 stream (link-stream.ts): batches are written as they come, in
 * order, from the wake-up callback; when the stream's buffer is full the writer waits for 'drain' and nothing
 * is lost; the writer stops (and tells the source) when the source ends, fails or the stream closes.
 */
import { EventEmitter } from "node:events";
import type * as http2 from "node:http2";
import { describe, expect, it } from "vitest";
import type { FrameSource } from "../../src/transport/link-base.js";
import { writeLinkFrames } from "../../src/transport/link-stream.js";

/** A stream that records frames and reports a full buffer after every `fullEvery` writes. */
class FakeStream extends EventEmitter {
  frames: Buffer[] = [];
  destroyed = false;
  closed = false;
  writableEnded = false;
  writableNeedDrain = false;
  constructor(private readonly fullEvery = Infinity) {
    super();
  }
  write(frame: Buffer): boolean {
    this.frames.push(frame);
    if (this.frames.length % this.fullEvery === 0) this.writableNeedDrain = true;
    return !this.writableNeedDrain;
  }
  drain(): void {
    this.writableNeedDrain = false;
    this.emit("drain");
  }
  /** The envelopes' bytes of every frame written, in order (each a one-byte test value). */
  values(): number[] {
    const out: number[] = [];
    for (const f of this.frames) {
      let pos = 5;
      while (pos < f.length) {
        expect(f[pos]).toBe(0x0a);
        const len = f[pos + 1];
        for (let i = 0; i < len; i++) out.push(f[pos + 2 + i]);
        pos += 2 + len;
      }
    }
    return out;
  }
}

/** A source whose batches are pushed by the test; `end()` ends it. */
function source() {
  let queue: Uint8Array[] = [];
  let ended = false;
  let failure: Error | undefined;
  let waiter: (() => void) | undefined;
  let done = 0;
  const wake = () => {
    const w = waiter;
    waiter = undefined;
    w?.();
  };
  const s: FrameSource<Uint8Array> = {
    poll: () => {
      if (failure !== undefined) throw failure;
      if (queue.length > 0) {
        const b = queue;
        queue = [];
        return b;
      }
      return ended ? null : undefined;
    },
    notify: (w) => (waiter = w),
    done: () => void done++,
    [Symbol.asyncIterator]: () => {
      throw new Error("not iterated");
    },
  };
  return {
    s,
    send: (...values: number[]) => {
      queue.push(...values.map((v) => Uint8Array.of(v)));
      wake();
    },
    end: () => {
      ended = true;
      wake();
    },
    fail: (err: Error) => {
      failure = err;
      wake();
    },
    get done() {
      return done;
    },
  };
}

const options = { maxMessageBytes: 4 * 1024 * 1024, gzip: false, compressMinBytes: 1024 };

describe("writeLinkFrames with a FrameSource", () => {
  it("writes each batch as one frame when it is woken, in order, and resolves when the source ends", async () => {
    const stream = new FakeStream();
    const src = source();
    src.send(1, 2);
    const writing = writeLinkFrames(stream as unknown as http2.Http2Stream, src.s, options);
    expect(stream.values()).toEqual([1, 2]); // at once
    src.send(3);
    src.send(4, 5);
    expect(stream.frames).toHaveLength(3);
    src.end();
    await writing;
    expect(stream.values()).toEqual([1, 2, 3, 4, 5]);
    expect(src.done).toBe(1);
  });

  it("waits for 'drain' when the stream's buffer is full, then writes what came meanwhile, losing nothing", async () => {
    const stream = new FakeStream(2);
    const src = source();
    const writing = writeLinkFrames(stream as unknown as http2.Http2Stream, src.s, options);
    for (let i = 0; i < 10; i++) src.send(i);
    expect(stream.frames).toHaveLength(2); // full after two frames
    stream.drain();
    expect(stream.values()).toEqual(Array.from({ length: 10 }, (_, i) => i).slice(0, stream.values().length));
    while (stream.writableNeedDrain) stream.drain();
    src.send(10);
    src.end();
    while (stream.writableNeedDrain) stream.drain();
    await writing;
    expect(stream.values()).toEqual(Array.from({ length: 11 }, (_, i) => i));
  });

  it("writes the frames of a batch larger than one message across 'drain's, in order", async () => {
    const stream = new FakeStream(1);
    const src = source();
    src.send(...Array.from({ length: 9 }, (_, i) => i));
    // Each envelope takes 3 bytes framed: at most two per message of 7 bytes.
    const writing = writeLinkFrames(stream as unknown as http2.Http2Stream, src.s, { ...options, maxMessageBytes: 7 });
    expect(stream.frames).toHaveLength(1);
    src.end();
    while (stream.writableNeedDrain) stream.drain();
    await writing;
    expect(stream.frames).toHaveLength(5);
    expect(stream.values()).toEqual(Array.from({ length: 9 }, (_, i) => i));
  });

  it("stops when the stream closes, and rejects when the source fails; either way the source is told once", async () => {
    const closed = new FakeStream();
    const a = source();
    const writingA = writeLinkFrames(closed as unknown as http2.Http2Stream, a.s, options);
    closed.closed = true;
    closed.emit("close");
    await writingA;
    expect(a.done).toBe(1);

    const b = source();
    const writingB = writeLinkFrames(new FakeStream() as unknown as http2.Http2Stream, b.s, options);
    b.fail(new Error("bad hello"));
    await expect(writingB).rejects.toThrow("bad hello");
    expect(b.done).toBe(1);
  });
});
