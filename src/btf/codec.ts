/**
 * Codecs derived from BTF: the JS shape of a map key or value follows its C type, so a map
 * loaded from an ELF object needs no hand-written codec.
 *
 * | C (BTF)                         | JavaScript                                   |
 * |---------------------------------|----------------------------------------------|
 * | `_Bool`                         | boolean                                      |
 * | 8/16/32-bit ints, enums         | number                                       |
 * | 64-bit ints, enum64, pointers   | bigint (encode also takes a safe integer)    |
 * | `__int128`                      | bigint                                       |
 * | float, double                   | number                                       |
 * | `char x[n]`                     | string: UTF-8 up to the first NUL (all n bytes when none); `charArrays: "bytes"` gives the Uint8Array |
 * | `__u8 x[n]`, `signed char x[n]` | Uint8Array of n bytes                        |
 * | other arrays                    | array of n elements                          |
 * | struct                          | object by member name (anonymous struct/union members flattened, as C reads them) |
 * | union                           | decode: object with every member; encode: writes the first member present (declaration order) |
 * | bitfields                       | number (bigint when the underlying int is 64-bit), boolean for `_Bool` |
 * | datasec (`.data`, `.bss`…)      | object by variable name                      |
 *
 * Numbers are in host byte order, as the kernel stores map data. Pure.
 *
 * `char` arrays are strings: decoding reads the bytes up to the first NUL (all of them when
 * there is none) as UTF-8, an invalid sequence becoming U+FFFD; encoding writes the string's
 * UTF-8 and zero-fills the rest, and refuses a string whose UTF-8 is longer than the array or
 * holds a NUL. Text that is not UTF-8 (or bytes after the NUL) needs the escape hatch:
 * `codecFromBtf(btf, id, { charArrays: "bytes" })` gives every `char` array as a Uint8Array.
 *
 * Encode errors name the struct by name and the member path, e.g.
 * `struct policy_key: member "addr": struct in_addr: missing member "s_addr"`.
 */
import {
  array as arrayCodec,
  bool,
  bytes,
  f32,
  f64,
  HOST_LITTLE_ENDIAN,
  s16,
  s32,
  s64,
  s8,
  u16,
  u32,
  u64,
  u8,
  type Codec,
} from "../codec.js";
import { ParseError } from "../errors.js";
import { skipQualifiers, type BtfTypeSource } from "./query.js";
import type { BtfMember, BtfType } from "./types.js";

/** Options of codecFromBtf. */
export interface BtfCodecOptions {
  /**
   * How `char x[n]` arrays are shaped: `"string"` (default; UTF-8 up to the first NUL) or
   * `"bytes"` (a Uint8Array of the n bytes, as `__u8` arrays are).
   */
  charArrays?: "string" | "bytes";
}

/** How deeply structs, unions and arrays may nest before the BTF is called hostile. */
const MAX_NESTING = 64;
/**
 * The largest value a codec is built for (256 MiB): map values are far smaller (the kernel caps
 * them at a few MiB), so anything larger is absurd BTF, refused before buffers are allocated.
 */
const MAX_CODEC_SIZE = 1 << 28;

function checkSize(size: number, id: number): void {
  if (!Number.isSafeInteger(size) || size > MAX_CODEC_SIZE) {
    throw new ParseError(`BTF: type [${id}] is ${size} bytes, larger than tsbpf builds codecs for (${MAX_CODEC_SIZE})`);
  }
}

/**
 * A codec for the BTF type `type` (an id in `btf`, or a type object from it). Throws TypeError
 * for types without a value layout (void, fwd, func, func_proto, an incomplete struct) and
 * ParseError for reference loops or absurd nesting.
 *
 * @example
 * const spec = parseBtf(btfBytes);
 * const value = codecFromBtf(spec, spec.typeByName("event", "struct")!);
 * value.decode(new DataView(buf.buffer), 0); // { pid: 42, comm: Uint8Array(16), ts: 123n }
 */
export function codecFromBtf<T = unknown>(btf: BtfTypeSource, type: number | BtfType, options: BtfCodecOptions = {}): Codec<T> {
  const id = typeof type === "number" ? type : type.id;
  for (const k of Object.keys(options)) if (k !== "charArrays") throw new TypeError(`codecFromBtf: unknown option "${k}"`);
  const chars = options.charArrays ?? "string";
  if (chars !== "string" && chars !== "bytes") throw new TypeError(`codecFromBtf: charArrays must be "string" or "bytes", got ${describe(chars)}`);
  return build({ btf, memo: new Map(), fields: 0, charStrings: chars === "string" }, id, 0) as Codec<T>;
}

/** Whether `t` is C's plain `char` (a 1-byte int named "char", or flagged BTF_INT_CHAR). */
export function isCharType(t: BtfType): boolean {
  return t.kind === "int" && t.size === 1 && !t.bool && (t.char || t.name === "char");
}

/**
 * A `char x[n]` as a string: UTF-8 up to the first NUL (all n bytes when there is none);
 * encoding zero-fills after the text and takes up to n bytes of UTF-8 without a NUL.
 */
function charString(n: number): Codec<string> {
  const enc = new TextEncoder();
  const dec = new TextDecoder();
  const what = `char[${n}]`;
  return {
    size: n,
    align: 1,
    encode(value, view, offset) {
      if (typeof value !== "string") throw new TypeError(`${what}: expected a string, got ${describe(value)}`);
      const b = enc.encode(value);
      if (b.includes(0)) throw new TypeError(`${what}: the string contains a NUL character`);
      if (b.length > n) throw new RangeError(`${what}: ${b.length} bytes of UTF-8 do not fit in ${n}`);
      const dst = new Uint8Array(view.buffer, view.byteOffset + offset, n);
      dst.fill(0);
      dst.set(b);
    },
    decode(view, offset) {
      const src = new Uint8Array(view.buffer, view.byteOffset + offset, n);
      const nul = src.indexOf(0);
      return dec.decode(nul < 0 ? src : src.subarray(0, nul));
    },
  };
}

function describe(value: unknown): string {
  if (typeof value === "bigint") return `${value}n`;
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") return "an object";
  return typeof value === "string" ? JSON.stringify(value) : String(value);
}

function nest(depth: number, id: number): number {
  if (depth >= MAX_NESTING) throw new ParseError(`BTF: type [${id}] nests more than ${MAX_NESTING} levels (loop?)`);
  return depth + 1;
}

/** One codecFromBtf call: codecs built so far by type id (shared sub-types are built once). */
interface Ctx {
  btf: BtfTypeSource;
  memo: Map<number, Codec<unknown>>;
  /** Fields created so far: bounded, since hostile BTF can nest anonymous types exponentially. */
  fields: number;
  /** Whether `char` arrays are strings (else bytes). */
  charStrings: boolean;
}

/** How many struct fields one codec may have in all (real map values have a few hundred). */
const MAX_FIELDS = 1 << 20;

function build(cx: Ctx, id: number, depth: number): Codec<unknown> {
  const known = cx.memo.get(id);
  if (known) return known;
  const c = buildNew(cx, id, depth);
  cx.memo.set(id, c);
  return c;
}

function buildNew(cx: Ctx, id: number, depth: number): Codec<unknown> {
  const btf = cx.btf;
  const t = skipQualifiers(btf, id);
  switch (t.kind) {
    case "int":
      return intCodec(t.size, t.signed, t.bool, t.id);
    case "enum":
      return intCodec(t.size, t.signed, false, t.id);
    case "enum64":
      return t.size === 8 ? (t.signed ? s64 : u64) : intCodec(t.size, t.signed, false, t.id);
    case "float":
      if (t.size === 4) return f32 as Codec<unknown>;
      if (t.size === 8) return f64 as Codec<unknown>;
      checkSize(t.size, t.id);
      return bytes(t.size) as Codec<unknown>;
    case "ptr":
      return u64 as Codec<unknown>;
    case "array": {
      const d = nest(depth, t.id);
      checkSize(t.nelems, t.id); // also bounds arrays of zero-sized elements
      const elem = skipQualifiers(btf, t.type);
      if (elem.kind === "int" && elem.size === 1 && !elem.bool) {
        checkSize(t.nelems, t.id);
        if (cx.charStrings && isCharType(elem)) return charString(t.nelems) as Codec<unknown>;
        return bytes(t.nelems) as Codec<unknown>;
      }
      const ec = build(cx, t.type, d);
      checkSize(ec.size * t.nelems, t.id);
      return arrayCodec(ec, t.nelems) as Codec<unknown>;
    }
    case "struct":
    case "union":
      checkSize(t.size, t.id);
      return compositeCodec(cx, t.kind === "union", t.size, t.members, t.id, nest(depth, t.id), t.name);
    case "var":
      return build(cx, t.type, nest(depth, t.id));
    case "datasec": {
      checkSize(t.size, t.id);
      const d = nest(depth, t.id);
      const fields: Field[] = [];
      for (const v of t.vars) {
        const vt = btf.typeById(v.type);
        if (vt.kind !== "var") continue; // funcs in .ksyms have no storage
        fields.push({ name: vt.name, offset: v.offset, codec: build(cx, vt.type, d) });
      }
      return objectCodec(fields, t.size, false, `datasec ${t.name}`);
    }
    default:
      // Asking for a codec of a function is misuse; a struct member or array element of such a
      // kind is BTF the kernel would refuse.
      if (depth > 0) throw new ParseError(`BTF: type [${id}] (${t.kind}${t.name ? ` "${t.name}"` : ""}) is used as a member or element but has no value layout: malformed BTF`);
      throw new TypeError(`BTF type [${id}] (${t.kind}${t.name ? ` "${t.name}"` : ""}) has no value layout to encode`);
  }
}

function intCodec(size: number, signed: boolean, isBool: boolean, id: number): Codec<unknown> {
  if (isBool && size === 1) return bool as Codec<unknown>;
  switch (size) {
    case 1:
      return (signed ? s8 : u8) as Codec<unknown>;
    case 2:
      return (signed ? s16 : u16) as Codec<unknown>;
    case 4:
      return (signed ? s32 : u32) as Codec<unknown>;
    case 8:
      return (signed ? s64 : u64) as Codec<unknown>;
    case 16:
      return int128(signed) as Codec<unknown>;
    default:
      throw new ParseError(`BTF: integer type [${id}] has unsupported size ${size}`);
  }
}

function int128(signed: boolean): Codec<bigint> {
  const min = signed ? -(1n << 127n) : 0n;
  const max = signed ? (1n << 127n) - 1n : (1n << 128n) - 1n;
  const name = signed ? "s128" : "u128";
  const le = HOST_LITTLE_ENDIAN;
  return {
    size: 16,
    align: 16,
    encode(value, view, offset) {
      const b = typeof value === "number" && Number.isSafeInteger(value) ? BigInt(value) : value;
      if (typeof b !== "bigint") throw new TypeError(`${name}: expected a bigint, got ${describe(value)}`);
      if (b < min || b > max) throw new RangeError(`${name}: ${b} is out of range`);
      const u = BigInt.asUintN(128, b);
      const lo = u & 0xffffffffffffffffn;
      const hi = u >> 64n;
      view.setBigUint64(offset + (le ? 0 : 8), lo, le);
      view.setBigUint64(offset + (le ? 8 : 0), hi, le);
    },
    decode(view, offset) {
      const lo = view.getBigUint64(offset + (le ? 0 : 8), le);
      const hi = view.getBigUint64(offset + (le ? 8 : 0), le);
      const u = (hi << 64n) | lo;
      return signed ? BigInt.asIntN(128, u) : u;
    },
  };
}

/** One field of an object codec: a whole-byte member, or a bitfield. */
interface Field {
  name: string;
  /** Byte offset. */
  offset: number;
  codec: Codec<unknown>;
}

/**
 * A bitfield `bits` wide at bit `bitOffset` of the struct, in host bit order: on little-endian
 * hosts bit 0 is the lowest bit of byte 0; on big-endian hosts, the highest.
 */
function bitfieldCodec(bitOffset: number, bits: number, signed: boolean, big: boolean, isBool: boolean): { offset: number; codec: Codec<unknown> } {
  const first = Math.floor(bitOffset / 8);
  const last = Math.floor((bitOffset + bits - 1) / 8);
  const n = last - first + 1;
  const shift = BigInt(HOST_LITTLE_ENDIAN ? bitOffset - first * 8 : (last + 1) * 8 - (bitOffset + bits));
  const mask = (1n << BigInt(bits)) - 1n;
  const min = signed ? -(1n << BigInt(bits - 1)) : 0n;
  const max = signed ? (1n << BigInt(bits - 1)) - 1n : mask;
  const readSpan = (view: DataView, at: number): bigint => {
    let x = 0n;
    if (HOST_LITTLE_ENDIAN) for (let i = n - 1; i >= 0; i--) x = (x << 8n) | BigInt(view.getUint8(at + i));
    else for (let i = 0; i < n; i++) x = (x << 8n) | BigInt(view.getUint8(at + i));
    return x;
  };
  const writeSpan = (view: DataView, at: number, x: bigint): void => {
    if (HOST_LITTLE_ENDIAN) {
      for (let i = 0; i < n; i++, x >>= 8n) view.setUint8(at + i, Number(x & 0xffn));
    } else {
      for (let i = n - 1; i >= 0; i--, x >>= 8n) view.setUint8(at + i, Number(x & 0xffn));
    }
  };
  const what = `bitfield of ${bits} bits`;
  return {
    offset: first,
    codec: {
      size: n,
      align: 1,
      encode(value, view, offset) {
        let b: bigint;
        if (isBool && typeof value === "boolean") b = value ? 1n : 0n;
        else if (typeof value === "bigint") b = value;
        else if (typeof value === "number" && Number.isSafeInteger(value)) b = BigInt(value);
        else throw new TypeError(`${what}: expected an integer, got ${describe(value)}`);
        if (b < min || b > max) throw new RangeError(`${what}: ${b} is outside ${min}..${max}`);
        const span = readSpan(view, offset);
        const cleared = span & ~(mask << shift);
        writeSpan(view, offset, cleared | ((BigInt.asUintN(bits, b) & mask) << shift));
      },
      decode(view, offset) {
        let x = (readSpan(view, offset) >> shift) & mask;
        if (signed) x = BigInt.asIntN(bits, x);
        if (isBool) return x !== 0n;
        return big ? x : Number(x);
      },
    },
  };
}

/** The fields of a struct/union, anonymous composite members flattened into their parent. */
function collectFields(cx: Ctx, members: readonly BtfMember[], baseBit: number, id: number, depth: number, out: Field[]): void {
  const btf = cx.btf;
  cx.fields += members.length;
  if (cx.fields > MAX_FIELDS) throw new ParseError(`BTF: type [${id}] expands to more than ${MAX_FIELDS} fields (hostile BTF?)`);
  for (const m of members) {
    const bitOffset = baseBit + m.bitOffset;
    const mt = skipQualifiers(btf, m.type);
    if (m.name === "") {
      // anonymous struct/union: its members read as the parent's (C11); unnamed bitfields pad
      if (mt.kind === "struct" || mt.kind === "union") {
        if (bitOffset % 8 !== 0) throw new ParseError(`BTF: an anonymous ${mt.kind} in [${id}] starts at bit ${bitOffset}, not at a byte`);
        if (mt.kind === "union") {
          out.push({ name: "", offset: bitOffset / 8, codec: compositeCodec(cx, true, mt.size, mt.members, mt.id, nest(depth, mt.id), mt.name) });
        } else {
          collectFields(cx, mt.members, bitOffset, mt.id, nest(depth, mt.id), out);
        }
      }
      continue;
    }
    let bits = m.bitfieldSize;
    let bitPos = bitOffset;
    // legacy encoding: an int type narrower than its storage carries the bitfield
    if (bits === 0 && mt.kind === "int" && mt.bits !== mt.size * 8) {
      bits = mt.bits;
      bitPos += mt.bitOffset;
    }
    if (bits === 0 && bitOffset % 8 !== 0) bits = typeBits(mt);
    if (bits !== 0) {
      const signed = (mt.kind === "int" || mt.kind === "enum" || mt.kind === "enum64") && mt.signed;
      const big = (mt.kind === "int" || mt.kind === "enum64" || mt.kind === "enum") && mt.size === 8;
      const isBool = mt.kind === "int" && mt.bool;
      if (bits > 128) throw new ParseError(`BTF: member "${m.name}" of [${id}] is a ${bits}-bit bitfield`);
      const bf = bitfieldCodec(bitPos, bits, signed, big, isBool);
      out.push({ name: m.name, offset: bf.offset, codec: bf.codec });
    } else {
      out.push({ name: m.name, offset: bitOffset / 8, codec: build(cx, m.type, depth) });
    }
  }
}

function typeBits(t: BtfType): number {
  if (t.kind === "int") return t.bits;
  if (t.kind === "enum" || t.kind === "enum64") return t.size * 8;
  throw new ParseError(`BTF: a ${t.kind} member at a bit offset that is not a whole byte: only integers and enums can be bitfields (malformed BTF)`);
}

function compositeCodec(cx: Ctx, isUnion: boolean, size: number, members: readonly BtfMember[], id: number, depth: number, name: string): Codec<unknown> {
  const fields: Field[] = [];
  collectFields(cx, members, 0, id, depth, fields);
  return objectCodec(fields, size, isUnion, `${isUnion ? "union" : "struct"} ${name || `[${id}] (anonymous)`}`);
}

/**
 * An object codec over fields at fixed offsets. Anonymous unions inside a struct appear as
 * fields with an empty name whose members are merged into the parent object.
 */
function objectCodec(fields: Field[], size: number, isUnion: boolean, what: string): Codec<unknown> {
  if (!Number.isSafeInteger(size) || size < 0) throw new ParseError(`BTF: ${what} has an absurd size ${size}`);
  for (const f of fields) {
    if (f.offset + f.codec.size > size) {
      throw new ParseError(`BTF: ${what}: member "${f.name}" ends at byte ${f.offset + f.codec.size}, past the size ${size}`);
    }
  }
  const named = new Set<string>();
  const addNames = (f: Field) => {
    const names = f.name === "" ? ((f.codec as Partial<ObjectCodec>).fieldNames ?? []) : [f.name];
    for (const n of names) {
      if (named.has(n)) throw new ParseError(`BTF: ${what} has two members named "${n}"`);
      named.add(n);
    }
  };
  fields.forEach(addNames);
  // allocated on first encode: many codecs only ever decode
  let scratch: Uint8Array | undefined;
  let scratchView: DataView;

  /** Write the fields present in `rec` (all of them for a struct, one for a union). */
  const writeInto = (rec: Record<string, unknown>, view: DataView, base: number) => {
    if (isUnion) {
      const first = fields.find((f) => (f.name === "" ? anyOf(rec, f) : f.name in rec));
      if (!first) throw new TypeError(`${what}: a union value needs one of its members (${[...named].join(", ")})`);
      writeField(first, rec, view, base);
      return;
    }
    for (const f of fields) writeField(f, rec, view, base);
  };
  const writeField = (f: Field, rec: Record<string, unknown>, view: DataView, base: number) => {
    if (f.name === "") {
      (f.codec as ObjectCodec).writeMembers(rec, view, base + f.offset);
      return;
    }
    if (!(f.name in rec)) throw new TypeError(`${what}: missing member "${f.name}"`);
    try {
      f.codec.encode(rec[f.name], view, base + f.offset);
    } catch (e) {
      // say where: `struct outer: member "inner": struct inner: missing member "x"`
      if (e instanceof Error && !e.message.startsWith(what)) e.message = `${what}: member "${f.name}": ${e.message}`;
      throw e;
    }
  };
  const anyOf = (rec: Record<string, unknown>, f: Field) => ((f.codec as ObjectCodec).fieldNames ?? []).some((n) => n in rec);

  const codec: ObjectCodec = {
    size,
    fieldNames: [...named],
    encode(value, view, offset) {
      if (typeof value !== "object" || value === null || Array.isArray(value) || value instanceof Uint8Array) {
        throw new TypeError(`${what}: expected an object, got ${describe(value)}`);
      }
      const rec = value as Record<string, unknown>;
      for (const k of Object.keys(rec)) if (!named.has(k)) throw new TypeError(`${what}: unknown member "${k}"`);
      // stage in scratch: a bad member later on must not leave a half-written value behind
      if (!scratch) {
        scratch = new Uint8Array(size);
        scratchView = new DataView(scratch.buffer);
      }
      scratch.fill(0);
      writeInto(rec, scratchView, 0);
      new Uint8Array(view.buffer, view.byteOffset + offset, size).set(scratch);
    },
    decode(view, offset) {
      const out: Record<string, unknown> = {};
      for (const f of fields) {
        if (f.name === "") Object.assign(out, f.codec.decode(view, offset + f.offset));
        else out[f.name] = f.codec.decode(view, offset + f.offset);
      }
      return out;
    },
    writeMembers(rec, view, at) {
      // an anonymous union/struct inside a parent: members come from the parent's object
      if (isUnion) {
        const first = fields.find((f) => (f.name === "" ? anyOf(rec, f) : f.name in rec));
        if (first) writeField(first, rec, view, at);
        return;
      }
      for (const f of fields) writeField(f, rec, view, at);
    },
  };
  return codec;
}

interface ObjectCodec extends Codec<unknown> {
  fieldNames: string[];
  writeMembers(rec: Record<string, unknown>, view: DataView, at: number): void;
}
