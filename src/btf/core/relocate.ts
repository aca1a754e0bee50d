/**
 * Applying CO-RE relocations to one program's instructions: for each record, resolve the
 * access in the object's BTF, find the kernel's counterpart, and patch the instruction (ALU
 * immediates, load/store offsets and sizes, ld_imm64 constants) after checking it holds the
 * value the compiler computed locally. A relocation that cannot be satisfied *poisons* its
 * instruction, as libbpf does: it becomes a call to helper 0xbad2310, which does not exist, so
 * the program still verifies when that code is dead (guarded by `bpf_core_field_exists`) and
 * fails with a message naming the relocation (see poison.ts) when it is not. Pure.
 */
import type { ByteOrder, Instruction } from "../../asm/instruction.js";
import type { CoreReloKind } from "../ext.js";
import type { BtfSpec } from "../spec.js";
import { describeSpec, describeType, parseLocalSpec, type CoreSpec, CoreSpecError, FIELD_KINDS } from "./access.js";
import { POISON, relocationValue, type CoreValue } from "./calc.js";
import type { CoreCandidate, CoreTargets } from "./candidates.js";
import { matchSpec } from "./match.js";
import { CoreRelocationError } from "./relocation-error.js";

/** The helper id of a poisoned instruction: `call 0xbad2310` (195896080), as libbpf writes it. */
export const POISON_CALL_CORE = 0xbad2310;

/** One CO-RE record of a program, as the ELF loader carries it. */
export interface CoreRelocationRecord {
  /** Instruction *slot* (8-byte unit; ld_imm64 takes two) in the program's instruction list. */
  readonly insnOff: number;
  /** Root type id in the object's BTF. */
  readonly typeId: number;
  /** The access string ("0:1:2"). */
  readonly accessString: string;
  readonly kind: CoreReloKind;
}

/** What happened to one relocation. */
export interface AppliedCoreRelocation {
  /** Index of the record in the program's list. */
  readonly index: number;
  /** Instruction slot it patched. */
  readonly slot: number;
  readonly kind: CoreReloKind;
  /** The local access as C text (`struct task_struct.pid`). */
  readonly local: string;
  /** The kernel's counterpart (`struct task_struct.pid` with its id), when one matched. */
  readonly target?: string;
  /** Which BTF the target came from: "vmlinux" or a module name. */
  readonly targetBtf?: string;
  /** The value the compiler wrote. */
  readonly localValue?: number | bigint;
  /** The value patched in (absent when poisoned). */
  readonly targetValue?: number | bigint;
  /** True when the instruction was poisoned; `reason` says why. */
  readonly poisoned: boolean;
  readonly reason?: string;
}

/** Options of applyCoreRelocations. */
export interface ApplyCoreOptions {
  /** Program name for messages. */
  program?: string;
  /** Byte order of the object (decides bitfield shifts); defaults to the local BTF's. */
  byteOrder?: ByteOrder;
}

const CLASS_MASK = 0x07;
const BPF_LD = 0x00;
const BPF_LDX = 0x01;
const BPF_ST = 0x02;
const BPF_STX = 0x03;
const BPF_ALU = 0x04;
const BPF_ALU64 = 0x07;
const BPF_K = 0x00;
const SIZE_MASK = 0x18;
const LD_IMM64 = 0x18;
const CALL = 0x85;
const SIZE_BYTES: Record<number, number> = { 0x00: 4, 0x08: 2, 0x10: 1, 0x18: 8 };
const BYTES_SIZE: Record<number, number> = { 4: 0x00, 2: 0x08, 1: 0x10, 8: 0x18 };

/** A poisoned copy of `insn`: `call 0xbad2310`, keeping its label and source line. */
export function poisonInstruction(insn: Instruction | undefined, imm = POISON_CALL_CORE): Instruction {
  const out: Instruction = { opcode: CALL, dst: 0, src: 0, offset: 0, imm };
  if (insn?.symbol !== undefined) out.symbol = insn.symbol;
  if (insn?.source !== undefined) out.source = insn.source;
  return out;
}

/** Why no candidate matched: the first access step that none of them has, in words. */
function whyNoMatch(spec: CoreSpec, cands: readonly CoreCandidate[], access: string): string {
  if (cands.length === 0) return `the kernel has no type named like ${describeType(spec.btf, spec.rootId)}`;
  const names = cands.map((c) => `${describeType(c.target.btf, c.id)}${c.target.module ? ` (module ${c.target.module})` : ""}`).join(", ");
  if (FIELD_KINDS.has(spec.kind)) {
    for (let i = 1; i < spec.accessors.length; i++) {
      const prefix = { ...spec, accessors: spec.accessors.slice(0, i + 1) };
      if (cands.some((c) => matchSpec(prefix, c.target.btf, c.id))) continue;
      const a = spec.accessors[i];
      return a.name !== undefined
        ? `the kernel's ${names} has no field "${a.name}" of a compatible type on the path ${access}`
        : `the kernel's ${names} has no element [${a.index}] on the path ${access}`;
    }
  }
  if (spec.kind === "type_matches") return `the kernel's ${names} does not match the local definition`;
  if (spec.kind === "enumval_exists" || spec.kind === "enumval_value") return `the kernel's ${names} has no enumerator ${spec.accessors[0]?.name ?? "?"}`;
  return `the kernel's ${names} is not compatible with ${access}`;
}

/** Slot → instruction index (or -1 for the second half of ld_imm64). */
function slotTable(insns: readonly Instruction[]): Int32Array {
  let n = 0;
  for (const i of insns) n += i.opcode === LD_IMM64 ? 2 : 1;
  const t = new Int32Array(n).fill(-1);
  let s = 0;
  for (let k = 0; k < insns.length; k++) {
    t[s] = k;
    s += insns[k].opcode === LD_IMM64 ? 2 : 1;
  }
  return t;
}

/**
 * Apply a program's CO-RE relocations against the kernel's BTF. Returns the patched copy of
 * the instructions (slot positions unchanged: a poisoned ld_imm64 becomes two poisoned calls)
 * and one record per relocation. The input is not changed. Throws CoreRelocationError when a
 * relocation cannot be applied at all (malformed object, ambiguous kernel types, an instruction
 * that does not hold the expected value or that the kind cannot patch).
 */
export function applyCoreRelocations(
  insns: readonly Instruction[],
  records: readonly CoreRelocationRecord[],
  local: BtfSpec,
  targets: CoreTargets,
  options: ApplyCoreOptions = {},
): { instructions: Instruction[]; relocations: AppliedCoreRelocation[] } {
  const program = options.program ?? "program";
  const byteOrder = options.byteOrder ?? local.byteOrder;
  const out = insns.slice();
  const applied: AppliedCoreRelocation[] = [];
  if (records.length === 0) return { instructions: out, relocations: applied };
  const slots = slotTable(insns);
  const expand = new Map<number, Instruction[]>();

  records.forEach((rec, index) => {
    let localSpec: CoreSpec;
    const fail = (access: string, problem: string, fix: string): never => {
      throw new CoreRelocationError(program, index, rec.kind, access, problem, fix);
    };
    if (!local.has(rec.typeId) || rec.typeId === 0) {
      fail(`type [${rec.typeId}] "${rec.accessString}"`, `type id ${rec.typeId} is not a type of the object's BTF`, "the object is malformed; rebuild it");
    }
    try {
      localSpec = parseLocalSpec(local, rec.typeId, rec.accessString, rec.kind);
    } catch (e) {
      if (e instanceof CoreSpecError || e instanceof RangeError || e instanceof TypeError) {
        return fail(`${describeType(local, rec.typeId)} "${rec.accessString}"`, `the object's BTF does not fit the record: ${e.message}`, "the object is malformed; rebuild it");
      }
      throw e;
    }
    const access = describeSpec(localSpec);
    const idx = rec.insnOff >= 0 && rec.insnOff < slots.length ? slots[rec.insnOff] : -1;
    if (idx < 0) fail(access, `instruction slot ${rec.insnOff} is not the start of an instruction`, "the object is malformed");
    const insn = out[idx];

    let localValue: CoreValue;
    let targetValue: CoreValue | typeof POISON;
    let target: CoreSpec | undefined;
    let targetBtf: string | undefined;
    let reason: string | undefined;
    try {
      const lv = relocationValue(localSpec, rec.kind, byteOrder);
      if (lv === POISON) return fail(access, "the local field cannot be read with one load", "make the bitfield narrower");
      localValue = lv;
      if (rec.kind === "type_id_local") {
        targetValue = lv;
      } else {
        const root = local.typeById(rec.typeId);
        if (root.name === "") fail(access, "the root type is anonymous, so it cannot be looked up in the kernel", "give the type a name");
        for (const cand of targets.candidates(local, rec.typeId)) {
          const spec = matchSpec(localSpec, cand.target.btf, cand.id);
          if (!spec) continue;
          const v = relocationValue(spec, rec.kind, byteOrder);
          if (target === undefined) {
            target = spec;
            targetValue = v;
            targetBtf = cand.target.module ?? "vmlinux";
            continue;
          }
          const prev = targetValue!;
          if (FIELD_KINDS.has(rec.kind) && spec.bitOffset !== target.bitOffset) {
            fail(access, `kernel types ${describeSpec(target)} and ${describeSpec(spec)} put the field at different offsets`, "use a ___flavor that matches one of them");
          }
          if ((prev === POISON) !== (v === POISON) || (prev !== POISON && v !== POISON && prev.value !== v.value)) {
            fail(access, `kernel types ${describeType(target.btf, target.rootId)} and ${describeType(spec.btf, spec.rootId)} give different values`, "use a ___flavor that matches one of them");
          }
        }
        if (target === undefined) {
          targetValue = relocationValue(undefined, rec.kind, byteOrder);
          reason = whyNoMatch(localSpec, targets.candidates(local, rec.typeId), access);
        }
      }
    } catch (e) {
      if (e instanceof CoreRelocationError) throw e;
      if (e instanceof CoreSpecError || e instanceof TypeError || e instanceof RangeError) return fail(access, e.message, "check the relocation kind against the type");
      throw e;
    }

    const targetText = target ? `${describeSpec(target)} [${target.rootId}]` : undefined;
    const poison = (why: string) => {
      if (insn.opcode === LD_IMM64) expand.set(idx, [poisonInstruction(insn), poisonInstruction(undefined)]);
      else out[idx] = poisonInstruction(insn);
      applied.push({ index, slot: rec.insnOff, kind: rec.kind, local: access, target: targetText, targetBtf, localValue: localValue.value, poisoned: true, reason: why });
    };
    if (targetValue! === POISON) {
      poison(reason ?? `the kernel's ${targetText ?? "type"} cannot give ${rec.kind}`);
      return;
    }
    const tv = targetValue!;
    const expected = localValue.value;
    const validate = localValue.validate;
    const cls = insn.opcode & CLASS_MASK;
    const mismatch = (have: number | bigint) =>
      fail(access, `instruction ${idx} holds ${have}, not the expected ${expected}`, "the object and its BTF disagree; rebuild it");
    let patched: Instruction;
    if (cls === BPF_ALU || cls === BPF_ALU64) {
      if ((insn.opcode & 0x08) !== BPF_K) fail(access, `instruction ${idx} is an ALU op on a register, not an immediate`, "the object is malformed");
      if (validate && BigInt(insn.imm) !== BigInt(expected)) mismatch(insn.imm);
      const v = Number(tv.value);
      if (!Number.isInteger(v) || v < -0x80000000 || v > 0xffffffff) fail(access, `value ${tv.value} does not fit a 32-bit immediate`, "use a 64-bit load (ld_imm64) for this value");
      patched = { ...insn, imm: v | 0 };
    } else if (cls === BPF_LDX || cls === BPF_ST || cls === BPF_STX) {
      if (validate && insn.offset !== Number(expected)) mismatch(insn.offset);
      const v = Number(tv.value);
      if (v > 0x7fff) fail(access, `offset ${v} does not fit the 16-bit offset of a load/store`, "read the field through a pointer to an inner struct");
      patched = { ...insn, offset: v };
      const oldSize = localValue.fieldSize;
      const newSize = tv.fieldSize;
      if (rec.kind === "field_byte_offset" && oldSize !== undefined && newSize !== undefined && oldSize !== newSize) {
        const lt = local.typeById(localValue.fieldTypeId!);
        const tt = target!.btf.typeById(tv.fieldTypeId!);
        const safe = (lt.kind === "ptr" && tt.kind === "ptr") || (lt.kind === "int" && tt.kind === "int" && !lt.signed && !tt.signed);
        if (!safe) {
          poison(`the field is ${oldSize} bytes locally but ${newSize} in the kernel, and a signed or non-integer load cannot be resized`);
          return;
        }
        const have = SIZE_BYTES[insn.opcode & SIZE_MASK];
        if (have !== oldSize) fail(access, `instruction ${idx} accesses ${have} bytes, the field is ${oldSize}`, "the object is malformed");
        const sz = BYTES_SIZE[newSize];
        if (sz === undefined) fail(access, `the kernel's field is ${newSize} bytes, which no load can read`, "read it with bpf_core_read");
        patched = { ...patched, opcode: (insn.opcode & ~SIZE_MASK) | sz };
      }
    } else if (cls === BPF_LD && insn.opcode === LD_IMM64) {
      if (insn.src !== 0 || insn.offset !== 0) fail(access, `instruction ${idx} is an ld_imm64 of a pseudo value`, "the object is malformed");
      const have = BigInt.asUintN(64, BigInt(insn.imm));
      if (validate && have !== BigInt.asUintN(64, BigInt(expected))) mismatch(have);
      patched = { ...insn, imm: BigInt.asIntN(64, BigInt(tv.value)) };
    } else {
      return fail(access, `instruction ${idx} (opcode 0x${insn.opcode.toString(16)}) cannot carry a CO-RE value`, "the object is malformed");
    }
    out[idx] = patched;
    applied.push({ index, slot: rec.insnOff, kind: rec.kind, local: access, target: targetText, targetBtf, localValue: expected, targetValue: tv.value, poisoned: false });
  });

  if (expand.size === 0) return { instructions: out, relocations: applied };
  const final: Instruction[] = [];
  for (let k = 0; k < out.length; k++) {
    const e = expand.get(k);
    if (e) final.push(...e);
    else final.push(out[k]);
  }
  return { instructions: final, relocations: applied };
}
