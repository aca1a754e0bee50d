/**
 * Variables of a CollectionSpec: a named window into a global data map's contents, with the
 * value decoded from the variable's BTF type (integers, bools, enums; anything else as bytes).
 * Editing a variable before load edits the map's initial contents. Pure: no kernel.
 */
import { skipQualifiers } from "../btf/query.js";
import type { BtfSpec } from "../btf/spec.js";
import type { VariableSpec } from "../spec/collection-spec.js";
import type { MapSpec } from "../spec/map-spec.js";

/** A variable's value: number (ints up to 32 bits, enums), bigint (64-bit ints), boolean, or bytes. */
export type VariableValue = number | bigint | boolean | Uint8Array;

/** How to read and write a value of `size` bytes with BTF type `typeId`. */
export interface ScalarKind {
  kind: "int" | "bool" | "bytes";
  signed: boolean;
  size: number;
}

/** The scalar kind of a BTF type, for reading and writing a variable's value. */
export function scalarKind(btf: BtfSpec | undefined, typeId: number, size: number): ScalarKind {
  if (btf && typeId) {
    try {
      const t = skipQualifiers(btf, typeId);
      if (t.kind === "int" && [1, 2, 4, 8].includes(t.size) && t.size === size) {
        return { kind: t.bool ? "bool" : "int", signed: t.signed, size };
      }
      if ((t.kind === "enum" || t.kind === "enum64") && [1, 2, 4, 8].includes(t.size) && t.size === size) {
        return { kind: "int", signed: t.signed, size };
      }
      if (t.kind === "ptr" && size === 8) return { kind: "int", signed: false, size };
    } catch {
      // Malformed BTF for this variable: fall back to bytes.
    }
    return { kind: "bytes", signed: false, size };
  }
  return { kind: [1, 2, 4, 8].includes(size) ? "int" : "bytes", signed: false, size };
}

/** Read a value of kind `k` at `view[offset]`. */
export function readScalar(view: DataView, offset: number, k: ScalarKind, le: boolean): VariableValue {
  if (k.kind === "bytes") return new Uint8Array(view.buffer, view.byteOffset + offset, k.size).slice();
  let v: number | bigint;
  switch (k.size) {
    case 1:
      v = k.signed ? view.getInt8(offset) : view.getUint8(offset);
      break;
    case 2:
      v = k.signed ? view.getInt16(offset, le) : view.getUint16(offset, le);
      break;
    case 4:
      v = k.signed ? view.getInt32(offset, le) : view.getUint32(offset, le);
      break;
    default:
      v = k.signed ? view.getBigInt64(offset, le) : view.getBigUint64(offset, le);
  }
  return k.kind === "bool" ? v !== 0 : v;
}

/** Write `value` at `view[offset]`; throws TypeError/RangeError before writing anything. */
export function writeScalar(view: DataView, offset: number, k: ScalarKind, le: boolean, value: VariableValue, what: string): void {
  if (value instanceof Uint8Array) {
    if (value.length !== k.size) throw new RangeError(`${what}: expected ${k.size} bytes, got ${value.length}`);
    new Uint8Array(view.buffer, view.byteOffset + offset, k.size).set(value);
    return;
  }
  if (k.kind === "bytes") throw new TypeError(`${what}: this variable is ${k.size} bytes of a non-scalar type: assign a Uint8Array`);
  let n: bigint;
  if (typeof value === "boolean") n = value ? 1n : 0n;
  else if (typeof value === "number") {
    if (!Number.isInteger(value)) throw new TypeError(`${what}: ${value} is not an integer`);
    n = BigInt(value);
  } else if (typeof value === "bigint") n = value;
  else throw new TypeError(`${what}: cannot assign a ${typeof value}`);
  const bits = BigInt(k.size * 8);
  const min = k.signed ? -(1n << (bits - 1n)) : 0n;
  const max = k.signed ? (1n << (bits - 1n)) - 1n : (1n << bits) - 1n;
  if (n < min || n > max) throw new RangeError(`${what}: ${n} does not fit in ${k.signed ? "a signed" : "an unsigned"} ${k.size}-byte integer`);
  switch (k.size) {
    case 1:
      view.setUint8(offset, Number(BigInt.asUintN(8, n)));
      break;
    case 2:
      view.setUint16(offset, Number(BigInt.asUintN(16, n)), le);
      break;
    case 4:
      view.setUint32(offset, Number(BigInt.asUintN(32, n)), le);
      break;
    default:
      view.setBigUint64(offset, BigInt.asUintN(64, n), le);
  }
}

/**
 * A variable of a CollectionSpec. `value` reads and writes the initial contents of its map
 * (`spec.maps[variable.map].contents`), so a `.rodata` constant set here is what the program
 * sees once loaded.
 */
export class SpecVariable implements VariableSpec {
  readonly name: string;
  readonly map: string;
  readonly offset: number;
  readonly size: number;
  readonly typeId: number;
  readonly readonly: boolean;
  readonly static: boolean;
  readonly #maps: Record<string, MapSpec>;
  readonly #kind: ScalarKind;
  readonly #le: boolean;

  /** @internal built by CollectionSpec. */
  constructor(v: VariableSpec, maps: Record<string, MapSpec>, btf: BtfSpec | undefined, le: boolean) {
    this.name = v.name;
    this.map = v.map;
    this.offset = v.offset;
    this.size = v.size;
    this.typeId = v.typeId;
    this.readonly = v.readonly;
    this.static = v.static;
    this.#maps = maps;
    this.#kind = scalarKind(btf, v.typeId, v.size);
    this.#le = le;
  }

  #view(): DataView {
    const m = this.#maps[this.map];
    const contents = m?.contents;
    if (!contents || contents.length < this.offset + this.size) {
      throw new RangeError(`variable "${this.name}": map "${this.map}" has no contents covering it (was the map resized or removed?)`);
    }
    return new DataView(contents.buffer, contents.byteOffset, contents.byteLength);
  }

  /** The variable's bytes in its map's initial contents (a live view). */
  get bytes(): Uint8Array {
    const v = this.#view();
    return new Uint8Array(v.buffer, v.byteOffset + this.offset, this.size);
  }

  /** The initial value (number, bigint, boolean, or a copy of the bytes for other types). */
  get value(): VariableValue {
    return readScalar(this.#view(), this.offset, this.#kind, this.#le);
  }

  /** Set the initial value; throws TypeError/RangeError for a value that does not fit. */
  set value(v: VariableValue) {
    writeScalar(this.#view(), this.offset, this.#kind, this.#le, v, `variable "${this.name}"`);
  }

  /** @internal how values are encoded. */
  get scalarKind(): ScalarKind {
    return this.#kind;
  }

  toJSON(): VariableSpec {
    return { name: this.name, map: this.map, offset: this.offset, size: this.size, typeId: this.typeId, readonly: this.readonly, static: this.static };
  }
}
