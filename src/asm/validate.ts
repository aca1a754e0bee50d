/**
 * Structural validity of one instruction against the eBPF ISA of Linux 6.18: known opcode,
 * registers in range, reserved fields zero. The decoder refuses what fails here, so every
 * decoded instruction encodes back to the same bytes and prints in the text syntax.
 */
import type { Instruction } from "./instruction.js";
import * as op from "./opcodes.js";

const JUMP_OPS = new Set([
  op.BPF_JEQ, op.BPF_JGT, op.BPF_JGE, op.BPF_JSET, op.BPF_JNE, op.BPF_JSGT, op.BPF_JSGE,
  op.BPF_JLT, op.BPF_JLE, op.BPF_JSLT, op.BPF_JSLE,
]);
const ATOMIC_RMW = new Set([op.BPF_ADD, op.BPF_OR, op.BPF_AND, op.BPF_XOR]);

function reg(n: number): boolean {
  return Number.isInteger(n) && n >= 0 && n <= 10;
}

/**
 * Why `insn` is not a valid instruction, or undefined when it is. Checks structure only
 * (opcode, registers, reserved fields, offsets that select a variant); ranges that the
 * verifier checks against program state, such as shift amounts, are left to the verifier.
 */
export function instructionProblem(insn: Instruction): string | undefined {
  const { opcode, dst, src, offset } = insn;
  const imm = insn.imm;
  if (!Number.isInteger(opcode) || opcode < 0 || opcode > 0xff) return `opcode ${opcode} is not a byte`;
  if (!Number.isInteger(offset) || offset < -0x8000 || offset > 0x7fff) return `offset ${offset} is not a signed 16-bit number`;
  if (!Number.isInteger(dst) || dst < 0 || dst > 15) return `dst ${dst} is not a 4-bit field`;
  if (!Number.isInteger(src) || src < 0 || src > 15) return `src ${src} is not a 4-bit field`;
  if (opcode === op.LD_IMM64) {
    if (typeof imm !== "bigint") return "ld_imm64 needs a bigint immediate";
    if (imm < -(1n << 63n) || imm >= 1n << 64n) return "ld_imm64 immediate does not fit in 64 bits";
    if (!reg(dst) || dst === 10) return `bad destination register r${dst}`;
    if (src > op.BPF_PSEUDO_MAP_IDX_VALUE) return `unknown ld_imm64 pseudo source ${src}`;
    if (offset !== 0) return "ld_imm64 offset must be 0";
    return undefined;
  }
  if (typeof imm !== "number" || !Number.isInteger(imm) || imm < -0x80000000 || imm > 0x7fffffff) {
    return `immediate ${String(imm)} is not a signed 32-bit number`;
  }
  const cls = op.bpfClass(opcode);
  switch (cls) {
    case op.BPF_ALU:
    case op.BPF_ALU64:
      return aluProblem(cls, opcode, dst, src, offset, imm);
    case op.BPF_JMP:
    case op.BPF_JMP32:
      return jumpProblem(cls, opcode, dst, src, offset, imm);
    case op.BPF_LD: {
      const mode = op.bpfMode(opcode);
      if ((mode !== op.BPF_ABS && mode !== op.BPF_IND) || op.bpfSize(opcode) === op.BPF_DW) return `unknown opcode 0x${hex(opcode)}`;
      if (dst !== 0 || offset !== 0) return "ld_abs/ld_ind dst and offset must be 0";
      if (mode === op.BPF_ABS && src !== 0) return "ld_abs src must be 0";
      if (!reg(src)) return `bad source register r${src}`;
      return undefined;
    }
    case op.BPF_LDX: {
      const mode = op.bpfMode(opcode);
      if (mode !== op.BPF_MEM && !(mode === op.BPF_MEMSX && op.bpfSize(opcode) !== op.BPF_DW)) return `unknown opcode 0x${hex(opcode)}`;
      if (!reg(dst) || dst === 10) return `bad destination register r${dst}`;
      if (!reg(src)) return `bad source register r${src}`;
      if (imm !== 0) return "ldx immediate must be 0";
      return undefined;
    }
    case op.BPF_ST:
      if (op.bpfMode(opcode) !== op.BPF_MEM) return `unknown opcode 0x${hex(opcode)}`;
      if (!reg(dst)) return `bad destination register r${dst}`;
      if (src !== 0) return "st src must be 0";
      return undefined;
    case op.BPF_STX: {
      const mode = op.bpfMode(opcode);
      const size = op.bpfSize(opcode);
      if (!reg(dst)) return `bad destination register r${dst}`;
      if (!reg(src)) return `bad source register r${src}`;
      if (mode === op.BPF_MEM) return imm === 0 ? undefined : "stx immediate must be 0";
      if (mode !== op.BPF_ATOMIC) return `unknown opcode 0x${hex(opcode)}`;
      // load_acquire writes dst (dst = *(src + off)); store_release reads it.
      if (imm === op.BPF_LOAD_ACQ) return dst === 10 ? "load_acquire cannot write r10" : undefined;
      if (imm === op.BPF_STORE_REL) return undefined;
      if (size !== op.BPF_W && size !== op.BPF_DW) return `atomic 0x${hex(imm)} needs size u32 or u64`;
      if (imm === op.BPF_XCHG || imm === op.BPF_CMPXCHG) return undefined;
      if (ATOMIC_RMW.has(imm & ~op.BPF_FETCH)) return undefined;
      return `unknown atomic operation 0x${hex(imm)}`;
    }
  }
  return `unknown opcode 0x${hex(opcode)}`;
}

function aluProblem(cls: number, opcode: number, dst: number, src: number, offset: number, imm: number): string | undefined {
  const o = op.bpfOp(opcode);
  const x = op.bpfSrc(opcode) === op.BPF_X;
  if (!reg(dst) || dst === 10) return `bad destination register r${dst}`;
  if (o === op.BPF_END) {
    if (cls === op.BPF_ALU64 && x) return `unknown opcode 0x${hex(opcode)}`;
    if (src !== 0 || offset !== 0) return "byte swap src and offset must be 0";
    if (imm !== 16 && imm !== 32 && imm !== 64) return `byte swap width ${imm} is not 16, 32 or 64`;
    return undefined;
  }
  if (o === op.BPF_NEG) {
    if (x || src !== 0 || offset !== 0 || imm !== 0) return "neg takes no operand";
    return undefined;
  }
  if (o > op.BPF_END) return `unknown opcode 0x${hex(opcode)}`;
  if (x) {
    if (!reg(src)) return `bad source register r${src}`;
    if (imm !== 0 && !(cls === op.BPF_ALU64 && o === op.BPF_MOV && offset === op.BPF_ADDR_SPACE_CAST)) {
      return "register operation immediate must be 0";
    }
  } else if (src !== 0) {
    return "immediate operation src must be 0";
  }
  if (offset === 0) return undefined;
  if ((o === op.BPF_DIV || o === op.BPF_MOD) && offset === 1) return undefined;
  if (o === op.BPF_MOV && x) {
    if (offset === 8 || offset === 16 || (offset === 32 && cls === op.BPF_ALU64)) return undefined;
    if (offset === op.BPF_ADDR_SPACE_CAST && cls === op.BPF_ALU64) {
      return imm === 1 || imm === 1 << 16 ? undefined : "addr_space_cast immediate must be 1 or 0x10000";
    }
  }
  return `offset ${offset} is not valid for opcode 0x${hex(opcode)}`;
}

function jumpProblem(cls: number, opcode: number, dst: number, src: number, offset: number, imm: number): string | undefined {
  const o = op.bpfOp(opcode);
  const x = op.bpfSrc(opcode) === op.BPF_X;
  if (JUMP_OPS.has(o)) {
    if (!reg(dst)) return `bad destination register r${dst}`;
    if (x) {
      if (!reg(src)) return `bad source register r${src}`;
      if (imm !== 0) return "register compare immediate must be 0";
    } else if (src !== 0) return "immediate compare src must be 0";
    return undefined;
  }
  if (x) return `unknown opcode 0x${hex(opcode)}`;
  if (o === op.BPF_JA) {
    if (dst !== 0 || src !== 0) return "goto registers must be 0";
    if (cls === op.BPF_JMP) return imm === 0 ? undefined : "goto immediate must be 0";
    return offset === 0 ? undefined : "gotol offset must be 0";
  }
  if (cls !== op.BPF_JMP) return `unknown opcode 0x${hex(opcode)}`;
  if (o === op.BPF_CALL) {
    if (dst !== 0) return "call dst must be 0";
    if (src > op.BPF_PSEUDO_KFUNC_CALL) return `unknown call source ${src}`;
    if (offset !== 0 && src !== op.BPF_PSEUDO_KFUNC_CALL) return "call offset must be 0";
    return undefined;
  }
  if (o === op.BPF_EXIT) {
    return dst === 0 && src === 0 && offset === 0 && imm === 0 ? undefined : "exit fields must be 0";
  }
  if (o === op.BPF_JCOND) {
    if (src !== op.BPF_MAY_GOTO) return `unknown conditional pseudo jump ${src}`;
    return dst === 0 && imm === 0 ? undefined : "may_goto dst and immediate must be 0";
  }
  return `unknown opcode 0x${hex(opcode)}`;
}

function hex(n: number): string {
  return n.toString(16).padStart(2, "0");
}
