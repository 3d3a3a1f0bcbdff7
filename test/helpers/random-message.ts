/**
 * Random protobuf messages for property tests of hand-written codecs: every field of a message type (from its
 * generated descriptor) is left unset or given a random value of its type — edge values included (empty and
 * long strings, non-ASCII text and lone surrogates, 0 and the limits of each integer type, empty bytes) —
 * nested messages down to a depth, lists, maps and oneof cases.
 */
import { create, ScalarType, type DescField, type DescMessage, type Message } from "@bufbuild/protobuf";

/** Draws random values from a seeded uniform source. */
export class RandomValues {
  /** Uses `random`, numbers in [0, 1). */
  constructor(readonly random: () => number) {}

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.random() * n);
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.random() < p;
  }

  /** One of `items`. */
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)] as T;
  }

  /** A string: empty, an id, ASCII of any length up to 300, or text with multi-byte characters and surrogates. */
  string(): string {
    switch (this.int(6)) {
      case 0:
        return "";
      case 1:
        return crypto.randomUUID();
      case 2:
        return Array.from({ length: 1 + this.int(300) }, () => String.fromCharCode(32 + this.int(95))).join("");
      case 3:
        return Array.from({ length: 1 + this.int(80) }, () => this.pick(["a", "é", "ж", "€", "中", "😀", "\u0000", "\ud800", "\udc00", "~"])).join("");
      default:
        return this.pick(["a", "b", "agent-7", "bench.echo", "application/json", "text/plain", "x".repeat(127), "y".repeat(128)]);
    }
  }

  /** Bytes: empty, short or up to 2 KiB. */
  bytes(): Uint8Array {
    const n = this.pick([0, 1, 3, 64, 127, 128, 300, 2048]);
    return Uint8Array.from({ length: n }, () => this.int(256));
  }

  /** A value of a scalar type, often at or near its limits. */
  scalar(type: ScalarType): unknown {
    switch (type) {
      case ScalarType.STRING:
        return this.string();
      case ScalarType.BYTES:
        return this.bytes();
      case ScalarType.BOOL:
        return this.chance(0.5);
      case ScalarType.UINT32:
      case ScalarType.FIXED32:
        return this.pick([0, 1, 127, 128, 16_383, 16_384, 2 ** 31, 2 ** 32 - 1, this.int(2 ** 32)]);
      case ScalarType.INT32:
      case ScalarType.SINT32:
      case ScalarType.SFIXED32:
        return this.pick([0, 1, -1, 2 ** 31 - 1, -(2 ** 31), this.int(2 ** 31) - 2 ** 30]);
      case ScalarType.INT64:
      case ScalarType.SINT64:
      case ScalarType.SFIXED64:
        return this.pick([0n, 1n, -1n, 2n ** 53n + 1n, 2n ** 63n - 1n, -(2n ** 63n), BigInt(Date.now()), BigInt(this.int(2 ** 31)) * -7919n]);
      case ScalarType.UINT64:
      case ScalarType.FIXED64:
        return this.pick([0n, 1n, 127n, 128n, 2n ** 49n, 2n ** 56n, 2n ** 64n - 1n, BigInt(this.int(2 ** 31)) * 104_729n]);
      case ScalarType.DOUBLE:
        return this.pick([0, 1.5, -2.25, 1e300, this.random()]);
      case ScalarType.FLOAT:
        return this.pick([0, 1.5, -2.25, 0.5]);
      default:
        throw new Error(`scalar type ${type}`);
    }
  }

  /** A random message of type `desc`; nested messages stop at `depth` 0 (left unset). */
  message<T extends Message>(desc: DescMessage, depth = 3, force: Record<string, unknown> = {}): T {
    const init: Record<string, unknown> = {};
    for (const member of desc.members) {
      if (member.kind === "oneof") {
        const options = member.fields.filter((f) => f.fieldKind !== "message" || depth > 0);
        if (options.length === 0 || this.chance(0.2)) continue;
        const f = this.pick(options);
        init[member.localName] = { case: f.localName, value: this.fieldValue(f, depth) };
        continue;
      }
      if (member.fieldKind === "message" && depth <= 0) continue;
      if (this.chance(0.25)) continue;
      init[member.localName] = this.fieldValue(member, depth);
    }
    return create(desc, { ...init, ...force }) as unknown as T;
  }

  private fieldValue(f: DescField, depth: number): unknown {
    switch (f.fieldKind) {
      case "scalar":
        return this.scalar(f.scalar);
      case "enum":
        return this.pick(f.enum.values).number;
      case "message":
        return this.message(f.message, depth - 1);
      case "list":
        return Array.from({ length: this.int(4) }, () =>
          f.listKind === "message" ? this.message(f.message, depth - 1) : f.listKind === "enum" ? this.pick(f.enum.values).number : this.scalar(f.scalar),
        );
      case "map": {
        const out: Record<string, unknown> = {};
        for (let i = this.int(3); i > 0; i--) {
          const key = String(this.scalar(f.mapKey));
          out[key] = f.mapKind === "message" ? this.message(f.message, depth - 1) : f.mapKind === "enum" ? this.pick(f.enum.values).number : this.scalar(f.scalar);
        }
        return out;
      }
    }
  }
}
