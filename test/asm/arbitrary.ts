/**
 * fast-check arbitraries for valid eBPF instructions of every kind (the ISA of Linux 6.18).
 */
import fc from "fast-check";
import type { Instruction } from "../../src/asm/instruction.js";
import * as op from "../../src/asm/opcodes.js";

const int32 = fc.integer({ min: -0x80000000, max: 0x7fffffff });
const int16 = fc.integer({ min: -0x8000, max: 0x7fff });
const wreg = fc.integer({ min: 0, max: 9 });
const reg = fc.integer({ min: 0, max: 10 });
const sizes = fc.constantFrom(op.BPF_B, op.BPF_H, op.BPF_W, op.BPF_DW);
const i = (opcode: number, dst: number, src: number, offset: number, imm: number | bigint): Instruction => ({ opcode, dst, src, offset, imm });

const ALU = [op.BPF_ADD, op.BPF_SUB, op.BPF_MUL, op.BPF_DIV, op.BPF_OR, op.BPF_AND, op.BPF_LSH, op.BPF_RSH, op.BPF_MOD, op.BPF_XOR, op.BPF_MOV, op.BPF_ARSH];
const JMP = [op.BPF_JEQ, op.BPF_JGT, op.BPF_JGE, op.BPF_JSET, op.BPF_JNE, op.BPF_JSGT, op.BPF_JSGE, op.BPF_JLT, op.BPF_JLE, op.BPF_JSLT, op.BPF_JSLE];
const ATOMIC = [0x00, 0x40, 0x50, 0xa0, 0x01, 0x41, 0x51, 0xa1, op.BPF_XCHG, op.BPF_CMPXCHG];
const aluCls = fc.constantFrom(op.BPF_ALU, op.BPF_ALU64);

/** One valid instruction of any kind. */
export const instruction: fc.Arbitrary<Instruction> = fc.oneof(
  fc.tuple(aluCls, fc.constantFrom(...ALU), wreg, int32).map(([c, o, d, imm]) => i(c | o, d, 0, 0, imm)),
  fc.tuple(aluCls, fc.constantFrom(...ALU), wreg, reg).map(([c, o, d, s]) => i(c | o | op.BPF_X, d, s, 0, 0)),
  fc.tuple(aluCls, fc.constantFrom(op.BPF_DIV, op.BPF_MOD), wreg, reg, int32, fc.boolean()).map(([c, o, d, s, imm, x]) =>
    x ? i(c | o | op.BPF_X, d, s, 1, 0) : i(c | o, d, 0, 1, imm)),
  fc.tuple(aluCls, wreg).map(([c, d]) => i(c | op.BPF_NEG, d, 0, 0, 0)),
  fc.tuple(wreg, reg, fc.constantFrom(8, 16, 32)).map(([d, s, b]) => i(op.BPF_ALU64 | op.BPF_MOV | op.BPF_X, d, s, b, 0)),
  fc.tuple(wreg, reg, fc.constantFrom(8, 16)).map(([d, s, b]) => i(op.BPF_ALU | op.BPF_MOV | op.BPF_X, d, s, b, 0)),
  fc.tuple(fc.constantFrom(op.BPF_ALU | op.BPF_TO_LE, op.BPF_ALU | op.BPF_TO_BE, op.BPF_ALU64), wreg, fc.constantFrom(16, 32, 64))
    .map(([c, d, w]) => i(c | op.BPF_END, d, 0, 0, w)),
  fc.tuple(wreg, reg, fc.constantFrom(1, 0x10000)).map(([d, s, imm]) => i(op.BPF_ALU64 | op.BPF_MOV | op.BPF_X, d, s, 1, imm)),
  fc.tuple(fc.constantFrom(op.BPF_JMP, op.BPF_JMP32), fc.constantFrom(...JMP), reg, int16, int32).map(([c, o, d, off, imm]) => i(c | o, d, 0, off, imm)),
  fc.tuple(fc.constantFrom(op.BPF_JMP, op.BPF_JMP32), fc.constantFrom(...JMP), reg, reg, int16).map(([c, o, d, s, off]) => i(c | o | op.BPF_X, d, s, off, 0)),
  int16.map((off) => i(op.BPF_JMP | op.BPF_JA, 0, 0, off, 0)),
  int32.map((imm) => i(op.BPF_JMP32 | op.BPF_JA, 0, 0, 0, imm)),
  int16.map((off) => i(op.BPF_JMP | op.BPF_JCOND, 0, op.BPF_MAY_GOTO, off, 0)),
  fc.tuple(fc.constantFrom(0, 1), int32).map(([s, imm]) => i(op.BPF_JMP | op.BPF_CALL, 0, s, 0, imm)),
  fc.tuple(int32, int16).map(([imm, off]) => i(op.BPF_JMP | op.BPF_CALL, 0, op.BPF_PSEUDO_KFUNC_CALL, off, imm)),
  fc.constant(i(op.BPF_JMP | op.BPF_EXIT, 0, 0, 0, 0)),
  fc.tuple(fc.constantFrom(op.BPF_B, op.BPF_H, op.BPF_W), int32).map(([s, imm]) => i(op.BPF_LD | op.BPF_ABS | s, 0, 0, 0, imm)),
  fc.tuple(fc.constantFrom(op.BPF_B, op.BPF_H, op.BPF_W), reg, int32).map(([s, r, imm]) => i(op.BPF_LD | op.BPF_IND | s, 0, r, 0, imm)),
  fc.tuple(sizes, wreg, reg, int16).map(([s, d, r, off]) => i(op.BPF_LDX | op.BPF_MEM | s, d, r, off, 0)),
  fc.tuple(fc.constantFrom(op.BPF_B, op.BPF_H, op.BPF_W), wreg, reg, int16).map(([s, d, r, off]) => i(op.BPF_LDX | op.BPF_MEMSX | s, d, r, off, 0)),
  fc.tuple(sizes, reg, int16, int32).map(([s, d, off, imm]) => i(op.BPF_ST | op.BPF_MEM | s, d, 0, off, imm)),
  fc.tuple(sizes, reg, reg, int16).map(([s, d, r, off]) => i(op.BPF_STX | op.BPF_MEM | s, d, r, off, 0)),
  fc.tuple(fc.constantFrom(op.BPF_W, op.BPF_DW), reg, reg, int16, fc.constantFrom(...ATOMIC)).map(([s, d, r, off, a]) =>
    i(op.BPF_STX | op.BPF_ATOMIC | s, d, r, off, a)),
  fc.tuple(sizes, reg, wreg, int16).map(([s, r, d, off]) => i(op.BPF_STX | op.BPF_ATOMIC | s, d, r, off, op.BPF_LOAD_ACQ)),
  fc.tuple(sizes, reg, reg, int16).map(([s, d, r, off]) => i(op.BPF_STX | op.BPF_ATOMIC | s, d, r, off, op.BPF_STORE_REL)),
  fc.tuple(wreg, fc.integer({ min: 0, max: 6 }), fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n })).map(([d, s, imm]) =>
    i(op.LD_IMM64, d, s, 0, imm)),
);
