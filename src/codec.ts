/**
 * Codecs convert between JavaScript values and the bytes of a map key or value. They are pure
 * (no kernel): hand-written ones live here, ones derived from BTF in src/btf/.
 *
 * Multi-byte numbers use the host's byte order, as the kernel stores map keys and values.
 */
import { checkOptions } from "./errors.js";

/** Converts between a JS value of type T and `size` bytes. */
export interface Codec<T> {
  /** Size in bytes of one encoded value. */
  readonly size: number;
  /**
   * Alignment in bytes that a struct field of this codec gets when no offset is given (as C
   * lays it out). Optional: struct() assumes the largest power of two ≤ 8 dividing `size`.
   */
  readonly align?: number;
  /**
   * Write `value` at `view[offset, offset + size)`. Throws TypeError or RangeError for a value
   * that does not fit (wrong type, out of range, wrong length), before writing anything.
   */
  encode(value: T, view: DataView, offset: number): void;
  /** Read one value from `view[offset, offset + size)`. */
  decode(view: DataView, offset: number): T;
  /**
   * Optional bulk path: read `count` values spaced `stride` bytes apart from `offset` into
   * `out[0..count)`, as `decode` would. Batch lookups use it when present (typed-array reads
   * are several times faster than one decode call per element).
   */
  decodeMany?(view: DataView, offset: number, stride: number, count: number, out: T[]): void;
}

/** Decode `count` values with `codec.decodeMany` when it has one, else one decode at a time. */
export function decodeMany<T>(codec: Codec<T>, view: DataView, offset: number, stride: number, count: number, out: T[]): void {
  if (codec.decodeMany) {
    codec.decodeMany(view, offset, stride, count, out);
    return;
  }
  for (let i = 0; i < count; i++) out[i] = codec.decode(view, offset + i * stride);
}

type TypedArrayCtor<T> = {
  new (buffer: ArrayBufferLike, byteOffset: number, length: number): { readonly [i: number]: T };
  readonly BYTES_PER_ELEMENT: number;
};

/**
 * A decodeMany over a typed array of host byte order: valid when the first value and the stride
 * are aligned to the element size; otherwise one DataView read per value.
 */
function typedDecodeMany<T>(Ctor: TypedArrayCtor<T>, decode: (v: DataView, o: number) => T) {
  const size = Ctor.BYTES_PER_ELEMENT;
  return (view: DataView, offset: number, stride: number, count: number, out: T[]): void => {
    const start = view.byteOffset + offset;
    if (count > 0 && start % size === 0 && stride % size === 0 && start + (count - 1) * stride + size <= view.byteOffset + view.byteLength) {
      const step = stride / size;
      const arr = new Ctor(view.buffer, start, (count - 1) * step + 1);
      for (let i = 0; i < count; i++) out[i] = arr[i * step] as T;
      return;
    }
    for (let i = 0; i < count; i++) out[i] = decode(view, offset + i * stride);
  };
}

/** The JS type a codec produces. */
export type CodecValue<C> = C extends Codec<infer T> ? T : never;

/** Whether this machine stores numbers little-endian (x86_64, arm64…). */
export const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const LE = HOST_LITTLE_ENDIAN;

function describe(value: unknown): string {
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value === "string") return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (value === null) return "null";
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (value instanceof Uint8Array) return `a Uint8Array of length ${value.length}`;
  if (typeof value === "object") return "an object";
  return String(value);
}

/** Throws unless `value` is an integer number in min..max. Shared by the integer codecs. */
function checkInt(name: string, value: unknown, min: number, max: number): void {
  if (typeof value !== "number" || !Number.isInteger(value)) {
    throw new TypeError(`${name}: expected an integer number, got ${describe(value)}`);
  }
  if (value < min || value > max) throw new RangeError(`${name}: ${value} is outside ${min}..${max}`);
}

// Each integer codec spells out its own encode/decode: a shared body calling a per-codec
// setter would be a polymorphic call site that V8 does not inline, on the map hot path.

/** Unsigned 8-bit integer as a number. */
export const u8: Codec<number> = {
  size: 1,
  align: 1,
  encode(value, view, offset) {
    checkInt("u8", value, 0, 0xff);
    view.setUint8(offset, value);
  },
  decode: (v, o) => v.getUint8(o),
  decodeMany: typedDecodeMany(Uint8Array, (v, o) => v.getUint8(o)),
};
/** Signed 8-bit integer as a number. */
export const s8: Codec<number> = {
  size: 1,
  align: 1,
  encode(value, view, offset) {
    checkInt("s8", value, -0x80, 0x7f);
    view.setInt8(offset, value);
  },
  decode: (v, o) => v.getInt8(o),
  decodeMany: typedDecodeMany(Int8Array, (v, o) => v.getInt8(o)),
};
/** Unsigned 16-bit integer (host order) as a number. */
export const u16: Codec<number> = {
  size: 2,
  align: 2,
  encode(value, view, offset) {
    checkInt("u16", value, 0, 0xffff);
    view.setUint16(offset, value, LE);
  },
  decode: (v, o) => v.getUint16(o, LE),
  decodeMany: typedDecodeMany(Uint16Array, (v, o) => v.getUint16(o, LE)),
};
/** Signed 16-bit integer (host order) as a number. */
export const s16: Codec<number> = {
  size: 2,
  align: 2,
  encode(value, view, offset) {
    checkInt("s16", value, -0x8000, 0x7fff);
    view.setInt16(offset, value, LE);
  },
  decode: (v, o) => v.getInt16(o, LE),
  decodeMany: typedDecodeMany(Int16Array, (v, o) => v.getInt16(o, LE)),
};
/** Unsigned 32-bit integer (host order) as a number. */
export const u32: Codec<number> = {
  size: 4,
  align: 4,
  encode(value, view, offset) {
    checkInt("u32", value, 0, 0xffffffff);
    view.setUint32(offset, value, LE);
  },
  decode: (v, o) => v.getUint32(o, LE),
  decodeMany: typedDecodeMany(Uint32Array, (v, o) => v.getUint32(o, LE)),
};
/** Signed 32-bit integer (host order) as a number. */
export const s32: Codec<number> = {
  size: 4,
  align: 4,
  encode(value, view, offset) {
    checkInt("s32", value, -0x80000000, 0x7fffffff);
    view.setInt32(offset, value, LE);
  },
  decode: (v, o) => v.getInt32(o, LE),
  decodeMany: typedDecodeMany(Int32Array, (v, o) => v.getInt32(o, LE)),
};

/** A u64/s64 input as a bigint: a bigint, or a safe integer number (`map.set(0, 1)` needs no `1n`). */
function toBigInt(name: string, value: unknown, min: bigint, max: bigint): bigint {
  let b: bigint;
  if (typeof value === "bigint") b = value;
  else if (typeof value === "number" && Number.isSafeInteger(value)) b = BigInt(value);
  else throw new TypeError(`${name}: expected a bigint (or a safe integer number), got ${describe(value)}`);
  if (b < min || b > max) throw new RangeError(`${name}: ${b} is outside ${min}..${max}`);
  return b;
}

/** Unsigned 64-bit integer (host order) as a bigint; encode also takes a safe integer number. */
export const u64: Codec<bigint> = {
  size: 8,
  align: 8,
  encode(value, view, offset) {
    view.setBigUint64(offset, toBigInt("u64", value, 0n, 0xffffffffffffffffn), LE);
  },
  decode: (v, o) => v.getBigUint64(o, LE),
  decodeMany: typedDecodeMany<bigint>(BigUint64Array, (v, o) => v.getBigUint64(o, LE)),
};
/** Signed 64-bit integer (host order) as a bigint; encode also takes a safe integer number. */
export const s64: Codec<bigint> = {
  size: 8,
  align: 8,
  encode(value, view, offset) {
    view.setBigInt64(offset, toBigInt("s64", value, -0x8000000000000000n, 0x7fffffffffffffffn), LE);
  },
  decode: (v, o) => v.getBigInt64(o, LE),
  decodeMany: typedDecodeMany<bigint>(BigInt64Array, (v, o) => v.getBigInt64(o, LE)),
};

/** 32-bit IEEE float (host order). Encoding rounds to the nearest float. */
export const f32: Codec<number> = {
  size: 4,
  align: 4,
  encode(value, view, offset) {
    if (typeof value !== "number") throw new TypeError(`f32: expected a number, got ${describe(value)}`);
    view.setFloat32(offset, value, LE);
  },
  decode: (v, o) => v.getFloat32(o, LE),
  decodeMany: typedDecodeMany(Float32Array, (v, o) => v.getFloat32(o, LE)),
};

/** 64-bit IEEE float (host order). */
export const f64: Codec<number> = {
  size: 8,
  align: 8,
  encode(value, view, offset) {
    if (typeof value !== "number") throw new TypeError(`f64: expected a number, got ${describe(value)}`);
    view.setFloat64(offset, value, LE);
  },
  decode: (v, o) => v.getFloat64(o, LE),
  decodeMany: typedDecodeMany(Float64Array, (v, o) => v.getFloat64(o, LE)),
};

/** One byte, 0 or 1, as a boolean (any non-zero byte decodes as true). */
export const bool: Codec<boolean> = {
  size: 1,
  align: 1,
  encode(value, view, offset) {
    if (typeof value !== "boolean") throw new TypeError(`bool: expected a boolean, got ${describe(value)}`);
    view.setUint8(offset, value ? 1 : 0);
  },
  decode: (v, o) => v.getUint8(o) !== 0,
};

function checkSize(size: number, what: string): void {
  if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`${what}: size ${size} is not a non-negative integer`);
}

/** Natural alignment of a codec: its `align`, or the largest power of two ≤ 8 dividing its size. */
export function alignOf(codec: Codec<unknown>): number {
  if (codec.align !== undefined) return codec.align;
  for (const a of [8, 4, 2]) if (codec.size % a === 0 && codec.size >= a) return a;
  return 1;
}

/**
 * Exactly `size` raw bytes as a Uint8Array. Decoding copies, so the result stays valid after
 * the map's buffer is reused. Encoding takes any Uint8Array (or Buffer) of exactly `size` bytes.
 */
export function bytes(size: number): Codec<Uint8Array> {
  checkSize(size, "bytes");
  return {
    size,
    align: 1,
    encode(value, view, offset) {
      if (!(value instanceof Uint8Array)) throw new TypeError(`bytes(${size}): expected a Uint8Array, got ${describe(value)}`);
      if (value.length !== size) throw new RangeError(`bytes(${size}): expected ${size} bytes, got ${value.length}`);
      new Uint8Array(view.buffer, view.byteOffset + offset, size).set(value);
    },
    decode(view, offset) {
      return new Uint8Array(view.buffer.slice(view.byteOffset + offset, view.byteOffset + offset + size));
    },
  };
}

/**
 * A fixed-size C string (`char name[size]`): encodes UTF-8 followed by NUL padding (at most
 * `size - 1` bytes of text), decodes up to the first NUL.
 */
export function cstring(size: number): Codec<string> {
  checkSize(size, "cstring");
  if (size < 1) throw new RangeError("cstring: size must be at least 1 (for the NUL)");
  const enc = new TextEncoder();
  const dec = new TextDecoder();
  return {
    size,
    align: 1,
    encode(value, view, offset) {
      if (typeof value !== "string") throw new TypeError(`cstring(${size}): expected a string, got ${describe(value)}`);
      const b = enc.encode(value);
      if (b.includes(0)) throw new TypeError(`cstring(${size}): the string contains a NUL character`);
      if (b.length > size - 1) throw new RangeError(`cstring(${size}): ${b.length} bytes of UTF-8 do not fit with the NUL`);
      const dst = new Uint8Array(view.buffer, view.byteOffset + offset, size);
      dst.fill(0);
      dst.set(b);
    },
    decode(view, offset) {
      const src = new Uint8Array(view.buffer, view.byteOffset + offset, size);
      const nul = src.indexOf(0);
      return dec.decode(src.subarray(0, nul < 0 ? size : nul));
    },
  };
}

/**
 * Encode through a scratch buffer, then copy: composite codecs must not leave a half-written
 * value behind when a later element is invalid.
 */
function staged<T>(size: number, write: (value: T, view: DataView) => void): (value: T, view: DataView, offset: number) => void {
  const scratch = new Uint8Array(size);
  const scratchView = new DataView(scratch.buffer);
  return (value, view, offset) => {
    scratch.fill(0);
    write(value, scratchView);
    new Uint8Array(view.buffer, view.byteOffset + offset, size).set(scratch);
  };
}

/**
 * `count` consecutive elements of `element`, as a JS array of exactly that length (`T x[count]`
 * in C). `stride` defaults to the element size; a larger stride leaves zeroed padding between
 * elements (per-CPU values use a stride rounded up to 8).
 */
export function array<T>(element: Codec<T>, count: number, stride: number = element.size): Codec<T[]> {
  checkSize(count, "array");
  if (!Number.isSafeInteger(stride) || stride < element.size) {
    throw new RangeError(`array: stride ${stride} is smaller than the element size ${element.size}`);
  }
  const size = stride * count;
  return {
    size,
    align: alignOf(element),
    encode: staged<T[]>(size, (value, view) => {
      if (!Array.isArray(value)) throw new TypeError(`array of ${count}: expected an array, got ${describe(value)}`);
      if (value.length !== count) throw new RangeError(`array of ${count}: expected ${count} elements, got ${value.length}`);
      for (let i = 0; i < count; i++) element.encode(value[i] as T, view, i * stride);
    }),
    decode(view, offset) {
      const out = new Array<T>(count);
      for (let i = 0; i < count; i++) out[i] = element.decode(view, offset + i * stride);
      return out;
    },
  };
}

/** `n` rounded up to a multiple of `a` (a power of two). */
export function roundUp(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}

/**
 * The value of a per-CPU map as userspace sees it: one `element` per possible CPU, each in a
 * slot rounded up to 8 bytes (the kernel's `round_up(value_size, 8)`).
 */
export function perCpu<T>(element: Codec<T>, cpus: number): Codec<T[]> {
  if (!Number.isSafeInteger(cpus) || cpus < 1) throw new RangeError(`perCpu: cpu count ${cpus} must be at least 1`);
  return array(element, cpus, roundUp(element.size, 8));
}

/** One field of a struct codec. */
export interface StructField<T = unknown> {
  name: string;
  codec: Codec<T>;
  /** Byte offset in the struct; by default the next offset aligned for the codec, as C does. */
  offset?: number;
}

/** Options for struct(). */
export interface StructOptions {
  /** Total size including trailing padding; defaults to the end of the last field rounded to the struct's alignment. */
  size?: number;
}

export type FieldsValue<F extends readonly StructField[]> = {
  [E in F[number] as E["name"]]: E extends StructField<infer T> ? T : never;
};

/**
 * A C struct as a plain object: each field at its offset, padding bytes zero when encoding.
 * Encoding needs every field and rejects unknown keys. Throws RangeError at construction for
 * overlapping fields or a size that cuts a field off.
 *
 * @example struct([{ name: "pid", codec: u32 }, { name: "ts", codec: u64 }]) // size 16, ts at 8
 */
export function struct<const F extends readonly StructField[]>(fields: F, options: StructOptions = {}): Codec<FieldsValue<F>> {
  checkOptions("struct", options, ["size"]);
  const laid: { name: string; codec: Codec<unknown>; offset: number }[] = [];
  const names = new Set<string>();
  let end = 0;
  let align = 1;
  for (const f of fields) {
    if (typeof f.name !== "string" || f.name.length === 0) throw new TypeError("struct: every field needs a name");
    if (names.has(f.name)) throw new TypeError(`struct: duplicate field "${f.name}"`);
    names.add(f.name);
    const a = alignOf(f.codec);
    align = Math.max(align, a);
    const offset = f.offset ?? roundUp(end, a);
    if (!Number.isSafeInteger(offset) || offset < 0) throw new RangeError(`struct: field "${f.name}" has invalid offset ${offset}`);
    for (const other of laid) {
      if (offset < other.offset + other.codec.size && other.offset < offset + f.codec.size) {
        throw new RangeError(`struct: field "${f.name}" at ${offset} overlaps "${other.name}" at ${other.offset}`);
      }
    }
    laid.push({ name: f.name, codec: f.codec as Codec<unknown>, offset });
    end = Math.max(end, offset + f.codec.size);
  }
  const size = options.size ?? roundUp(end, align);
  checkSize(size, "struct");
  if (size < end) throw new RangeError(`struct: size ${size} cuts off fields ending at ${end}`);
  return {
    size,
    align,
    encode: staged<FieldsValue<F>>(size, (value, view) => {
      if (typeof value !== "object" || value === null || Array.isArray(value)) {
        throw new TypeError(`struct: expected an object, got ${describe(value)}`);
      }
      const rec = value as Record<string, unknown>;
      for (const k of Object.keys(rec)) if (!names.has(k)) throw new TypeError(`struct: unknown field "${k}"`);
      for (const f of laid) {
        if (!(f.name in rec)) throw new TypeError(`struct: missing field "${f.name}"`);
        f.codec.encode(rec[f.name], view, f.offset);
      }
    }),
    decode(view, offset) {
      const out: Record<string, unknown> = {};
      for (const f of laid) out[f.name] = f.codec.decode(view, offset + f.offset);
      return out as FieldsValue<F>;
    },
  };
}

/**
 * The codec tsbpf uses for a key or value of `size` bytes when none is given: raw bytes. Raw
 * bytes never guess wrong about signedness or layout; pass `u32`, `u64`, struct()… for typed access.
 */
export function defaultCodec(size: number): Codec<Uint8Array> {
  return bytes(size);
}

/** The unsigned integer codec for a size of 1, 2, 4 or 8 bytes (u8/u16/u32/u64), else raw bytes. */
export function unsignedCodecForSize(size: number): Codec<number> | Codec<bigint> | Codec<Uint8Array> {
  switch (size) {
    case 1: return u8;
    case 2: return u16;
    case 4: return u32;
    case 8: return u64;
    default: return bytes(size);
  }
}

/** Check that `codec` fits `size` bytes exactly; throws RangeError naming `what`. */
export function checkCodecSize(codec: Codec<unknown>, size: number, what: string): void {
  if (typeof codec !== "object" || codec === null || typeof codec.encode !== "function" || typeof codec.decode !== "function") {
    throw new TypeError(`${what}: expected a codec (an object with size, encode and decode)`);
  }
  if (codec.size !== size) throw new RangeError(`${what}: codec is ${codec.size} bytes but the map's size is ${size}`);
}


/**
 * The value of an fd-holding map (prog_array, array/hash_of_maps, sockmap…): encode takes an
 * fd number or an object with `fd` (a BpfMap, a Program); decode gives what the kernel reports
 * back, the object's id (u32).
 */
export const objectFd: Codec<number | { readonly fd: number }> = {
  size: 4,
  align: 4,
  encode(value, view, offset) {
    const n = typeof value === "number" ? value : typeof value === "object" && value !== null ? value.fd : undefined;
    if (typeof n !== "number" || !Number.isInteger(n)) {
      throw new TypeError(`objectFd: expected an fd number or an object with an fd, got ${describe(value)}`);
    }
    if (n < 0 || n > 0x7fffffff) throw new RangeError(`objectFd: ${n} is not a valid fd`);
    view.setUint32(offset, n, LE);
  },
  decode: (v, o) => v.getUint32(o, LE),
};

/** The hand-written codecs in one object, as exported by tsbpf's entry point. */
export const codecs = {
  u8, u16, u32, u64, s8, s16, s32, s64, f32, f64, bool,
  bytes, cstring, array, perCpu, struct, objectFd, defaultCodec, unsignedCodecForSize,
} as const;
