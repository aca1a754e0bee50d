/**
 * struct_ops, the one home of its layout and map: the kernel's `struct <type>` gives the member
 * indices programs are loaded for (expected_attach_type = index, attach_btf_id = the struct),
 * `struct bpf_struct_ops_<type>` gives the map's value type and size. Two callers fill a value:
 * a `.struct_ops*` variable of an object (src/elf/struct-ops.ts reads it; every local member is
 * matched to the kernel member of the same name, same BTF kind and size, and its bytes copied to
 * the kernel's offset; a local member the kernel lacks is skipped when zero, refused otherwise),
 * and `createStructOpsMap` (src/link/struct-ops.ts), which sets members by name. Both create and
 * fill the map here, through BpfMap. The attach (a bpf_link or the update) is src/link's.
 */
import { skipModifiers, skipQualifiers, typeSize } from "../btf/query.js";
import { BtfBuilder } from "../btf/marshal.js";
import type { BtfSpec } from "../btf/spec.js";
import { TsbpfError, isTsbpfError } from "../errors.js";
import { kernelBtf } from "../features/kernel-btf.js";
import { BpfMap } from "../map/bpf-map.js";
import { Btf } from "../map/btf.js";
import type { MapSpec } from "../spec/map-spec.js";

/** Where a struct_ops program goes: load it with these (program spec fields). */
export interface StructOpsProgramTarget {
  /** vmlinux BTF id of the ops struct (ProgramSpec.attachBtfId). */
  attachBtfId: number;
  /** The member's index in the struct (ProgramSpec.expectedAttachType). */
  expectedAttachType: number;
}

/** One member of the kernel's ops struct, placed in the map value. */
export interface StructOpsMember {
  name: string;
  /** Index in the kernel struct (a program's expected attach type). */
  index: number;
  /** Byte offset inside the map value (the wrapper's header included). */
  offset: number;
  /** Bytes a number can be written as (0: not settable from a number). */
  size: number;
  isFunction: boolean;
  /** For char arrays: the length. */
  charArray?: number;
  /** The member's kernel BTF type id. */
  type: number;
  /** Whether the member starts inside a byte (a bitfield that cannot be set). */
  bitfield: boolean;
}

/** The kernel layout of one struct_ops type. */
export interface StructOpsLayout {
  /** Kernel BTF id of `struct <type>` (the programs' attach_btf_id). */
  structId: number;
  /** Kernel BTF id of `struct bpf_struct_ops_<type>` (the map's btf_vmlinux_value_type_id). */
  valueTypeId: number;
  valueSize: number;
  members: Map<string, StructOpsMember>;
}

function isFuncPtr(btf: BtfSpec, id: number): boolean {
  const t = skipQualifiers(btf, id);
  return t.kind === "ptr" && skipModifiers(btf, t.type).kind === "func_proto";
}

/** The size a number is written as: ints, enums and pointers; char arrays by their length; else 0. */
function scalarSize(btf: BtfSpec, id: number): { size: number; charArray?: number } {
  const t = skipQualifiers(btf, id);
  if (t.kind === "ptr") return { size: 8 };
  if (t.kind === "int" || t.kind === "enum") return { size: t.size };
  if (t.kind === "array") {
    const el = skipQualifiers(btf, t.type);
    if (el.kind !== "int") return { size: 0 };
    return { size: el.size * t.nelems, charArray: el.size === 1 ? t.nelems : undefined };
  }
  return { size: 0 };
}

/**
 * The layout of `struct bpf_struct_ops_<type>` from kernel BTF. `what` names the map in errors.
 * Throws TsbpfError when the kernel has no such ops type.
 */
export function structOpsLayout(type: string, btf: BtfSpec = kernelBtf(), what = `struct_ops ${type}`): StructOpsLayout {
  const structId = btf.idsByName(type, "struct")[0];
  const valueTypeId = btf.idsByName(`bpf_struct_ops_${type}`, "struct")[0];
  if (structId === undefined || valueTypeId === undefined) {
    throw new TsbpfError(`${what}: the kernel has no struct_ops type "${type}" (no bpf_struct_ops_${type} in its BTF)`);
  }
  const wrapper = btf.typeOfKind(valueTypeId, "struct");
  const data = wrapper.members.find((m) => m.name === "data");
  if (!data) throw new TsbpfError(`${what}: the kernel's bpf_struct_ops_${type} has no data member`);
  const base = data.bitOffset / 8;
  const members = new Map<string, StructOpsMember>();
  btf.typeOfKind(structId, "struct").members.forEach((m, index) => {
    const bitfield = m.bitOffset % 8 !== 0;
    members.set(m.name, { name: m.name, index, offset: base + Math.floor(m.bitOffset / 8), ...scalarSize(btf, m.type), isFunction: isFuncPtr(btf, m.type), type: m.type, bitfield });
  });
  return { structId, valueTypeId, valueSize: wrapper.size, members };
}

/**
 * What to load a struct_ops program with, for member `member` of ops struct `type`, e.g.
 * `structOpsProgramTarget("tcp_congestion_ops", "cong_avoid")`. Throws TsbpfError for an
 * unknown struct or member.
 */
export function structOpsProgramTarget(type: string, member: string): StructOpsProgramTarget {
  const layout = structOpsLayout(type);
  const m = layout.members.get(member);
  if (!m || !m.isFunction) throw new TsbpfError(`struct_ops ${type}: no function member ${JSON.stringify(member)}`);
  return { attachBtfId: layout.structId, expectedAttachType: m.index };
}

/**
 * Encode a map value from program fds and data members by name (integers, or strings for char
 * arrays). Throws TypeError for a member the type lacks or a value that does not fit.
 */
export function encodeStructOpsValue(layout: StructOpsLayout, programFds: Record<string, number>, data: Record<string, number | bigint | string>, what: string): Uint8Array {
  const b = new Uint8Array(layout.valueSize);
  const v = new DataView(b.buffer);
  for (const [name, fd] of Object.entries(programFds)) {
    const m = layout.members.get(name);
    if (!m || !m.isFunction) throw new TypeError(`${what}: no function member ${JSON.stringify(name)}`);
    // The kernel reads a program fd from the function pointer slot.
    v.setBigUint64(m.offset, BigInt(fd), true);
  }
  for (const [name, val] of Object.entries(data)) {
    const m = layout.members.get(name);
    if (!m || m.isFunction) throw new TypeError(`${what}: no data member ${JSON.stringify(name)}`);
    if (typeof val === "string") {
      if (m.charArray === undefined) throw new TypeError(`${what}: member ${name} is not a char array`);
      const enc = new TextEncoder().encode(val);
      if (enc.length >= m.charArray) throw new TypeError(`${what}: ${name} ${JSON.stringify(val)} is longer than ${m.charArray - 1} bytes`);
      b.set(enc, m.offset);
    } else if (m.bitfield) throw new TypeError(`${what}: member ${name} is a bitfield`);
    else if (m.size === 8) v.setBigUint64(m.offset, BigInt.asUintN(64, BigInt(val)), true);
    else if (m.size === 4) v.setUint32(m.offset, Number(val) >>> 0, true);
    else if (m.size === 2) v.setUint16(m.offset, Number(val) & 0xffff, true);
    else if (m.size === 1) v.setUint8(m.offset, Number(val) & 0xff);
    else throw new TypeError(`${what}: member ${name} cannot be set from a number`);
  }
  return b;
}

/** One function member and the program the object points it at. */
export interface StructOpsSlot {
  member: string;
  program: string;
  /** The member's index in the kernel struct (the program's expected attach type). */
  index: number;
  /** Byte offset of the slot in the map value. */
  offset: number;
}

/** A struct_ops map of an object as the kernel wants it. */
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

/** BTF kinds that count as the same for matching (libbpf compares kinds; enum sizes vary). */
function kindClass(btf: BtfSpec, id: number): string {
  const k = skipQualifiers(btf, id).kind;
  return k === "enum64" ? "enum" : k;
}

/**
 * The kernel layout of struct_ops map `m` (kind "struct_ops") of an object with BTF `objBtf`:
 * its local members matched to the kernel's by name. Throws TsbpfError when the kernel has no
 * such ops type or a member does not match.
 */
export function kernelStructOps(m: MapSpec, objBtf: BtfSpec, kernel: BtfSpec): KernelStructOps {
  const so = m.structOps;
  if (!so || m.btfValueTypeId === undefined) throw new TypeError(`map "${m.name}" is not a struct_ops map`);
  const what = `struct_ops "${m.name}" (${so.typeName})`;
  const layout = structOpsLayout(so.typeName, kernel, what);
  const local = skipQualifiers(objBtf, m.btfValueTypeId);
  if (local.kind !== "struct") throw new TypeError(`${what}: the local type is not a struct`);
  if (so.data.length !== local.size) throw new TsbpfError(`${what}: data is ${so.data.length} bytes but the local struct is ${local.size}`);

  const value = new Uint8Array(layout.valueSize);
  const slots: StructOpsSlot[] = [];
  for (const lm of local.members) {
    const lOff = lm.bitOffset / 8;
    const lSize = typeSize(objBtf, lm.type);
    const program = so.programs[lm.name];
    const km = layout.members.get(lm.name);
    if (!km) {
      if (program === undefined && so.data.subarray(lOff, lOff + lSize).every((b) => b === 0)) continue;
      throw new TsbpfError(`${what}: member "${lm.name}" is set but the kernel's struct ${so.typeName} has no such member`);
    }
    if (km.bitfield) throw new TsbpfError(`${what}: the kernel's member "${lm.name}" is a bitfield`);
    if (isFuncPtr(objBtf, lm.type) || km.isFunction) {
      if (!isFuncPtr(objBtf, lm.type) || !km.isFunction) {
        throw new TsbpfError(`${what}: member "${lm.name}" is a function pointer on one side only (local vs kernel)`);
      }
      if (program !== undefined) slots.push({ member: lm.name, program, index: km.index, offset: km.offset });
      continue;
    }
    const kSize = typeSize(kernel, km.type);
    if (kindClass(objBtf, lm.type) !== kindClass(kernel, km.type)) {
      throw new TsbpfError(`${what}: member "${lm.name}" is a ${kindClass(objBtf, lm.type)} here but a ${kindClass(kernel, km.type)} in the kernel`);
    }
    if (kSize !== lSize) throw new TsbpfError(`${what}: member "${lm.name}" is ${lSize} bytes here but ${kSize} in the kernel`);
    value.set(so.data.subarray(lOff, lOff + lSize), km.offset);
  }
  return { structId: layout.structId, valueTypeId: layout.valueTypeId, valueSize: layout.valueSize, value, slots };
}

/**
 * The smallest valid BTF (one `unsigned int` named "int"): a struct_ops map must be created
 * with some BTF object, and an object without `.BTF` (or `createStructOpsMap`) has none.
 */
export function minimalBtf(): Uint8Array {
  const b = new BtfBuilder();
  b.add({ kind: "int", name: "int", size: 4, signed: false, char: false, bool: false, bitOffset: 0, bits: 32 });
  return b.marshal();
}

/** What `newStructOpsMap` creates. */
export interface NewStructOpsMap {
  name?: string;
  valueTypeId: number;
  valueSize: number;
  /** Map flags: BPF_F_LINK (MapFlags.LINK) fills now and registers by a link later. */
  flags: number;
  /** The object's loaded BTF; default a one-type blob loaded for the create only. */
  btf?: Btf;
}

/**
 * Create an empty struct_ops map (BPF_MAP_CREATE through BpfMap). The kernel wants some program
 * BTF beside the vmlinux value type. The caller owns the map. Throws BpfError.
 */
export function newStructOpsMap(o: NewStructOpsMap): BpfMap<any, any> {
  const own = o.btf ? undefined : Btf.load(minimalBtf(), { name: `BTF for ${o.name ?? "struct_ops"}` });
  try {
    return BpfMap.create({
      name: o.name,
      type: "struct_ops",
      keySize: 4,
      valueSize: o.valueSize,
      maxEntries: 1,
      flags: o.flags,
      btf: (o.btf ?? own)!.fd.value,
      btfVmlinuxValueTypeId: o.valueTypeId,
    });
  } finally {
    own?.close();
  }
}

/** The only key of a struct_ops map. */
const KEY = new Uint8Array(4);

/**
 * Write the value (element 0). For a BPF_F_LINK map this only fills it; otherwise the update
 * registers it. Throws BpfError with `what` and a hint in front (EINVAL: a required member is
 * missing, or the name is taken).
 */
export function fillStructOpsMap(map: BpfMap<any, any>, value: Uint8Array, what: string): void {
  try {
    map.set(KEY, value);
  } catch (e) {
    if (e instanceof Error && isTsbpfError(e)) e.message = `${what} (a required member may be missing, or its name is taken): ${e.message}`;
    throw e;
  }
}

/** Unregister a struct_ops registered by map update (delete element 0). Returns false when it was not registered. */
export function unregisterStructOpsMap(map: BpfMap<any, any>): boolean {
  return map.delete(KEY);
}
