/**
 * Lays a struct_ops variable of an object (`.struct_ops*`, see src/elf/struct-ops.ts) out
 * against the kernel's type, as libbpf does: the kernel's `struct <type>` gives the member
 * indices programs are loaded for (expected_attach_type = index, attach_btf_id = the struct),
 * `struct bpf_struct_ops_<type>` gives the map's value type and size, and every local member is
 * matched to the kernel member of the same name (same BTF kind, same size) and its bytes copied
 * to the kernel's offset. A local member the kernel lacks is skipped when it is zero (an
 * optional member of a newer kernel) and refused otherwise. Pure: reads BTF only.
 */
import { skipModifiers, skipQualifiers, typeSize } from "../btf/query.js";
import { marshalBtf } from "../btf/marshal.js";
import type { BtfSpec } from "../btf/spec.js";
import type { MapSpec } from "../spec/map-spec.js";
import { TsbpfError } from "../errors.js";

/** One function member and the program the object points it at. */
export interface StructOpsSlot {
  member: string;
  program: string;
  /** The member's index in the kernel struct (the program's expected attach type). */
  index: number;
  /** Byte offset of the slot in the map value. */
  offset: number;
}

/** A struct_ops map as the kernel wants it. */
export interface KernelStructOps {
  /** Kernel BTF id of `struct <type>` (the programs' attach_btf_id). */
  structId: number;
  /** Kernel BTF id of `struct bpf_struct_ops_<type>` (the map's btf_vmlinux_value_type_id). */
  valueTypeId: number;
  valueSize: number;
  /** The map value with data members filled and function slots zero (fds go in at load). */
  value: Uint8Array;
  slots: StructOpsSlot[];
}

function isFuncPtr(btf: BtfSpec, id: number): boolean {
  const t = skipQualifiers(btf, id);
  return t.kind === "ptr" && skipModifiers(btf, t.type).kind === "func_proto";
}

/** BTF kinds that count as the same for matching (libbpf compares kinds; enum sizes vary). */
function kindClass(btf: BtfSpec, id: number): string {
  const k = skipQualifiers(btf, id).kind;
  return k === "enum64" ? "enum" : k;
}

/**
 * The kernel layout of struct_ops map `m` (kind "struct_ops") of an object with BTF `objBtf`.
 * Throws TsbpfError when the kernel has no such ops type or a member does not match.
 */
export function kernelStructOps(m: MapSpec, objBtf: BtfSpec, kernel: BtfSpec): KernelStructOps {
  const so = m.structOps;
  if (!so || m.btfValueTypeId === undefined) throw new TypeError(`map "${m.name}" is not a struct_ops map`);
  const what = `struct_ops "${m.name}" (${so.typeName})`;
  const structId = kernel.idsByName(so.typeName, "struct")[0];
  const valueTypeId = kernel.idsByName(`bpf_struct_ops_${so.typeName}`, "struct")[0];
  if (structId === undefined || valueTypeId === undefined) {
    throw new TsbpfError(`${what}: the kernel has no struct_ops type "${so.typeName}" (no bpf_struct_ops_${so.typeName} in its BTF)`);
  }
  const kst = kernel.typeOfKind(structId, "struct");
  const wrapper = kernel.typeOfKind(valueTypeId, "struct");
  const dataMember = wrapper.members.find((x) => x.name === "data");
  if (!dataMember) throw new TsbpfError(`${what}: the kernel's bpf_struct_ops_${so.typeName} has no data member`);
  const base = dataMember.bitOffset / 8;
  const local = skipQualifiers(objBtf, m.btfValueTypeId);
  if (local.kind !== "struct") throw new TypeError(`${what}: the local type is not a struct`);
  if (so.data.length !== local.size) throw new TsbpfError(`${what}: data is ${so.data.length} bytes but the local struct is ${local.size}`);

  const value = new Uint8Array(wrapper.size);
  const slots: StructOpsSlot[] = [];
  for (const lm of local.members) {
    const lOff = lm.bitOffset / 8;
    const lSize = typeSize(objBtf, lm.type);
    const program = so.programs[lm.name];
    const index = kst.members.findIndex((x) => x.name === lm.name);
    if (index < 0) {
      if (program === undefined && so.data.subarray(lOff, lOff + lSize).every((b) => b === 0)) continue;
      throw new TsbpfError(`${what}: member "${lm.name}" is set but the kernel's struct ${so.typeName} has no such member`);
    }
    const km = kst.members[index];
    if (km.bitOffset % 8 !== 0) throw new TsbpfError(`${what}: the kernel's member "${lm.name}" is a bitfield`);
    const kOff = base + km.bitOffset / 8;
    if (isFuncPtr(objBtf, lm.type) || isFuncPtr(kernel, km.type)) {
      if (!isFuncPtr(objBtf, lm.type) || !isFuncPtr(kernel, km.type)) {
        throw new TsbpfError(`${what}: member "${lm.name}" is a function pointer on one side only (local vs kernel)`);
      }
      if (program !== undefined) slots.push({ member: lm.name, program, index, offset: kOff });
      continue;
    }
    const kSize = typeSize(kernel, km.type);
    if (kindClass(objBtf, lm.type) !== kindClass(kernel, km.type)) {
      throw new TsbpfError(`${what}: member "${lm.name}" is a ${kindClass(objBtf, lm.type)} here but a ${kindClass(kernel, km.type)} in the kernel`);
    }
    if (kSize !== lSize) throw new TsbpfError(`${what}: member "${lm.name}" is ${lSize} bytes here but ${kSize} in the kernel`);
    value.set(so.data.subarray(lOff, lOff + lSize), kOff);
  }
  return { structId, valueTypeId, valueSize: wrapper.size, value, slots };
}

/**
 * The smallest valid BTF (one `unsigned int` named "int"): a struct_ops map must be created
 * with some BTF object, and an object without `.BTF` (or `createStructOpsMap`) has none.
 */
export function minimalBtf(): Uint8Array {
  return marshalBtf([{ kind: "int", name: "int", size: 4, signed: false, char: false, bool: false, bitOffset: 0, bits: 32 }]);
}
