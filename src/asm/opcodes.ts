/**
 * eBPF opcode constants (UAPI `linux/bpf_common.h` and `linux/bpf.h` of Linux 6.18), named as
 * the kernel names them so they can be searched for. An opcode byte is
 * `class | size | mode` for loads and stores, and `class | op | source` for ALU and jumps.
 */

// Instruction classes: the low 3 bits.
/** Class: non-standard loads (`ld_imm64`, legacy packet access `ld_abs`/`ld_ind`). */
export const BPF_LD = 0x00;
/** Class: loads from memory into a register. */
export const BPF_LDX = 0x01;
/** Class: stores of an immediate into memory. */
export const BPF_ST = 0x02;
/** Class: stores of a register into memory, and atomics. */
export const BPF_STX = 0x03;
/** Class: 32-bit arithmetic. */
export const BPF_ALU = 0x04;
/** Class: 64-bit jumps, calls, exit. */
export const BPF_JMP = 0x05;
/** Class: 32-bit compare-and-jump (also `gotol` with `BPF_JA`). */
export const BPF_JMP32 = 0x06;
/** Class: 64-bit arithmetic. */
export const BPF_ALU64 = 0x07;

// Load/store sizes: bits 3–4.
/** Size: 32-bit word. */
export const BPF_W = 0x00;
/** Size: 16-bit half word. */
export const BPF_H = 0x08;
/** Size: byte. */
export const BPF_B = 0x10;
/** Size: 64-bit double word. */
export const BPF_DW = 0x18;

// Load/store modes: bits 5–7.
/** Mode: immediate (`ld_imm64` with BPF_DW). */
export const BPF_IMM = 0x00;
/** Mode: legacy absolute packet load (`ld_abs`). */
export const BPF_ABS = 0x20;
/** Mode: legacy indirect packet load (`ld_ind`). */
export const BPF_IND = 0x40;
/** Mode: regular memory access. */
export const BPF_MEM = 0x60;
/** Mode: sign-extending load (`ldsx`, cpu v4, Linux 6.6). */
export const BPF_MEMSX = 0x80;
/** Mode: atomic operation; the operation is in the immediate. */
export const BPF_ATOMIC = 0xc0;

// ALU operations: bits 4–7.
/** ALU: `dst += src`. */
export const BPF_ADD = 0x00;
/** ALU: `dst -= src`. */
export const BPF_SUB = 0x10;
/** ALU: `dst *= src`. */
export const BPF_MUL = 0x20;
/** Unsigned division; signed (`sdiv`, cpu v4) when the offset is 1. */
export const BPF_DIV = 0x30;
/** ALU: `dst |= src`. */
export const BPF_OR = 0x40;
/** ALU: `dst &= src`. */
export const BPF_AND = 0x50;
/** ALU: `dst <<= src`. */
export const BPF_LSH = 0x60;
/** ALU: `dst >>= src` (logical). */
export const BPF_RSH = 0x70;
/** ALU: `dst = -dst`. */
export const BPF_NEG = 0x80;
/** Unsigned modulo; signed (`smod`, cpu v4) when the offset is 1. */
export const BPF_MOD = 0x90;
/** ALU: `dst ^= src`. */
export const BPF_XOR = 0xa0;
/** Move; sign-extending (`movsx`, cpu v4) when the offset is 8, 16 or 32; `addr_space_cast` when 1. */
export const BPF_MOV = 0xb0;
/** ALU: `dst s>>= src` (arithmetic). */
export const BPF_ARSH = 0xc0;
/** Byte swap: `le`/`be` in BPF_ALU, unconditional `bswap` in BPF_ALU64 (cpu v4). */
export const BPF_END = 0xd0;

// Jump operations: bits 4–7.
/** Unconditional jump: `goto` (BPF_JMP, offset) or `gotol` (BPF_JMP32, 32-bit offset in imm). */
export const BPF_JA = 0x00;
/** Jump if `dst == src`. */
export const BPF_JEQ = 0x10;
/** Jump if `dst > src` (unsigned). */
export const BPF_JGT = 0x20;
/** Jump if `dst >= src` (unsigned). */
export const BPF_JGE = 0x30;
/** Jump if `dst & src`. */
export const BPF_JSET = 0x40;
/** Jump if `dst != src`. */
export const BPF_JNE = 0x50;
/** Jump if `dst s> src` (signed). */
export const BPF_JSGT = 0x60;
/** Jump if `dst s>= src` (signed). */
export const BPF_JSGE = 0x70;
/** Call a helper, a BPF subprogram or a kfunc (see the pseudo sources). */
export const BPF_CALL = 0x80;
/** Return r0. */
export const BPF_EXIT = 0x90;
/** Jump if `dst < src` (unsigned). */
export const BPF_JLT = 0xa0;
/** Jump if `dst <= src` (unsigned). */
export const BPF_JLE = 0xb0;
/** Jump if `dst s< src` (signed). */
export const BPF_JSLT = 0xc0;
/** Jump if `dst s<= src` (signed). */
export const BPF_JSLE = 0xd0;
/** Conditional pseudo jumps (`may_goto`, Linux 6.9). */
export const BPF_JCOND = 0xe0;

// Source operand: bit 3.
/** Source: the 32-bit immediate. */
export const BPF_K = 0x00;
/** Source: the source register. */
export const BPF_X = 0x08;
/** BPF_END direction: to little endian (shares bit 3 with BPF_K). */
export const BPF_TO_LE = 0x00;
/** BPF_END direction: to big endian (shares bit 3 with BPF_X). */
export const BPF_TO_BE = 0x08;

// Atomic operations, in the immediate of BPF_STX | BPF_ATOMIC.
/** Atomic flag: also return the old value in the source register. */
export const BPF_FETCH = 0x01;
/** Atomic exchange (implies BPF_FETCH). */
export const BPF_XCHG = 0xe0 | BPF_FETCH;
/** Atomic compare-and-exchange against r0 (implies BPF_FETCH). */
export const BPF_CMPXCHG = 0xf0 | BPF_FETCH;
/** Load-acquire (Linux 6.15). */
export const BPF_LOAD_ACQ = 0x100;
/** Store-release (Linux 6.15). */
export const BPF_STORE_REL = 0x110;

// Pseudo source registers of ld_imm64 (insn.src).
/** `ld_imm64` src: imm is a map fd. */
export const BPF_PSEUDO_MAP_FD = 1;
/** `ld_imm64` src: imm is a map fd, next imm an offset into its value. */
export const BPF_PSEUDO_MAP_VALUE = 2;
/** `ld_imm64` src: imm is the BTF id of a kernel variable (`__ksym`). */
export const BPF_PSEUDO_BTF_ID = 3;
/** `ld_imm64` src: imm is the instruction offset of a BPF function (callback). */
export const BPF_PSEUDO_FUNC = 4;
/** `ld_imm64` src: imm is an index into fd_array. */
export const BPF_PSEUDO_MAP_IDX = 5;
/** `ld_imm64` src: imm is an index into fd_array, next imm an offset into the value. */
export const BPF_PSEUDO_MAP_IDX_VALUE = 6;

// Pseudo source registers of calls (insn.src of BPF_JMP | BPF_CALL).
/** Call src: imm is a helper id. */
export const BPF_HELPER_CALL = 0;
/** Call src: imm is the pc-relative offset of a BPF subprogram. */
export const BPF_PSEUDO_CALL = 1;
/** Call src: imm is the BTF id of a kernel function (kfunc); offset selects a module BTF fd. */
export const BPF_PSEUDO_KFUNC_CALL = 2;

/** `may_goto`: the src value of BPF_JMP | BPF_JCOND. */
export const BPF_MAY_GOTO = 0;
/** The offset of BPF_ALU64 | BPF_MOV | BPF_X that makes it `addr_space_cast` (Linux 6.9). */
export const BPF_ADDR_SPACE_CAST = 1;

/** The opcode of `ld_imm64` (BPF_LD | BPF_IMM | BPF_DW), the only instruction of two slots. */
export const LD_IMM64 = BPF_LD | BPF_IMM | BPF_DW;
/** Size of one instruction slot in bytes. */
export const INSN_SIZE = 8;

/** The class of an opcode (low 3 bits). */
export function bpfClass(opcode: number): number {
  return opcode & 0x07;
}
/** The size bits of a load/store opcode. */
export function bpfSize(opcode: number): number {
  return opcode & 0x18;
}
/** The mode bits of a load/store opcode. */
export function bpfMode(opcode: number): number {
  return opcode & 0xe0;
}
/** The operation bits of an ALU or jump opcode. */
export function bpfOp(opcode: number): number {
  return opcode & 0xf0;
}
/** The source bit of an ALU or jump opcode (BPF_K or BPF_X). */
export function bpfSrc(opcode: number): number {
  return opcode & 0x08;
}

/** Memory access size names, as C types in the text syntax. */
export type SizeName = "u8" | "u16" | "u32" | "u64";
/** Size bits for each size name. */
export const SIZE_BITS: Readonly<Record<SizeName, number>> = { u8: BPF_B, u16: BPF_H, u32: BPF_W, u64: BPF_DW };
/** Size name for size bits (index by `bpfSize(opcode) >> 3`). */
export const SIZE_NAMES: readonly SizeName[] = ["u32", "u16", "u8", "u64"];
/** Bytes accessed for each size name. */
export const SIZE_BYTES: Readonly<Record<SizeName, number>> = { u8: 1, u16: 2, u32: 4, u64: 8 };
