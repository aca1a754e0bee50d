/**
 * `.BTF` reading: `parseBtf` checks the header and frames every type record once (kind, length,
 * name), then `BtfSpec` decodes a type into a plain object only when it is asked for. Object
 * BTF is small and is decoded (and so fully validated) at parse time; kernel BTF is parsed
 * with `{ lazy: true }` so that opening vmlinux costs one pass over 5 MB and nothing more.
 *
 * Every malformed input ends in a ParseError carrying the byte offset: truncated headers or
 * sections, unknown kinds, records running past the type section, string offsets outside the
 * string table, type ids out of range. Nothing here follows references recursively, so
 * reference loops cannot hang the reader (the helpers in query.ts bound their walks).
 */
import { isAscii } from "node:buffer";
import { ParseError, checkOptions } from "../errors.js";
import type { ByteOrder } from "../asm/instruction.js";
import { readCString } from "./strings.js";
import {
  BTF_KIND,
  BTF_KIND_NAMES,
  BTF_LINKAGE_NAMES,
  type BtfKind,
  type BtfMember,
  type BtfType,
  type BtfTypeOfKind,
} from "./types.js";

/** `BTF_MAGIC` as read in the file's own byte order. */
export const BTF_MAGIC = 0xeb9f;
/** Size of `struct btf_header` (version 1). */
export const BTF_HEADER_SIZE = 24;
/** The largest type id the kernel accepts (`BTF_MAX_TYPE`). */
export const BTF_MAX_TYPE = 0x000fffff;

/** Options of parseBtf. */
export interface ParseBtfOptions {
  /**
   * The base BTF this blob is split from (kernel module BTF on top of vmlinux). Type ids and
   * string offsets of the blob then continue after the base's.
   */
  base?: BtfSpec;
  /**
   * Decode types only when asked (default false). With false, every type is decoded at parse
   * time, so every error surfaces from parseBtf; with true, framing errors still do, but a bad
   * reference inside one type is reported when that type is first decoded.
   */
  lazy?: boolean;
}

const KNOWN_OPTIONS = new Set(["base", "lazy"]);

/** Extra bytes after the 12-byte `struct btf_type`, by kind number: fixed part… */
const EXTRA_FIXED = Uint8Array.from([0, 4, 0, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 4, 0, 0]);
/** …and bytes per vlen entry (members, enumerators, params, datasec vars). */
const EXTRA_PER_VLEN = Uint8Array.from([0, 0, 0, 0, 12, 12, 8, 0, 0, 0, 0, 0, 0, 8, 0, 12, 0, 0, 0, 12]);
const HOST_LE = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;
/** The same in 4-byte words, header included, for all 32 kind numbers (0: not a valid kind). */
const WORDS_FIXED = Uint8Array.from({ length: 32 }, (_, k) => (k >= 1 && k <= 19 ? 3 + EXTRA_FIXED[k] / 4 : 0));
const WORDS_PER_VLEN = Uint8Array.from({ length: 32 }, (_, k) => (k >= 1 && k <= 19 ? EXTRA_PER_VLEN[k] / 4 : 0));

/**
 * Parsed BTF: a type section and a string table, queried by id, by name and by kind.
 *
 * Returned type objects are cached and shared between callers: treat them as read-only and copy
 * before editing (the fix-ups in fixup.ts return new objects). Pure: no kernel needed.
 */
export class BtfSpec implements Iterable<BtfType> {
  /** Byte order of the blob. */
  readonly byteOrder: ByteOrder;
  /** The base BTF for split BTF, else undefined. */
  readonly base?: BtfSpec;
  /** Id of this blob's first type (1, or the id after the base's last type). */
  readonly firstId: number;
  /** Number of types in this blob (not counting the base). */
  readonly typeCount: number;

  /** @internal the whole blob. */
  readonly bytes: Uint8Array;
  readonly #view: DataView;
  readonly #le: boolean;
  /** Absolute offsets of each own type record, index = id - firstId. */
  readonly #offsets: Uint32Array;
  /** Kind number of each own type. */
  readonly #kinds: Uint8Array;
  readonly #strStart: number;
  readonly #strLen: number;
  /** String offsets below this belong to the base. */
  readonly #strBase: number;
  /**
   * Decoded types: a Map while few are decoded (opening vmlinux to find one struct should not
   * allocate a 126k-slot array), an array indexed by id - firstId once many are.
   */
  #cache: Map<number, BtfType> | (BtfType | undefined)[] = new Map();
  /**
   * The name index in two parts, each built on first need: functions (80% of vmlinux's name
   * bytes, looked up only for kfuncs and kind-less lookups) and every other kind. Hash chains
   * run through `next`, shared by both (a type is in one part only).
   */
  #nameIndex?: { next: Int32Array; mask: number; funcs?: Int32Array; others?: Int32Array };
  /** The string section decoded once, after TABLE_AFTER single decodes (null: not ASCII). */
  #table: string | null | undefined;
  #decodes = 0;
  #scans = 0;

  /** @internal use parseBtf. */
  constructor(init: {
    bytes: Uint8Array;
    le: boolean;
    base?: BtfSpec;
    offsets: Uint32Array;
    kinds: Uint8Array;
    strStart: number;
    strLen: number;
  }) {
    this.bytes = init.bytes;
    this.#view = new DataView(init.bytes.buffer, init.bytes.byteOffset, init.bytes.byteLength);
    this.#le = init.le;
    this.byteOrder = init.le ? "little" : "big";
    this.base = init.base;
    this.firstId = init.base ? init.base.nextId : 1;
    this.typeCount = init.offsets.length;
    this.#offsets = init.offsets;
    this.#kinds = init.kinds;
    this.#strStart = init.strStart;
    this.#strLen = init.strLen;
    this.#strBase = init.base ? init.base.stringTableEnd : 0;
  }

  /** The id after this blob's last type: the number of ids including void and the base. */
  get nextId(): number {
    return this.firstId + this.typeCount;
  }

  /** @internal The string offset after this blob's strings (where a split blob's strings start). */
  get stringTableEnd(): number {
    return this.#strBase + this.#strLen;
  }

  /** Whether `id` names a type here or in the base (0, void, included). */
  has(id: number): boolean {
    return Number.isInteger(id) && id >= 0 && id < this.nextId;
  }

  /** The kind of type `id` without decoding it ("void" for 0). Throws RangeError for an unknown id. */
  kindOf(id: number): BtfType["kind"] {
    if (id === 0) return "void";
    if (id < this.firstId) {
      if (this.base) return this.base.kindOf(id);
      throw new RangeError(`BTF type id ${id} does not exist`);
    }
    const i = id - this.firstId;
    if (!(i < this.typeCount)) throw new RangeError(`BTF type id ${id} does not exist (last is ${this.nextId - 1})`);
    return BTF_KIND_NAMES[this.#kinds[i]]!;
  }

  /** The name of type `id` without decoding the type ("" when anonymous). */
  nameOf(id: number): string {
    if (id === 0) return "";
    if (id < this.firstId) {
      if (this.base) return this.base.nameOf(id);
      throw new RangeError(`BTF type id ${id} does not exist`);
    }
    const i = id - this.firstId;
    if (!(i < this.typeCount)) throw new RangeError(`BTF type id ${id} does not exist (last is ${this.nextId - 1})`);
    return this.string(this.#u32(this.#offsets[i]));
  }

  /** The string at `offset` of the string table (the base's for offsets below its end). */
  string(offset: number): string {
    if (offset < this.#strBase) return this.base!.string(offset);
    const rel = offset - this.#strBase;
    if (!(rel >= 0 && rel < this.#strLen)) {
      if (rel === 0 && this.#strLen === 0) return "";
      throw new ParseError(`BTF: string offset ${offset} is outside the string table (${this.stringTableEnd} bytes)`, {
        offset: this.#strStart,
      });
    }
    const start = this.#strStart + rel;
    if (this.#table === undefined && ++this.#decodes > TABLE_AFTER) this.#table = this.#decodeTable();
    const table = this.#table;
    if (table) {
      // one flat string of the whole (ASCII) table: names become slices, and the NUL is found
      // by String#indexOf (a TypedArray's indexOf is a runtime call costing more than the rest
      // of the decode of a small type; it was a quarter of a full walk)
      return table.slice(rel, table.indexOf("\0", rel));
    }
    return readCString(this.bytes, start);
  }

  /** The own string section as one string when it is all ASCII (else null: decode per string). */
  #decodeTable(): string | null {
    const sec = this.bytes.subarray(this.#strStart, this.#strStart + this.#strLen);
    if (!isAscii(sec)) return null;
    return Buffer.from(sec.buffer, sec.byteOffset, sec.byteLength).toString("latin1");
  }

  /**
   * The type with id `id` (0 gives void). Decodes it on first use. Throws RangeError for an id
   * not in this BTF, ParseError when the type's record is malformed (lazy specs).
   */
  typeById(id: number): BtfType {
    if (id === 0) return VOID;
    if (id < this.firstId) {
      if (this.base) return this.base.typeById(id);
      throw new RangeError(`BTF type id ${id} does not exist`);
    }
    const i = id - this.firstId;
    if (!(i < this.typeCount)) throw new RangeError(`BTF type id ${id} does not exist (last is ${this.nextId - 1})`);
    const cached = this.#cached(i);
    if (cached) return cached;
    const t = this.#decode(id, i);
    const c = this.#cache;
    if (Array.isArray(c)) c[i] = t;
    else if (c.size < CACHE_MAP_MAX) c.set(i, t);
    else {
      const arr: (BtfType | undefined)[] = new Array(this.typeCount);
      for (const [k, v] of c) arr[k] = v;
      arr[i] = t;
      this.#cache = arr;
    }
    return t;
  }

  /** Like typeById, but checks the kind: throws TypeError when type `id` is not a `kind`. */
  typeOfKind<K extends BtfType["kind"]>(id: number, kind: K): BtfTypeOfKind<K> {
    const t = this.typeById(id);
    if (t.kind !== kind) throw new TypeError(`BTF type ${id} is a ${t.kind}, not a ${kind}`);
    return t as BtfTypeOfKind<K>;
  }

  /**
   * All own types (not the base's), in id order. Types not yet decoded are decoded for the walk
   * without being cached, so a full walk of kernel BTF leaves no 100k objects behind.
   */
  [Symbol.iterator](): Iterator<BtfType> {
    // a plain iterator object: a generator costs more per step than the decode of a small type
    let i = 0;
    const n = this.typeCount;
    return {
      next: (): IteratorResult<BtfType> => {
        if (i >= n) return { done: true, value: undefined };
        const t = this.#cached(i) ?? this.#decode(this.firstId + i, i);
        i++;
        return { done: false, value: t };
      },
    };
  }

  /** All own types of one kind, in id order; only those are decoded (and, like iteration, not cached). */
  *typesOfKind<K extends BtfKind>(kind: K): Generator<BtfTypeOfKind<K>> {
    const k = BTF_KIND[kind];
    const kinds = this.#kinds;
    for (let i = 0; i < this.typeCount; i++) {
      if (kinds[i] === k) yield (this.#cached(i) ?? this.#decode(this.firstId + i, i)) as BtfTypeOfKind<K>;
    }
  }

  /**
   * Ids of the types named `name` (optionally of one kind), in id order, searching the base
   * first. The first call builds a hash index of names (no strings are decoded for it).
   */
  idsByName(name: string, kind?: BtfKind): number[] {
    const out = this.base ? this.base.idsByName(name, kind) : [];
    if (name === "") return out;
    const n = encodeName(name);
    this.#collect(n, essentialLength(n, 0, n.length), kind === undefined ? 0 : BTF_KIND[kind], false, out);
    return out;
  }

  /**
   * Ids of the types whose *essential* name is `name`: the name without a `___flavor` suffix
   * (`task_struct___old` → `task_struct`), as CO-RE candidate search needs. Base first.
   */
  idsByEssentialName(name: string, kind?: BtfKind): number[] {
    const out = this.base ? this.base.idsByEssentialName(name, kind) : [];
    const n = encodeName(essentialName(name));
    if (n.length === 0) return out;
    this.#collect(n, n.length, kind === undefined ? 0 : BTF_KIND[kind], true, out);
    return out;
  }

  /**
   * For each of `names`, the ids of the types of one of `kinds` whose essential name is that
   * name's essential name, in id order, base first: what idsByEssentialName gives per name and
   * kind, merged. Without a name index this is one pass over the type records that reads only
   * the first two bytes of most names (a first CO-RE pass looks up a few dozen root types once,
   * for which building the index would cost more); with one, it uses the index.
   */
  idsByEssentialNames(names: readonly string[], kinds: readonly BtfKind[]): number[][] {
    const out: number[][] = this.base ? this.base.idsByEssentialNames(names, kinds) : names.map(() => []);
    const kindNumbers = kinds.map((k) => BTF_KIND[k]);
    const wanted = names.map((n) => encodeName(essentialName(n)));
    if (this.#nameIndex) {
      for (let w = 0; w < wanted.length; w++) {
        if (wanted[w].length === 0) continue;
        const found: number[] = [];
        for (const k of kindNumbers) this.#collect(wanted[w], wanted[w].length, k, true, found);
        if (kindNumbers.length > 1) found.sort((a, b) => a - b);
        for (const id of found) out[w].push(id);
      }
      return out;
    }
    // Wanted names by a 16-bit hash of their first four bytes (NUL-padded). A name shorter than
    // four bytes is the essential name of itself and of its flavors ("pid___x" starts "pid_"),
    // so it is filed under both.
    const byPrefix = new Map<number, number[]>();
    const file = (key: number, w: number) => {
      const list = byPrefix.get(key);
      if (list) list.push(w);
      else byPrefix.set(key, [w]);
    };
    for (let w = 0; w < wanted.length; w++) {
      const n = wanted[w];
      if (n.length === 0) continue;
      const b = [n[0], n[1] ?? 0, n[2] ?? 0, n[3] ?? 0];
      file(prefixKey(b[0], b[1], b[2], b[3]), w);
      if (n.length < 4) {
        for (let k = n.length; k < 4; k++) b[k] = 0x5f;
        file(prefixKey(b[0], b[1], b[2], b[3]), w);
      }
    }
    if (byPrefix.size === 0) return out;
    const prefixes = new Uint8Array(65536);
    for (const key of byPrefix.keys()) prefixes[key] = 1;
    const kindsOf = this.#kinds;
    const offsets = this.#offsets;
    const bytes = this.bytes;
    const words = this.#nameWords();
    const strBase = this.#strBase;
    const strDelta = this.#strStart - strBase;
    const kindWanted = new Uint8Array(32);
    for (const k of kindNumbers) kindWanted[k] = 1;
    for (let i = 0; i < this.typeCount; i++) {
      if (kindWanted[kindsOf[i]] === 0) continue;
      const off = words ? words[offsets[i] >>> 2] : this.#u32(offsets[i]);
      if (off === 0) continue;
      let src = bytes;
      let p = off + strDelta;
      if (off < strBase) {
        const owner = this.#stringOwner(off);
        src = owner.bytes;
        p = owner.#strStart + off - owner.#strBase;
      }
      // the first four bytes, NUL-padded (never read past the name's NUL)
      const b0 = src[p];
      const b1 = b0 === 0 ? 0 : src[p + 1];
      const b2 = b1 === 0 ? 0 : src[p + 2];
      const b3 = b2 === 0 ? 0 : src[p + 3];
      const key = prefixKey(b0, b1, b2, b3);
      if (prefixes[key] === 0) continue;
      for (const w of byPrefix.get(key)!) if (this.#nameMatches(off, wanted[w], true)) out[w].push(this.firstId + i);
    }
    return out;
  }

  /** The types named `name` (optionally of one kind). */
  findByName(name: string, kind?: BtfKind): BtfType[] {
    return this.idsByName(name, kind).map((id) => this.typeById(id));
  }

  /** The first type named `name` of kind `kind`, or undefined (as libbpf's `btf__find_by_name_kind`). */
  typeByName<K extends BtfKind>(name: string, kind: K): BtfTypeOfKind<K> | undefined {
    const ids = this.idsByName(name, kind);
    return ids.length ? (this.typeById(ids[0]) as BtfTypeOfKind<K>) : undefined;
  }

  /** Decode (and so validate) every own type. Throws the first ParseError found. */
  validate(): void {
    for (let i = 0; i < this.typeCount; i++) this.typeById(this.firstId + i);
  }

  /** Drop decoded types (and the name index) so their memory can be reclaimed. */
  dropCache(): void {
    this.#cache = new Map();
    this.#nameIndex = undefined;
    this.#scans = 0;
    this.#table = undefined;
    this.#decodes = 0;
  }

  // ---------------------------------------------------------------------------------------

  #cached(i: number): BtfType | undefined {
    const c = this.#cache;
    return Array.isArray(c) ? c[i] : c.get(i);
  }

  #u32(off: number): number {
    return this.#view.getUint32(off, this.#le);
  }

  #collect(name: Uint8Array, hashLen: number, kind: number, essential: boolean, out: number[]): void {
    // The first few lookups scan linearly (opening vmlinux to find one struct, or CO-RE for an
    // object of a few types, needs no index: building it costs as much as ~4 cold scans, and
    // CoreTargets.prefetch finds the types of larger objects in one pass); after that a hash
    // index pays for itself.
    if (!this.#nameIndex && this.#scans < LINEAR_SCANS) {
      this.#scans++;
      this.#scan(name, kind, essential, out);
      return;
    }
    const index = (this.#nameIndex ??= this.#newIndex());
    const h = hashBytes(name, 0, hashLen) & index.mask;
    const found: number[] = [];
    if (kind !== BTF_FUNC) this.#walk((index.others ??= this.#buildIndex(index, false))[h], index.next, name, kind, essential, found);
    if (kind === 0 || kind === BTF_FUNC) this.#walk((index.funcs ??= this.#buildIndex(index, true))[h], index.next, name, kind, essential, found);
    // Chains are built by prepending, so they run from the highest id down.
    if (kind === 0) found.sort((a, b) => b - a);
    for (let j = found.length - 1; j >= 0; j--) out.push(found[j]);
  }

  /**
   * A linear scan for a name (exact, or as essential name): the first byte of each name of the
   * kind is compared in the loop, so only names starting like `name` cost a call (opening
   * vmlinux to find one struct is this plus the framing).
   */
  #scan(name: Uint8Array, kind: number, essential: boolean, out: number[]): void {
    const n = this.typeCount;
    const kinds = this.#kinds;
    const offsets = this.#offsets;
    const words = this.#nameWords();
    const bytes = this.bytes;
    const strBase = this.#strBase;
    const strDelta = this.#strStart - strBase;
    const first = name[0];
    // With a kind, test the kinds four at a time (a zero byte of word ^ kind×0x01010101 marks a
    // match): a quarter of the loop steps, which is most of a scan's cost.
    let i = 0;
    if (kind !== 0 && kinds.byteOffset % 4 === 0) {
      const quads = new Uint32Array(kinds.buffer, kinds.byteOffset, n >>> 2);
      const pattern = Math.imul(kind, 0x01010101);
      for (let w = 0; w < quads.length; w++) {
        const x = quads[w] ^ pattern;
        if (((x - 0x01010101) & ~x & 0x80808080) === 0) continue;
        for (let j = w << 2, end = j + 4; j < end; j++) {
          if (kinds[j] !== kind) continue;
          const off = words ? words[offsets[j] >>> 2] : this.#u32(offsets[j]);
          if (off === 0 || (off >= strBase && bytes[off + strDelta] !== first)) continue;
          if (this.#nameMatches(off, name, essential)) out.push(this.firstId + j);
        }
      }
      i = quads.length << 2;
    }
    for (; i < n; i++) {
      if (kind !== 0 && kinds[i] !== kind) continue;
      const off = words ? words[offsets[i] >>> 2] : this.#u32(offsets[i]);
      if (off === 0) continue;
      // names in the base's table (split BTF) are left to #nameMatches
      if (off >= strBase && bytes[off + strDelta] !== first) continue;
      if (this.#nameMatches(off, name, essential)) out.push(this.firstId + i);
    }
  }

  #walk(first: number, next: Int32Array, name: Uint8Array, kind: number, essential: boolean, found: number[]): void {
    for (let i = first; i >= 0; i = next[i]) {
      if (kind !== 0 && this.#kinds[i] !== kind) continue;
      const off = this.#u32(this.#offsets[i]);
      if (this.#nameMatches(off, name, essential)) found.push(this.firstId + i);
    }
  }

  /** Whether the own string at offset `off` equals `name` (or has it as essential name). */
  #nameMatches(off: number, name: Uint8Array, essential: boolean): boolean {
    // split BTF may name its types with strings of the base's table
    const owner = this.#stringOwner(off);
    const rel = off - owner.#strBase;
    const bytes = owner.bytes;
    const p = owner.#strStart + rel;
    const n = name.length;
    if (p + n >= owner.#strStart + owner.#strLen) return false;
    for (let k = 0; k < n; k++) if (bytes[p + k] !== name[k]) return false;
    if (bytes[p + n] === 0) return true;
    if (!essential) return false;
    const end = bytes.indexOf(0, p + n);
    return essentialLength(bytes, p, end < 0 ? bytes.length : end) === n;
  }

  /** The spec (this one or a base) whose string section holds offset `off`. */
  #stringOwner(off: number): BtfSpec {
    let s: BtfSpec = this;
    while (off < s.#strBase && s.base) s = s.base;
    return s;
  }

  /**
   * The blob as 32-bit words, to read record fields at `offset >>> 2`: when host and blob are
   * little-endian and the records 4-aligned (every real blob), else undefined (use the DataView).
   */
  #nameWords(): Uint32Array | undefined {
    const bytes = this.bytes;
    if (!(this.#le && HOST_LE && bytes.byteOffset % 4 === 0 && (this.typeCount === 0 || this.#offsets[0] % 4 === 0))) return undefined;
    return new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >>> 2);
  }

  /** An empty name index: chain links and the hash mask; parts are built by #buildIndex. */
  #newIndex(): { next: Int32Array; mask: number; funcs?: Int32Array; others?: Int32Array } {
    let size = 1024;
    while (size < this.typeCount) size <<= 1;
    return { next: new Int32Array(this.typeCount).fill(-1), mask: size - 1 };
  }

  /**
   * The name index: one part (functions or the rest), in one pass over the type records reading name offsets straight from the
   * bytes, hashing each name's essential part while scanning it once (no strings, no type
   * objects). One tight loop, so that V8 optimizes it on its first, cold call.
   */
  #buildIndex(index: { next: Int32Array; mask: number }, funcs: boolean): Int32Array {
    const n = this.typeCount;
    const { next, mask } = index;
    const buckets = new Int32Array(mask + 1).fill(-1);
    const kinds = this.#kinds;
    const offsets = this.#offsets;
    const bytes = this.bytes;
    const words = this.#nameWords();
    const view = this.#view;
    const le = this.#le;
    const strBase = this.#strBase;
    const strDelta = this.#strStart - strBase;
    for (let i = 0; i < n; i++) {
      if ((kinds[i] === BTF_FUNC) !== funcs) continue;
      const off = words ? words[offsets[i] >>> 2] : view.getUint32(offsets[i], le);
      if (off === 0) continue;
      let src = bytes;
      let p: number;
      if (off >= strBase) p = off + strDelta;
      else {
        // split BTF naming a type with a string of the base's table
        const owner = this.#stringOwner(off);
        src = owner.bytes;
        p = owner.#strStart + off - owner.#strBase;
      }
      // FNV-1a up to the NUL (every string section ends in one: parseBtf checks), remembering
      // the hash before the last run of exactly three underscores between two other bytes:
      // that is where the essential name ends (same rule as essentialLength).
      let h = 0x811c9dc5;
      let runHash = 0;
      let runStart = 0;
      let run = 0;
      let cutHash = 0;
      let cut = -1;
      let q = p;
      // (undefined only if the blob was changed after parsing: end rather than loop forever)
      for (let c = src[q]; c !== 0 && c !== undefined; c = src[++q]) {
        if (c === 0x5f) {
          if (run === 0) {
            runHash = h;
            runStart = q;
          }
          run++;
        } else {
          if (run === 3 && runStart > p) {
            cut = runStart;
            cutHash = runHash;
          }
          run = 0;
        }
        h = Math.imul(h ^ c, 0x01000193);
      }
      if (cut >= 0) h = cutHash;
      else if (q === p) continue; // an empty name
      const b = h & mask;
      next[i] = buckets[b];
      buckets[b] = i;
    }
    return buckets;
  }

  /** "struct [12]" or "member 3 of struct [12]", for messages (built only when throwing). */
  #what(id: number, part?: string, k?: number): string {
    const self = `${BTF_KIND_NAMES[this.#kinds[id - this.firstId]]} [${id}]`;
    return part ? `${part} ${k} of ${self}` : self;
  }

  #checkId(ref: number, at: number, id: number, part?: string, k?: number): number {
    if (ref >= this.nextId) {
      throw new ParseError(`BTF: ${this.#what(id, part, k)} refers to type id ${ref}, but the last type id is ${this.nextId - 1}`, {
        offset: at,
      });
    }
    return ref;
  }

  #str(off: number, at: number, id: number, part?: string, k?: number): string {
    if (off === 0) return ""; // anonymous: most pointers, qualifiers, prototypes and params
    if (off >= this.stringTableEnd) {
      throw new ParseError(`BTF: ${this.#what(id, part, k)} has name offset ${off}, outside the string table (${this.stringTableEnd} bytes)`, {
        offset: at,
      });
    }
    return this.string(off);
  }

  #decode(id: number, i: number): BtfType {
    const at = this.#offsets[i];
    const v = this.#view;
    const le = this.#le;
    const info = v.getUint32(at + 4, le);
    const kind = this.#kinds[i];
    const vlen = info & 0xffff;
    const kflag = info >>> 31 === 1;
    const sizeOrType = v.getUint32(at + 8, le);
    const kindName = BTF_KIND_NAMES[kind]!;
    const name = this.#str(v.getUint32(at, le), at, id);
    const x = at + 12;
    switch (kind) {
      case 1: {
        const enc = v.getUint32(x, le);
        const encoding = (enc >>> 24) & 0x0f;
        const bitOffset = (enc >>> 16) & 0xff;
        const bits = enc & 0xff;
        const size = sizeOrType;
        if (size !== 1 && size !== 2 && size !== 4 && size !== 8 && size !== 16) throw new ParseError(`BTF: ${this.#what(id)} has invalid size ${size}`, { offset: at });
        if (bits === 0 || bits > 128 || bitOffset + bits > size * 8) {
          throw new ParseError(`BTF: ${this.#what(id)} has ${bits} bits at bit offset ${bitOffset}, which do not fit ${size} bytes`, {
            offset: x,
          });
        }
        return {
          id,
          kind: "int",
          name,
          size,
          signed: (encoding & 1) !== 0,
          char: (encoding & 2) !== 0,
          bool: (encoding & 4) !== 0,
          bitOffset,
          bits,
        };
      }
      case 2:
      case 8:
      case 9:
      case 10:
      case 11: {
        const type = this.#checkId(sizeOrType, at + 8, id);
        return { id, kind: kindName as "ptr", name, type };
      }
      case 18:
        return { id, kind: "type_tag", name, type: this.#checkId(sizeOrType, at + 8, id), attribute: kflag };
      case 3:
        return {
          id,
          kind: "array",
          name,
          type: this.#checkId(v.getUint32(x, le), x, id),
          indexType: this.#checkId(v.getUint32(x + 4, le), x + 4, id),
          nelems: v.getUint32(x + 8, le),
        };
      case 4:
      case 5: {
        const members: BtfMember[] = new Array(vlen);
        const sizeBits = sizeOrType * 8;
        for (let k = 0; k < vlen; k++) {
          const m = x + k * 12;
          const off = v.getUint32(m + 8, le);
          const bitOffset = kflag ? off & 0xffffff : off;
          const bitfieldSize = kflag ? off >>> 24 : 0;
          // A member starts inside its struct (a flexible array may start at its end), and a
          // bitfield ends inside it: what consumers index with these must stay in bounds. Whether
          // the member's type fits is checked where its size is known (codecs, C dump, CO-RE).
          if (bitOffset + bitfieldSize > sizeBits || bitfieldSize > 128) {
            throw new ParseError(
              `BTF: ${this.#what(id, "member", k)} (${bitfieldSize ? `${bitfieldSize}-bit bitfield ` : ""}at bit offset ${bitOffset}) lies outside the ${sizeOrType}-byte ${kindName}`,
              { offset: m + 8 },
            );
          }
          members[k] = {
            name: this.#str(v.getUint32(m, le), m, id, "member", k),
            type: this.#checkId(v.getUint32(m + 4, le), m + 4, id, "member", k),
            bitOffset,
            bitfieldSize,
          };
        }
        return { id, kind: kind === 4 ? "struct" : "union", name, size: sizeOrType, members };
      }
      case 6: {
        const values = new Array(vlen);
        for (let k = 0; k < vlen; k++) {
          const m = x + k * 8;
          values[k] = {
            name: this.#str(v.getUint32(m, le), m, id, "enumerator", k),
            value: kflag ? v.getInt32(m + 4, le) : v.getUint32(m + 4, le),
          };
        }
        return { id, kind: "enum", name, size: sizeOrType, signed: kflag, values };
      }
      case 19: {
        const values = new Array(vlen);
        for (let k = 0; k < vlen; k++) {
          const m = x + k * 12;
          const lo = BigInt(v.getUint32(m + 4, le));
          const hi = BigInt(v.getUint32(m + 8, le));
          const u = (hi << 32n) | lo;
          values[k] = {
            name: this.#str(v.getUint32(m, le), m, id, "enumerator", k),
            value: kflag ? BigInt.asIntN(64, u) : u,
          };
        }
        return { id, kind: "enum64", name, size: sizeOrType, signed: kflag, values };
      }
      case 7:
        return { id, kind: "fwd", name, union: kflag };
      case 12: {
        if (vlen > 2) throw new ParseError(`BTF: ${this.#what(id)} has unknown linkage ${vlen}`, { offset: at + 4 });
        return { id, kind: "func", name, type: this.#checkId(sizeOrType, at + 8, id), linkage: BTF_LINKAGE_NAMES[vlen] };
      }
      case 13: {
        const params = new Array(vlen);
        for (let k = 0; k < vlen; k++) {
          const m = x + k * 8;
          params[k] = {
            name: this.#str(v.getUint32(m, le), m, id, "parameter", k),
            type: this.#checkId(v.getUint32(m + 4, le), m + 4, id, "parameter", k),
          };
        }
        return { id, kind: "func_proto", name, returnType: this.#checkId(sizeOrType, at + 8, id), params };
      }
      case 14: {
        const linkage = v.getUint32(x, le);
        if (linkage > 2) throw new ParseError(`BTF: ${this.#what(id)} has unknown linkage ${linkage}`, { offset: x });
        return { id, kind: "var", name, type: this.#checkId(sizeOrType, at + 8, id), linkage: BTF_LINKAGE_NAMES[linkage] };
      }
      case 15: {
        const vars = new Array(vlen);
        for (let k = 0; k < vlen; k++) {
          const m = x + k * 12;
          const offset = v.getUint32(m + 4, le);
          const size = v.getUint32(m + 8, le);
          // clang writes DATASEC sizes and offsets as 0 (the loader fills them in from the ELF
          // symbols): check only what is filled in.
          if (sizeOrType !== 0 && offset + size > sizeOrType) {
            throw new ParseError(`BTF: ${this.#what(id, "variable", k)} (${size} bytes at ${offset}) lies outside the ${sizeOrType}-byte datasec`, {
              offset: m + 4,
            });
          }
          vars[k] = {
            type: this.#checkId(v.getUint32(m, le), m, id, "variable", k),
            offset,
            size,
          };
        }
        return { id, kind: "datasec", name, size: sizeOrType, vars };
      }
      case 16:
        return { id, kind: "float", name, size: sizeOrType };
      case 17:
        return {
          id,
          kind: "decl_tag",
          name,
          type: this.#checkId(sizeOrType, at + 8, id),
          componentIdx: v.getInt32(x, le),
          attribute: kflag,
        };
      default:
        // parseBtf only accepts known kinds.
        throw new ParseError(`BTF: type [${id}] has unknown kind ${kind}`, { offset: at + 4 });
    }
  }
}

/**
 * After this many strings decoded one by one, the whole string section is decoded once and
 * names are sliced from it (a full walk decodes ~300k names of vmlinux; a lookup a handful).
 */
const TABLE_AFTER = 2048;

/** How many decoded types the cache keeps in a Map before switching to an array. */
const CACHE_MAP_MAX = 1024;

/** Kind number of functions, which the name index keeps apart. */
const BTF_FUNC = 12;

/** How many name lookups scan linearly before the name index is built. */
const LINEAR_SCANS = 4;

const VOID: BtfType = Object.freeze({ id: 0, kind: "void", name: "" }) as BtfType;

const nameEncoder = new TextEncoder();
function encodeName(s: string): Uint8Array {
  return nameEncoder.encode(s);
}

/**
 * The name without its `___flavor` suffix, as CO-RE compares names: the part before the last
 * `___` that has a non-underscore on both sides (`task_struct___old` → `task_struct`).
 */
export function essentialName(name: string): string {
  for (let i = name.length - 5; i >= 0; i--) {
    if (name[i] !== "_" && name[i + 1] === "_" && name[i + 2] === "_" && name[i + 3] === "_" && name[i + 4] !== "_") {
      return name.slice(0, i + 1);
    }
  }
  return name;
}

/** Length of the essential name of bytes[p, end) (same rule as essentialName). */
function essentialLength(bytes: Uint8Array, p: number, end: number): number {
  const n = end - p;
  for (let i = n - 5; i >= 0; i--) {
    const q = p + i;
    if (bytes[q + 1] === 0x5f && bytes[q + 2] === 0x5f && bytes[q + 3] === 0x5f && bytes[q] !== 0x5f && bytes[q + 4] !== 0x5f) {
      return i + 1;
    }
  }
  return n;
}

/** A 16-bit hash of four bytes (idsByEssentialNames' prefix filter). */
function prefixKey(b0: number, b1: number, b2: number, b3: number): number {
  return Math.imul(((b0 << 24) | (b1 << 16) | (b2 << 8) | b3) >>> 0, 0x9e3779b1) >>> 16;
}

/** FNV-1a over bytes[start, end). */
function hashBytes(bytes: Uint8Array, start: number, end: number): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) {
    h ^= bytes[i];
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * Parse a `.BTF` blob (an ELF `.BTF` section, `/sys/kernel/btf/*`, or BTF from the kernel) in
 * either byte order. Pure. Throws ParseError (with the byte offset) for a bad magic, version or
 * header, sections outside the blob, a string table not ending in NUL, unknown kinds, records
 * running past the type section, more than `BTF_MAX_TYPE` types, and (unless `lazy`) any bad
 * reference or name inside a type. The blob is referenced, not copied: don't modify it.
 */
export function parseBtf(bytes: Uint8Array, options?: ParseBtfOptions): BtfSpec {
  if (options) checkOptions("parseBtf", options, KNOWN_OPTIONS);
  const base = options?.base;
  if (!(bytes instanceof Uint8Array)) throw new TypeError("parseBtf: expected a Uint8Array");
  if (bytes.length < BTF_HEADER_SIZE) {
    throw new ParseError(`BTF: ${bytes.length} bytes is too short for the ${BTF_HEADER_SIZE}-byte header`, { offset: 0 });
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let le: boolean;
  if (view.getUint16(0, true) === BTF_MAGIC) le = true;
  else if (view.getUint16(0, false) === BTF_MAGIC) le = false;
  else {
    throw new ParseError(`BTF: bad magic 0x${view.getUint16(0, true).toString(16)} (expected 0xeb9f)`, { offset: 0 });
  }
  const version = bytes[2];
  if (version !== 1) throw new ParseError(`BTF: unsupported version ${version} (expected 1)`, { offset: 2 });
  const hdrLen = view.getUint32(4, le);
  if (hdrLen < BTF_HEADER_SIZE || hdrLen > bytes.length) {
    throw new ParseError(`BTF: header length ${hdrLen} is invalid for a ${bytes.length}-byte blob`, { offset: 4 });
  }
  const typeOff = view.getUint32(8, le);
  const typeLen = view.getUint32(12, le);
  const strOff = view.getUint32(16, le);
  const strLen = view.getUint32(20, le);
  const dataLen = bytes.length - hdrLen;
  if (typeOff > dataLen || typeLen > dataLen - typeOff) {
    throw new ParseError(`BTF: type section [${typeOff}, +${typeLen}) runs past the end of the data (${dataLen} bytes)`, {
      offset: 8,
    });
  }
  if (strOff > dataLen || strLen > dataLen - strOff) {
    throw new ParseError(`BTF: string section [${strOff}, +${strLen}) runs past the end of the data (${dataLen} bytes)`, {
      offset: 16,
    });
  }
  if (typeLen > 0 && strLen > 0 && (typeOff < strOff ? typeOff + typeLen > strOff : strOff + strLen > typeOff)) {
    throw new ParseError("BTF: type and string sections overlap", { offset: 8 });
  }
  const strStart = hdrLen + strOff;
  if (strLen > 0 && bytes[strStart + strLen - 1] !== 0) {
    throw new ParseError("BTF: the string section does not end with a NUL byte", { offset: strStart + strLen - 1 });
  }
  if (!base && strLen > 0 && bytes[strStart] !== 0) {
    throw new ParseError("BTF: the string section does not start with the empty string", { offset: strStart });
  }
  const totalStr = (base ? base.stringTableEnd : 0) + strLen;

  // Frame the type records: one pass, no decoding.
  const typeStart = hdrLen + typeOff;
  const typeEnd = typeStart + typeLen;
  const firstId = base ? base.nextId : 1;
  // vmlinux averages 27 bytes per record: start near that so one allocation usually fits
  let cap = Math.max(16, Math.ceil(typeLen / 24));
  let offsets = new Uint32Array(cap);
  let kinds = new Uint8Array(cap);
  let n = 0;
  let p = typeStart;
  // Little-endian blobs aligned to 4 (all real ones, on x86_64 and arm64) are read through a
  // Uint32Array, which V8 compiles to plain loads; others through the DataView.
  const fast = le && HOST_LE && (bytes.byteOffset + typeStart) % 4 === 0;
  const words = fast ? new Uint32Array(bytes.buffer, bytes.byteOffset + typeStart, typeLen >>> 2) : undefined;
  if (words) {
    // The common case in words, with one table lookup for the record length: it stops at
    // anything unusual (a bad kind or name, a record running past the end, a full array) and
    // leaves that record to the general loop below, which reports or handles it.
    const wEnd = words.length;
    let w = 0;
    while (n < cap && w + 3 <= wEnd) {
      const nameOff = words[w];
      const info = words[w + 1];
      const kind = (info >>> 24) & 0x1f;
      const lenWords = WORDS_FIXED[kind] + WORDS_PER_VLEN[kind] * (info & 0xffff);
      if (lenWords === 0 || w + lenWords > wEnd || (nameOff >= totalStr && nameOff !== 0)) break;
      offsets[n] = typeStart + w * 4;
      kinds[n] = kind;
      n++;
      w += lenWords;
    }
    p = typeStart + w * 4;
  }
  while (p < typeEnd) {
    if (typeEnd - p < 12) {
      throw new ParseError(`BTF: type [${firstId + n}] is truncated (${typeEnd - p} bytes left of 12)`, { offset: p });
    }
    let info: number;
    let nameOff: number;
    if (words) {
      const w = (p - typeStart) >>> 2;
      nameOff = words[w];
      info = words[w + 1];
    } else {
      nameOff = view.getUint32(p, le);
      info = view.getUint32(p + 4, le);
    }
    const kind = (info >>> 24) & 0x1f;
    if (kind === 0 || kind > 19) {
      throw new ParseError(`BTF: type [${firstId + n}] has unknown kind ${kind}`, { offset: p + 4 });
    }
    if (nameOff >= totalStr && nameOff !== 0) {
      throw new ParseError(`BTF: type [${firstId + n}] has name offset ${nameOff}, outside the string table (${totalStr} bytes)`, {
        offset: p,
      });
    }
    const len = 12 + EXTRA_FIXED[kind] + EXTRA_PER_VLEN[kind] * (info & 0xffff);
    if (len > typeEnd - p) {
      throw new ParseError(`BTF: type [${firstId + n}] (${BTF_KIND_NAMES[kind]}) needs ${len} bytes, ${typeEnd - p} are left`, {
        offset: p,
      });
    }
    if (n === cap) {
      cap *= 2;
      const o2 = new Uint32Array(cap);
      o2.set(offsets);
      offsets = o2;
      const k2 = new Uint8Array(cap);
      k2.set(kinds);
      kinds = k2;
    }
    offsets[n] = p;
    kinds[n] = kind;
    n++;
    p += len;
  }
  if (firstId + n - 1 > BTF_MAX_TYPE) {
    throw new ParseError(`BTF: ${n} types take ids beyond the kernel's maximum ${BTF_MAX_TYPE}`, { offset: typeStart });
  }
  const spec = new BtfSpec({
    bytes,
    le,
    base,
    // keep the arrays when little is unused: a copy of 0.5 MB costs more than the slack
    offsets: n >= cap - (cap >> 2) ? offsets.subarray(0, n) : offsets.slice(0, n),
    kinds: n >= cap - (cap >> 2) ? kinds.subarray(0, n) : kinds.slice(0, n),
    strStart,
    strLen,
  });
  if (!options?.lazy) spec.validate();
  return spec;
}
