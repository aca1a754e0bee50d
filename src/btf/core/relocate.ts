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
import { LD_IMM64 } from "../../asm/opcodes.js";

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
  /**
   * The value the compiler wrote into the instruction (for poisoned relocations: the value
   * computed from the object's BTF, since the instruction is replaced).
   */
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
  for (let index = 0; index < records.length; index++) {
    const r = relocateOne(records[index], index, out, slots, local, targets, byteOrder, program);
    applied.push(r.applied);
    if (r.insn === undefined) continue;
    if (Array.isArray(r.insn)) expand.set(r.at, r.insn);
    else out[r.at] = r.insn;
  }
  if (expand.size === 0) return { instructions: out, relocations: applied };
  const final: Instruction[] = [];
  for (let k = 0; k < out.length; k++) {
    const e = expand.get(k);
    if (e) final.push(...e);
    else final.push(out[k]);
  }
  return { instructions: final, relocations: applied };
}

/** An applied relocation whose C-like descriptions are built only when read (most never are). */
class Applied implements AppliedCoreRelocation {
  declare readonly reason?: string;
  private text?: string;
  private targetText?: string | null;
  constructor(
    readonly index: number,
    readonly slot: number,
    readonly kind: CoreReloKind,
    private readonly localSpec: CoreSpec,
    private readonly targetSpec: CoreSpec | undefined,
    readonly targetBtf: string | undefined,
    readonly localValue: number | bigint | undefined,
    readonly targetValue: number | bigint | undefined,
    readonly poisoned: boolean,
    reason?: string,
  ) {
    if (reason !== undefined) (this as { reason?: string }).reason = reason;
  }
  get local(): string {
    return (this.text ??= describeSpec(this.localSpec));
  }
  get target(): string | undefined {
    if (this.targetText === undefined) this.targetText = this.targetSpec ? `${describeSpec(this.targetSpec)} [${this.targetSpec.rootId}]` : null;
    return this.targetText ?? undefined;
  }
  toJSON(): object {
    const { index, slot, kind, local, target, targetBtf, localValue, targetValue, poisoned, reason } = this;
    return { index, slot, kind, local, target, targetBtf, localValue, targetValue, poisoned, reason };
  }
}

function fail(program: string, index: number, rec: CoreRelocationRecord, access: string, problem: string, fix: string): never {
  throw new CoreRelocationError(program, index, rec.kind, access, problem, fix);
}

function sameValue(a: number | bigint, b: number | bigint): boolean {
  if (typeof a === "number" && typeof b === "number") return a === b;
  return BigInt(a) === BigInt(b);
}

/** A record's local spec, its candidates and each candidate's matched spec (undefined: no match). */
interface ResolvedSpecs {
  local: CoreSpec;
  cands: readonly CoreCandidate[];
  matches: (CoreSpec | undefined)[];
}

/**
 * Resolve and match a record's access, cached per root type and access string: objects read
 * the same field with several kinds (offset, size, exists…) and in several places, and the
 * match does not depend on the kind within a class.
 */
function resolveSpecs(rec: CoreRelocationRecord, index: number, local: BtfSpec, targets: CoreTargets, program: string): ResolvedSpecs {
  const cls = FIELD_KINDS.has(rec.kind) ? "f" : rec.kind === "type_matches" ? "m" : rec.kind === "type_id_local" ? "l" : rec.kind === "enumval_exists" || rec.kind === "enumval_value" ? "e" : "t";
  const key = `${rec.typeId}|${cls}|${rec.accessString}`;
  const cache = targets.specCache(local) as Map<string, ResolvedSpecs>;
  const known = cache.get(key);
  if (known) return known;
  if (!local.has(rec.typeId) || rec.typeId === 0) {
    fail(program, index, rec, `type [${rec.typeId}] "${rec.accessString}"`, `type id ${rec.typeId} is not a type of the object's BTF`, "the object is malformed; rebuild it");
  }
  let spec: CoreSpec;
  try {
    spec = parseLocalSpec(local, rec.typeId, rec.accessString, rec.kind);
  } catch (e) {
    if (e instanceof CoreSpecError || e instanceof RangeError || e instanceof TypeError) {
      return fail(program, index, rec, `${describeType(local, rec.typeId)} "${rec.accessString}"`, `the object's BTF does not fit the record: ${e.message}`, "the object is malformed; rebuild it");
    }
    throw e;
  }
  let cands: readonly CoreCandidate[] = [];
  const matches: (CoreSpec | undefined)[] = [];
  if (rec.kind !== "type_id_local") {
    if (local.nameOf(rec.typeId) === "") fail(program, index, rec, describeSpec(spec), "the root type is anonymous, so it cannot be looked up in the kernel", "give the type a name");
    cands = targets.candidates(local, rec.typeId);
    try {
      for (const c of cands) matches.push(matchSpec(spec, c.target.btf, c.id));
    } catch (e) {
      if (e instanceof CoreSpecError || e instanceof TypeError || e instanceof RangeError) return fail(program, index, rec, describeSpec(spec), e.message, "check the relocation kind against the type");
      throw e;
    }
  }
  const r = { local: spec, cands, matches };
  cache.set(key, r);
  return r;
}

/** One relocation: the instruction(s) to put at `at` (undefined: unchanged) and the record. */
function relocateOne(
  rec: CoreRelocationRecord,
  index: number,
  out: readonly Instruction[],
  slots: Int32Array,
  local: BtfSpec,
  targets: CoreTargets,
  byteOrder: ByteOrder,
  program: string,
): { at: number; insn?: Instruction | Instruction[]; applied: AppliedCoreRelocation } {
  if (!local.has(rec.typeId) || rec.typeId === 0) {
    fail(program, index, rec, `type [${rec.typeId}] "${rec.accessString}"`, `type id ${rec.typeId} is not a type of the object's BTF`, "the object is malformed; rebuild it");
  }
  const resolved = resolveSpecs(rec, index, local, targets, program);
  const localSpec = resolved.local;
  const idx = rec.insnOff >= 0 && rec.insnOff < slots.length ? slots[rec.insnOff] : -1;
  if (idx < 0) fail(program, index, rec, describeSpec(localSpec), `instruction slot ${rec.insnOff} is not the start of an instruction`, "the object is malformed");
  const insn = out[idx];

  let localValue: CoreValue;
  let targetValue: CoreValue | typeof POISON;
  let target: CoreSpec | undefined;
  let targetBtf: string | undefined;
  let reason: string | undefined;
  try {
    const lv = relocationValue(localSpec, rec.kind, byteOrder);
    if (lv === POISON) return fail(program, index, rec, describeSpec(localSpec), "the local field cannot be read with one load", "make the bitfield narrower");
    localValue = lv;
    if (rec.kind === "type_id_local") {
      targetValue = lv;
    } else {
      const { cands, matches } = resolved;
      for (let c = 0; c < cands.length; c++) {
        const spec = matches[c];
        if (!spec) continue;
        const v = relocationValue(spec, rec.kind, byteOrder);
        if (target === undefined) {
          target = spec;
          targetValue = v;
          targetBtf = cands[c].target.module ?? "vmlinux";
          continue;
        }
        const prev = targetValue!;
        if (FIELD_KINDS.has(rec.kind) && spec.bitOffset !== target.bitOffset) {
          fail(program, index, rec, describeSpec(localSpec), `kernel types ${describeSpec(target)} and ${describeSpec(spec)} put the field at different offsets`, "use a ___flavor that matches one of them");
        }
        if ((prev === POISON) !== (v === POISON) || (prev !== POISON && v !== POISON && !sameValue(prev.value, v.value))) {
          fail(program, index, rec, describeSpec(localSpec), `kernel types ${describeType(target.btf, target.rootId)} and ${describeType(spec.btf, spec.rootId)} give different values`, "use a ___flavor that matches one of them");
        }
      }
      if (target === undefined) {
        targetValue = relocationValue(undefined, rec.kind, byteOrder);
        reason = whyNoMatch(localSpec, cands, describeSpec(localSpec));
      }
    }
  } catch (e) {
    if (e instanceof CoreRelocationError) throw e;
    if (e instanceof CoreSpecError || e instanceof TypeError || e instanceof RangeError) return fail(program, index, rec, describeSpec(localSpec), e.message, "check the relocation kind against the type");
    throw e;
  }

  const poison = (why: string) => ({
    at: idx,
    insn: insn.opcode === LD_IMM64 ? [poisonInstruction(insn), poisonInstruction(undefined)] : poisonInstruction(insn),
    applied: new Applied(index, rec.insnOff, rec.kind, localSpec, target, targetBtf, localValue.value, undefined, true, why),
  });
  if (targetValue! === POISON) return poison(reason ?? `the kernel's type cannot give ${rec.kind}`);
  const tv = targetValue!;
  const expected = localValue.value;
  const validate = localValue.validate;
  const cls = insn.opcode & CLASS_MASK;
  const bad = (problem: string, fix: string): never => fail(program, index, rec, describeSpec(localSpec), problem, fix);
  const mismatch = (have: number | bigint) => bad(`instruction ${idx} holds ${have}, not the expected ${expected}`, "the object and its BTF disagree; rebuild it");
  let patched: Instruction;
  let had: number | bigint = expected; // what the instruction held: the compiler's value
  if (cls === BPF_ALU || cls === BPF_ALU64) {
    if ((insn.opcode & 0x08) !== BPF_K) bad(`instruction ${idx} is an ALU op on a register, not an immediate`, "the object is malformed");
    if (validate && !sameValue(insn.imm, expected)) mismatch(insn.imm);
    had = insn.imm;
    const v = Number(tv.value);
    if (!Number.isInteger(v) || v < -0x80000000 || v > 0xffffffff) bad(`value ${tv.value} does not fit a 32-bit immediate`, "use a 64-bit load (ld_imm64) for this value");
    patched = { ...insn, imm: v | 0 };
  } else if (cls === BPF_LDX || cls === BPF_ST || cls === BPF_STX) {
    if (validate && insn.offset !== Number(expected)) mismatch(insn.offset);
    had = insn.offset;
    const v = Number(tv.value);
    if (v > 0x7fff) bad(`offset ${v} does not fit the 16-bit offset of a load/store`, "read the field through a pointer to an inner struct");
    patched = { ...insn, offset: v };
    const oldSize = localValue.fieldSize;
    const newSize = tv.fieldSize;
    if (rec.kind === "field_byte_offset" && oldSize !== undefined && newSize !== undefined && oldSize !== newSize) {
      const lt = local.typeById(localValue.fieldTypeId!);
      const tt = target!.btf.typeById(tv.fieldTypeId!);
      const safe = (lt.kind === "ptr" && tt.kind === "ptr") || (lt.kind === "int" && tt.kind === "int" && !lt.signed && !tt.signed);
      if (!safe) return poison(`the field is ${oldSize} bytes locally but ${newSize} in the kernel, and a signed or non-integer load cannot be resized`);
      const have = SIZE_BYTES[insn.opcode & SIZE_MASK];
      if (have !== oldSize) bad(`instruction ${idx} accesses ${have} bytes, the field is ${oldSize}`, "the object is malformed");
      const sz = BYTES_SIZE[newSize];
      if (sz === undefined) bad(`the kernel's field is ${newSize} bytes, which no load can read`, "read it with bpf_core_read");
      patched = { ...patched, opcode: (insn.opcode & ~SIZE_MASK) | sz };
    }
  } else if (cls === BPF_LD && insn.opcode === LD_IMM64) {
    if (insn.src !== 0 || insn.offset !== 0) bad(`instruction ${idx} is an ld_imm64 of a pseudo value`, "the object is malformed");
    const have = BigInt.asUintN(64, BigInt(insn.imm));
    if (validate && have !== BigInt.asUintN(64, BigInt(expected))) mismatch(have);
    had = typeof expected === "bigint" || have > BigInt(Number.MAX_SAFE_INTEGER) ? have : Number(have);
    patched = { ...insn, imm: BigInt.asIntN(64, BigInt(tv.value)) };
  } else {
    return bad(`instruction ${idx} (opcode 0x${insn.opcode.toString(16)}) cannot carry a CO-RE value`, "the object is malformed");
  }
  return { at: idx, insn: patched, applied: new Applied(index, rec.insnOff, rec.kind, localSpec, target, targetBtf, had, tv.value, false) };
}
