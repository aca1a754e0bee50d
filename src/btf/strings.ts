/**
 * BTF string tables: reading NUL-terminated names in place, and building a deduplicated table.
 */

const decoder = new TextDecoder("utf-8", { fatal: false });

/**
 * Decode the NUL-terminated string at `start` of `bytes` (which must contain a NUL at or after
 * `start`; callers check that the table ends in one). ASCII names, nearly all of BTF, are
 * decoded without TextDecoder, which costs more than the copy for short strings.
 */
export function readCString(bytes: Uint8Array, start: number): string {
  // a loop finds the NUL of a short name sooner than a TypedArray's indexOf (a runtime call)
  let end = start;
  while (end < bytes.length && bytes[end] !== 0) end++;
  const n = end - start;
  if (n === 0) return "";
  if (n <= 64) {
    let s = "";
    for (let i = start; i < end; i++) {
      const c = bytes[i];
      if (c >= 0x80) return decoder.decode(bytes.subarray(start, end));
      s += String.fromCharCode(c);
    }
    return s;
  }
  return decoder.decode(bytes.subarray(start, end));
}

const encoder = new TextEncoder();

/**
 * A string table under construction: `add` returns the offset of a string, the same offset for
 * the same string. Offset 0 is the empty string. For split BTF, `startOffset` is the size of the
 * base's string table (offsets continue after it) and `lookupBase` finds strings the base
 * already has.
 */
export class StringTableBuilder {
  readonly #offsets = new Map<string, number>();
  readonly #chunks: Uint8Array[] = [];
  #length = 0;
  readonly #startOffset: number;
  readonly #lookupBase?: (s: string) => number | undefined;

  constructor(options?: { startOffset?: number; lookupBase?: (s: string) => number | undefined }) {
    this.#startOffset = options?.startOffset ?? 0;
    this.#lookupBase = options?.lookupBase;
    if (this.#startOffset === 0) {
      this.#offsets.set("", 0);
      this.#chunks.push(new Uint8Array(1));
      this.#length = 1;
    } else {
      this.#offsets.set("", 0);
    }
  }

  /** The offset of `s` in the table, adding it when new. */
  add(s: string): number {
    const known = this.#offsets.get(s);
    if (known !== undefined) return known;
    const inBase = this.#lookupBase?.(s);
    if (inBase !== undefined) {
      this.#offsets.set(s, inBase);
      return inBase;
    }
    const b = encoder.encode(s);
    if (b.includes(0)) throw new RangeError(`BTF string ${JSON.stringify(s)} contains a NUL byte`);
    const off = this.#startOffset + this.#length;
    const chunk = new Uint8Array(b.length + 1);
    chunk.set(b);
    this.#chunks.push(chunk);
    this.#length += chunk.length;
    this.#offsets.set(s, off);
    return off;
  }

  /** Size in bytes of the table built so far. */
  get length(): number {
    return this.#length;
  }

  /** The table's bytes. */
  bytes(): Uint8Array {
    const out = new Uint8Array(this.#length);
    let p = 0;
    for (const c of this.#chunks) {
      out.set(c, p);
      p += c.length;
    }
    return out;
  }
}
