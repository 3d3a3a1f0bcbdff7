import { describe, expect, it } from "vitest";
import { AbortHandle } from "../../src/protocol/abort-handle.js";
import { abortable } from "../../src/protocol/abortable.js";

describe("AbortHandle", () => {
  it("runs its listeners once, in order, with the first reason", () => {
    const h = new AbortHandle();
    const seen: string[] = [];
    h.onAbort(() => seen.push(`a:${String(h.reason)}`));
    h.onAbort(() => seen.push(`b:${String(h.reason)}`));
    h.abort("first");
    h.abort("second");
    expect(seen).toEqual(["a:first", "b:first"]);
    expect(h.aborted).toBe(true);
    expect(h.reason).toBe("first");
  });

  it("does not run a listener that was unregistered, and runs a late one at once", () => {
    const h = new AbortHandle();
    let removed = 0;
    const off = h.onAbort(() => removed++);
    off();
    h.abort("x");
    expect(removed).toBe(0);
    let late = 0;
    h.onAbort(() => late++);
    expect(late).toBe(1);
  });

  it("makes its AbortSignal only when read, aborted with the handle's reason before or after", () => {
    const before = new AbortHandle();
    const signal = before.signal;
    expect(signal.aborted).toBe(false);
    before.abort("gone");
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBe("gone");
    const after = new AbortHandle();
    after.abort("late");
    expect(after.signal.aborted).toBe(true);
    expect(after.signal.reason).toBe("late");
  });

  it("rejects an abortable promise with its reason and leaves no listener once the promise settles", async () => {
    const h = new AbortHandle();
    const never = new Promise<string>(() => {});
    const pending = abortable(never, h);
    h.abort(new Error("stop"));
    await expect(pending).rejects.toThrow("stop");
    const h2 = new AbortHandle();
    await expect(abortable(Promise.resolve("done"), h2)).resolves.toBe("done");
    let ran = 0;
    h2.onAbort(() => ran++);
    h2.abort("later");
    expect(ran).toBe(1); // only the listener added after: abortable's own was removed
  });
});
