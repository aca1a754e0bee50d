/**
 * Writing BTF: `BtfBuilder` collects types (ids in insertion order, strings deduplicated) and
 * marshals them to the `.BTF` wire format in either byte order, as `BPF_BTF_LOAD` takes it.
 * Pure: no kernel.
 */
import type { ByteOrder } from "../asm/instruction.js";
import { BTF_HEADER_SIZE, BTF_MAGIC, BTF_MAX_TYPE, type BtfSpec } from "./spec.js";
import { StringTableBuilder } from "./strings.js";
import { BTF_KIND, BTF_LINKAGE_NAMES, type BtfType, type BtfTypeInit } from "./types.js";
import { checkOptions } from "../errors.js";

/** Options of BtfBuilder and marshalBtf. */
export interface BtfBuilderOptions {
  /** Build split BTF on top of this base: ids and string offsets continue after it. */
  base?: BtfSpec;
  /** Byte order of the output (default "little", the order of x86_64 and arm64 kernels). */
  byteOrder?: ByteOrder;
}

const KNOWN_OPTIONS = new Set(["base", "byteOrder"]);

/**
 * Builds a BTF blob from types. `add` returns each type's id; types may refer to ids added
 * later (a struct to a pointer to itself), checked when marshalling. Pure.
 */
export class BtfBuilder {
  readonly #types: BtfType[] = [];
  readonly #base?: BtfSpec;
  readonly #le: boolean;
  /** Id of the first added type. */
  readonly firstId: number;

  constructor(options?: BtfBuilderOptions) {
    if (options) {
      checkOptions("BtfBuilder", options, KNOWN_OPTIONS);
      if (options.byteOrder !== undefined && options.byteOrder !== "little" && options.byteOrder !== "big") {
        throw new TypeError(`BtfBuilder: byteOrder must be "little" or "big", not ${String(options.byteOrder)}`);
      }
    }
    this.#base = options?.base;
    this.#le = (options?.byteOrder ?? "little") === "little";
    this.firstId = this.#base ? this.#base.nextId : 1;
    this.#strings = new StringTableBuilder(this.#base ? { startOffset: this.#base.stringTableEnd } : undefined);
  }

  readonly #strings: StringTableBuilder;

  /**
   * Add a string to the string table (deduplicated) and return its offset, for records that
   * refer to strings of the loaded BTF (line info file names and source text).
   */
  addString(s: string): number {
    return this.#strings.add(s);
  }

  /** The id the next added type gets. */
  get nextId(): number {
    return this.firstId + this.#types.length;
  }

  /** The types added so far, in id order (each with its id). */
  get types(): readonly BtfType[] {
    return this.#types;
  }

  /**
   * Add a type and return its id. A given `id` must equal the id it gets (so that a list of
   * parsed types re-adds in order); throws RangeError otherwise. The type is copied.
   */
  add(type: BtfTypeInit): number {
    const id = this.nextId;
    if (type.kind === "void") throw new TypeError("BtfBuilder.add: void is id 0 and cannot be added");
    if (type.id !== undefined && type.id !== id) {
      throw new RangeError(`BtfBuilder.add: type "${type.name}" has id ${type.id} but would get id ${id}`);
    }
    if (id > BTF_MAX_TYPE) throw new RangeError(`BtfBuilder.add: more than ${BTF_MAX_TYPE} types`);
    this.#types.push(copyType(type, id));
    return id;
  }

  /** Add every type in order; returns the id of the first. */
  addAll(types: Iterable<BtfTypeInit>): number {
    const first = this.nextId;
    for (const t of types) this.add(t);
    return first;
  }

  /** The type with id `id` (added here, in the base, or void). Throws RangeError for unknown ids. */
  typeById(id: number): BtfType {
    if (id === 0) return { id: 0, kind: "void", name: "" };
    if (id < this.firstId) {
      if (this.#base) return this.#base.typeById(id);
      throw new RangeError(`BTF type id ${id} does not exist`);
    }
    const t = this.#types[id - this.firstId];
    if (!t) throw new RangeError(`BTF type id ${id} does not exist (last is ${this.nextId - 1})`);
    return t;
  }

  /**
   * Marshal the types to a `.BTF` blob. Throws RangeError for a reference to a type id that does
   * not exist or a value that does not fit its field (names with NUL, more than 65535 members,
   * bit offsets beyond 2^24 in a struct with bitfields, enumerators out of range).
   */
  marshal(): Uint8Array {
    const strings = this.#strings;
    const last = this.nextId - 1;
    let size = 0;
    for (const t of this.#types) size += recordSize(t);
    const typeBytes = new Uint8Array(size);
    const v = new DataView(typeBytes.buffer);
    const le = this.#le;
    let p = 0;
    const u32 = (x: number) => {
      v.setUint32(p, x, le);
      p += 4;
    };
    const ref = (id: number, t: BtfType, what: string) => {
      if (!Number.isInteger(id) || id < 0 || id > last) {
        throw new RangeError(`BTF ${t.kind} "${t.name}" [${t.id}]: ${what} refers to type id ${id}, which does not exist`);
      }
      return id;
    };
    const fits = (x: number, max: number, t: BtfType, what: string) => {
      if (!Number.isInteger(x) || x < 0 || x > max) {
        throw new RangeError(`BTF ${t.kind} "${t.name}" [${t.id}]: ${what} ${x} does not fit (0..${max})`);
      }
      return x;
    };
    const vlenOf = (n: number, t: BtfType) => fits(n, 0xffff, t, "entry count");
    const head = (t: BtfType, vlen: number, kflag: boolean, sizeOrType: number) => {
      u32(strings.add(t.name));
      u32(((kflag ? 1 : 0) << 31) | (BTF_KIND[t.kind as keyof typeof BTF_KIND] << 24) | vlen);
      u32(sizeOrType);
    };
    for (const t of this.#types) {
      switch (t.kind) {
        case "int": {
          const enc = (t.signed ? 1 : 0) | (t.char ? 2 : 0) | (t.bool ? 4 : 0);
          head(t, 0, false, fits(t.size, 0xffffffff, t, "size"));
          u32((enc << 24) | (fits(t.bitOffset, 0xff, t, "bit offset") << 16) | fits(t.bits, 0xff, t, "bits"));
          break;
        }
        case "ptr":
        case "typedef":
        case "volatile":
        case "const":
        case "restrict":
          head(t, 0, false, ref(t.type, t, "type"));
          break;
        case "type_tag":
          head(t, 0, t.attribute, ref(t.type, t, "type"));
          break;
        case "array":
          head(t, 0, false, 0);
          u32(ref(t.type, t, "element type"));
          u32(ref(t.indexType, t, "index type"));
          u32(fits(t.nelems, 0xffffffff, t, "nelems"));
          break;
        case "struct":
        case "union": {
          const kflag = t.members.some((m) => m.bitfieldSize !== 0);
          head(t, vlenOf(t.members.length, t), kflag, fits(t.size, 0xffffffff, t, "size"));
          for (const m of t.members) {
            u32(strings.add(m.name));
            u32(ref(m.type, t, `member "${m.name}"`));
            if (kflag) {
              u32((fits(m.bitfieldSize, 0xff, t, "bitfield size") << 24) | fits(m.bitOffset, 0xffffff, t, "bit offset"));
            } else {
              u32(fits(m.bitOffset, 0xffffffff, t, "bit offset"));
            }
          }
          break;
        }
        case "enum": {
          head(t, vlenOf(t.values.length, t), t.signed, fits(t.size, 0xffffffff, t, "size"));
          for (const e of t.values) {
            if (!Number.isInteger(e.value) || e.value < -0x80000000 || e.value > 0xffffffff) {
              throw new RangeError(`BTF enum "${t.name}" [${t.id}]: value ${e.value} of "${e.name}" does not fit 32 bits`);
            }
            u32(strings.add(e.name));
            u32(e.value >>> 0);
          }
          break;
        }
        case "enum64": {
          head(t, vlenOf(t.values.length, t), t.signed, fits(t.size, 0xffffffff, t, "size"));
          for (const e of t.values) {
            if (typeof e.value !== "bigint" || e.value < -(1n << 63n) || e.value >= 1n << 64n) {
              throw new RangeError(`BTF enum64 "${t.name}" [${t.id}]: value ${String(e.value)} of "${e.name}" does not fit 64 bits`);
            }
            const u = BigInt.asUintN(64, e.value);
            u32(strings.add(e.name));
            u32(Number(u & 0xffffffffn));
            u32(Number(u >> 32n));
          }
          break;
        }
        case "fwd":
          head(t, 0, t.union, 0);
          break;
        case "func":
          head(t, linkageNumber(t.linkage, t), false, ref(t.type, t, "prototype"));
          break;
        case "func_proto":
          head(t, vlenOf(t.params.length, t), false, ref(t.returnType, t, "return type"));
          for (const prm of t.params) {
            u32(strings.add(prm.name));
            u32(ref(prm.type, t, `parameter "${prm.name}"`));
          }
          break;
        case "var":
          head(t, 0, false, ref(t.type, t, "type"));
          u32(linkageNumber(t.linkage, t));
          break;
        case "datasec":
          head(t, vlenOf(t.vars.length, t), false, fits(t.size, 0xffffffff, t, "size"));
          for (const sv of t.vars) {
            u32(ref(sv.type, t, "variable"));
            u32(fits(sv.offset, 0xffffffff, t, "variable offset"));
            u32(fits(sv.size, 0xffffffff, t, "variable size"));
          }
          break;
        case "float":
          head(t, 0, false, fits(t.size, 0xffffffff, t, "size"));
          break;
        case "decl_tag":
          head(t, 0, t.attribute, ref(t.type, t, "type"));
          if (!Number.isInteger(t.componentIdx) || t.componentIdx < -1 || t.componentIdx > 0xffff) {
            throw new RangeError(`BTF decl_tag "${t.name}" [${t.id}]: component index ${t.componentIdx} is invalid`);
          }
          v.setInt32(p, t.componentIdx, le);
          p += 4;
          break;
        default:
          throw new TypeError(`BtfBuilder: unknown kind ${(t as { kind: string }).kind}`);
      }
    }
    const strBytes = strings.bytes();
    const out = new Uint8Array(BTF_HEADER_SIZE + typeBytes.length + strBytes.length);
    const h = new DataView(out.buffer);
    h.setUint16(0, BTF_MAGIC, le);
    out[2] = 1; // version
    out[3] = 0; // flags
    h.setUint32(4, BTF_HEADER_SIZE, le);
    h.setUint32(8, 0, le);
    h.setUint32(12, typeBytes.length, le);
    h.setUint32(16, typeBytes.length, le);
    h.setUint32(20, strBytes.length, le);
    out.set(typeBytes, BTF_HEADER_SIZE);
    out.set(strBytes, BTF_HEADER_SIZE + typeBytes.length);
    return out;
  }
}

/** Marshal a list of types (ids 1, 2, … or after `options.base`) to a `.BTF` blob. */
export function marshalBtf(types: Iterable<BtfTypeInit>, options?: BtfBuilderOptions): Uint8Array {
  const b = new BtfBuilder(options);
  b.addAll(types);
  return b.marshal();
}

function linkageNumber(linkage: string, t: BtfType): number {
  const n = (BTF_LINKAGE_NAMES as readonly string[]).indexOf(linkage);
  if (n < 0) throw new RangeError(`BTF ${t.kind} "${t.name}" [${t.id}]: unknown linkage "${linkage}"`);
  return n;
}

function recordSize(t: BtfType): number {
  switch (t.kind) {
    case "int":
    case "var":
    case "decl_tag":
      return 16;
    case "array":
      return 24;
    case "struct":
    case "union":
      return 12 + 12 * t.members.length;
    case "enum":
      return 12 + 8 * t.values.length;
    case "enum64":
      return 12 + 12 * t.values.length;
    case "func_proto":
      return 12 + 8 * t.params.length;
    case "datasec":
      return 12 + 12 * t.vars.length;
    default:
      return 12;
  }
}

/** A deep copy of a type with its id set (so later edits of the input don't leak in). */
export function copyType(t: BtfTypeInit, id: number): BtfType {
  const c = { ...t, id } as BtfType;
  switch (c.kind) {
    case "struct":
    case "union":
      c.members = c.members.map((m) => ({ ...m }));
      break;
    case "enum":
      c.values = c.values.map((e) => ({ ...e }));
      break;
    case "enum64":
      c.values = c.values.map((e) => ({ ...e }));
      break;
    case "func_proto":
      c.params = c.params.map((x) => ({ ...x }));
      break;
    case "datasec":
      c.vars = c.vars.map((x) => ({ ...x }));
      break;
  }
  return c;
}
