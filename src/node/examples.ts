/**
 * Built-in example task handlers, served by `agent-mesh node` when no --agent module is given. All are
 * deterministic so demos and tests can check their results.
 */
import { Code, codeName, MeshError } from "../protocol/errors.js";
import type { TaskHandler } from "./task-runner.js";

function text(input: unknown, capability: string): string {
  if (typeof input === "string") return input;
  if (input !== null && typeof input === "object" && typeof (input as { text?: unknown }).text === "string") {
    return (input as { text: string }).text;
  }
  throw new MeshError(Code.InvalidArgument, `${capability}: input must be a string or {"text": string}`);
}

/** Example handlers by capability name. */
export const exampleHandlers: Readonly<Record<string, TaskHandler>> = Object.freeze({
  /** Returns its input unchanged. */
  echo: (input: unknown) => input,
  /** Waits `input.ms` milliseconds (0–600000), then returns {slept: ms}. */
  sleep: async (input: unknown, ctx) => {
    const ms = (input as { ms?: unknown } | null)?.ms;
    if (typeof ms !== "number" || !Number.isFinite(ms) || ms < 0 || ms > 600_000) {
      throw new MeshError(Code.InvalidArgument, 'sleep: input must be {"ms": number from 0 to 600000}');
    }
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(resolve, ms);
      ctx.signal.addEventListener("abort", () => {
        clearTimeout(t);
        reject(ctx.signal.reason);
      });
    });
    return { slept: ms };
  },
  /** Upper-cases text. */
  uppercase: (input: unknown) => text(input, "uppercase").toUpperCase(),
  /** Reverses text (by code point). */
  reverse: (input: unknown) => [...text(input, "reverse")].reverse().join(""),
  /** Counts words, lines and characters. */
  wordcount: (input: unknown) => {
    const t = text(input, "wordcount");
    return { words: t.split(/\s+/).filter(Boolean).length, lines: t === "" ? 0 : t.split("\n").length, chars: [...t].length };
  },
  /** Extracts the most frequent words (length >= 4), as keywords. */
  keywords: (input: unknown) => {
    const counts = new Map<string, number>();
    for (const w of text(input, "keywords").toLowerCase().match(/[a-z][a-z'-]{3,}/g) ?? []) counts.set(w, (counts.get(w) ?? 0) + 1);
    return [...counts.entries()]
      .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
      .slice(0, 5)
      .map(([w]) => w);
  },
  /**
   * Hands `input.input` on to an agent serving `input.capability` and returns its output: a sub-task of this one
   * (TaskContext.delegate: the same correlation id and trace, one hop more), so a task crosses three agents.
   */
  delegate: (input: unknown, ctx) => {
    const i = input as { capability?: unknown; input?: unknown } | null;
    if (i === null || typeof i !== "object" || typeof i.capability !== "string" || i.capability === "") {
      throw new MeshError(Code.InvalidArgument, 'delegate: input must be {"capability": string, "input": any}');
    }
    return ctx.delegate(i.capability, i.input);
  },
  /** Fails on purpose with the given code name, for trying error paths: {"code": "NOT_FOUND", "message": "..."}. */
  fail: (input: unknown) => {
    const i = (input ?? {}) as { code?: string; message?: string };
    const code = Object.values(Code).find((c): c is Code => typeof c === "number" && codeName(c) === i.code);
    throw new MeshError(code ?? Code.Unknown, i.message ?? "failed on purpose");
  },
});
