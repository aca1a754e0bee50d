/**
 * The value a relocation puts into an instruction, computed from one access spec: the local
 * spec gives the value the compiler wrote ("expected"), a target spec the value for the
 * running kernel; no target spec means "not found". Pure.
 */
import type { ByteOrder } from "../../asm/instruction.js";
import { skipQualifiers, typeSize } from "../query.js";
import { CoreSpecError, ENUMVAL_KINDS, FIELD_KINDS, type CoreSpec } from "./access.js";

/** The value of a relocation in one BTF. */
export interface CoreValue {
  /** The number to patch in (bigint only for enum64 values beyond 2^53). */
  value: number | bigint;
  /**
   * Whether the instruction must already hold the local value (false for bitfield offsets and
   * sizes, where compilers and libbpf may legitimately disagree).
   */
  validate: boolean;
  /** For field_byte_offset of a non-bitfield field: the field's size, to adjust load/store sizes. */
  fieldSize?: number;
  /** The field's type id (typedefs and qualifiers skipped), with fieldSize. */
  fieldTypeId?: number;
}

/** Poison: the relocation cannot be satisfied in this BTF (field missing, bitfield too wide, …). */
export const POISON = Symbol("poison");

/**
 * The value of `spec`'s relocation, or POISON when a field-based relocation has no target.
 * `spec` undefined means no candidate matched: field_exists, type and enum relocations then
 * give 0 (as libbpf does), other field kinds poison. Throws CoreSpecError for a relocation
 * kind that cannot apply to the spec (e.g. field_signed of an array element).
 */
export function relocationValue(spec: CoreSpec | undefined, kind: CoreSpec["kind"], byteOrder: ByteOrder): CoreValue | typeof POISON {
  if (FIELD_KINDS.has(kind)) {
    if (kind === "field_exists") return { value: spec ? 1 : 0, validate: true };
    if (!spec) return POISON;
    return fieldValue(spec, kind, byteOrder);
  }
  if (ENUMVAL_KINDS.has(kind)) {
    if (!spec) return { value: 0, validate: true };
    if (kind === "enumval_exists") return { value: 1, validate: true };
    const acc = spec.accessors[0];
    const t = spec.btf.typeById(acc.typeId);
    if (t.kind !== "enum" && t.kind !== "enum64") throw new CoreSpecError(`enum relocation against a ${t.kind}`);
    const v = t.values[acc.index].value;
    return { value: typeof v === "bigint" && Number.isSafeInteger(Number(v)) ? Number(v) : v, validate: true };
  }
  // Type kinds (type_id_local is answered by the caller from the local spec).
  if (!spec) return { value: 0, validate: true };
  switch (kind) {
    case "type_id_local":
    case "type_id_target":
      return { value: spec.rootId, validate: true };
    case "type_exists":
    case "type_matches":
      return { value: 1, validate: true };
    case "type_size":
      return { value: typeSize(spec.btf, spec.rootId), validate: true };
    default:
      throw new CoreSpecError(`unknown relocation kind ${String(kind)}`);
  }
}

function fieldValue(spec: CoreSpec, kind: CoreSpec["kind"], byteOrder: ByteOrder): CoreValue | typeof POISON {
  const last = spec.accessors[spec.accessors.length - 1];
  const btf = spec.btf;
  if (last.name === undefined) {
    // An array element (or the root itself): only its offset and size make sense.
    const size = typeSize(btf, last.typeId);
    if (spec.bitOffset % 8 !== 0) throw new CoreSpecError(`element at bit offset ${spec.bitOffset} is not byte-aligned: malformed BTF`);
    if (kind === "field_byte_offset") return { value: spec.bitOffset / 8, validate: true, fieldSize: size, fieldTypeId: last.typeId };
    if (kind === "field_byte_size") return { value: size, validate: true };
    throw new CoreSpecError(`${kind} cannot be applied to an array element`);
  }
  const holder = btf.typeById(last.typeId);
  if (holder.kind !== "struct" && holder.kind !== "union") throw new CoreSpecError(`field step into a ${holder.kind}`);
  const m = holder.members[last.index];
  const mt = skipQualifiers(btf, m.type);
  const bitOff = spec.bitOffset;
  let bitSize = m.bitfieldSize;
  const bitfield = bitSize > 0;
  let byteSize: number;
  let byteOff: number;
  if (bitfield) {
    if (!("size" in mt) || typeof mt.size !== "number" || mt.size <= 0) throw new CoreSpecError(`bitfield of a ${mt.kind}`);
    byteSize = mt.size;
    byteOff = Math.floor(bitOff / 8 / byteSize) * byteSize;
    // The smallest aligned load that holds every bit of the field.
    while (bitOff + bitSize - byteOff * 8 > byteSize * 8) {
      if (byteSize >= 8) return POISON; // needs more than one 64-bit load
      byteSize *= 2;
      byteOff = Math.floor(bitOff / 8 / byteSize) * byteSize;
    }
  } else {
    // Only bitfields may start inside a byte; anything else is malformed BTF (as libbpf says).
    if (bitOff % 8 !== 0) throw new CoreSpecError(`member "${m.name}" is not a bitfield but starts at bit offset ${bitOff}, not on a byte: malformed BTF`);
    byteSize = typeSize(btf, m.type);
    byteOff = bitOff / 8;
    bitSize = byteSize * 8;
  }
  switch (kind) {
    case "field_byte_offset":
      return bitfield ? { value: byteOff, validate: false } : { value: byteOff, validate: true, fieldSize: byteSize, fieldTypeId: mt.id };
    case "field_byte_size":
      return { value: byteSize, validate: !bitfield };
    case "field_signed": {
      const signed = (mt.kind === "int" || mt.kind === "enum" || mt.kind === "enum64") && mt.signed;
      return { value: signed ? 1 : 0, validate: true };
    }
    case "field_lshift_u64":
      return {
        value: byteOrder === "little" ? 64 - (bitOff + bitSize - byteOff * 8) : (8 - byteSize) * 8 + (bitOff - byteOff * 8),
        validate: !bitfield,
      };
    case "field_rshift_u64":
      return { value: 64 - bitSize, validate: true };
    default:
      throw new CoreSpecError(`unknown field relocation kind ${kind}`);
  }
}
