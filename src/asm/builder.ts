/**
 * The builder: one typed function per instruction kind, returning plain Instructions.
 *
 * ```ts
 * const insns = instructions(
 *   mov64(R0, 0),
 *   ldx("u32", R1, R1, 4),
 *   jeq(R1, 0, "out"),
 *   mov64(R0, 1),
 *   label("out"),
 *   exit(),
 * );
 * ```
 *
 * Registers are the strings `"r0"`…`"r10"` (constants `R0`…`R10`), so that a register and an
 * immediate can never be confused. Jump targets are a label name (resolved by `linkInstructions()`) or a
 * numeric offset in slots. Functions check their arguments and throw TypeError/RangeError
 * naming the bad one.
 */
import { helperId } from "./helpers.js";
import type { Instruction, Reference } from "./instruction.js";
import * as op from "./opcodes.js";
import type { SizeName } from "./opcodes.js";

/** A register name. r10 is the read-only frame pointer. */
export type Reg = "r0" | "r1" | "r2" | "r3" | "r4" | "r5" | "r6" | "r7" | "r8" | "r9" | "r10";
/** Register r0: return value and helper result. */
export const R0 = "r0";
/** Register r1: first argument (the context on entry). */
export const R1 = "r1";
/** Register r2: argument 2 (clobbered by calls). */
export const R2 = "r2";
/** Register r3: argument 3 (clobbered by calls). */
export const R3 = "r3";
/** Register r4: argument 4 (clobbered by calls). */
export const R4 = "r4";
/** Register r5: argument 5 (clobbered by calls). */
export const R5 = "r5";
/** Register r6: callee-saved. */
export const R6 = "r6";
/** Register r7: callee-saved. */
export const R7 = "r7";
/** Register r8: callee-saved. */
export const R8 = "r8";
/** Register r9: callee-saved. */
export const R9 = "r9";
/** The frame pointer (read-only; the stack grows down from it, 512 bytes). */
export const R10 = "r10";

/** A register or a signed 32-bit immediate. */
export type Operand = Reg | number;
/** A jump target: a label name, or an offset in slots relative to the next instruction. */
export type Target = string | number;

/** A label marker for `instructions()`: names the instruction that follows it. */
export interface Label {
  readonly label: string;
}

/** The register number of a register name; throws TypeError for anything else. */
export function regNumber(r: Reg): number {
  if (typeof r === "string" && /^r(10|[0-9])$/.test(r)) return Number(r.slice(1));
  throw new TypeError(`not a register: ${String(r)} (use R0…R10 or "r0"…"r10")`);
}

function imm32(v: number, what = "immediate"): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < -0x80000000 || v > 0xffffffff) {
    throw new RangeError(`${what} ${String(v)} is not a 32-bit integer`);
  }
  return v | 0;
}

/** An immediate of a 64-bit operation, which the CPU sign-extends: unsigned 0xffffffff would mean -1. */
function simm32(v: number, what = "immediate"): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < -0x80000000 || v > 0x7fffffff) {
    throw new RangeError(`${what} ${String(v)} is not a signed 32-bit integer (64-bit operations sign-extend it; use ldImm64 for larger constants)`);
  }
  return v;
}

function off16(v: number, what = "offset"): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < -0x8000 || v > 0x7fff) {
    throw new RangeError(`${what} ${String(v)} is not a signed 16-bit integer`);
  }
  return v;
}

function sizeBits(size: SizeName): number {
  const bits = op.SIZE_BITS[size];
  if (bits === undefined) throw new TypeError(`not a size: ${String(size)} (use "u8", "u16", "u32" or "u64")`);
  return bits;
}

function insn(opcode: number, dst: number, src: number, offset: number, imm: number | bigint, reference?: Reference): Instruction {
  const i: Instruction = { opcode, dst, src, offset, imm };
  if (reference) i.reference = reference;
  return i;
}

// --- ALU ---------------------------------------------------------------------------------

function alu(cls: number, o: number, offset: number) {
  return (dst: Reg, src: Operand): Instruction =>
    typeof src === "number"
      ? insn(cls | o | op.BPF_K, regNumber(dst), 0, offset, cls === op.BPF_ALU64 ? simm32(src) : imm32(src))
      : insn(cls | o | op.BPF_X, regNumber(dst), regNumber(src), offset, 0);
}

/** `dst += src` (64-bit). */ export const add64 = alu(op.BPF_ALU64, op.BPF_ADD, 0);
/** `dst -= src` (64-bit). */ export const sub64 = alu(op.BPF_ALU64, op.BPF_SUB, 0);
/** `dst *= src` (64-bit). */ export const mul64 = alu(op.BPF_ALU64, op.BPF_MUL, 0);
/** `dst /= src`, unsigned (64-bit). */ export const div64 = alu(op.BPF_ALU64, op.BPF_DIV, 0);
/** `dst s/= src`, signed (64-bit, cpu v4). */ export const sdiv64 = alu(op.BPF_ALU64, op.BPF_DIV, 1);
/** `dst |= src` (64-bit). */ export const or64 = alu(op.BPF_ALU64, op.BPF_OR, 0);
/** `dst &= src` (64-bit). */ export const and64 = alu(op.BPF_ALU64, op.BPF_AND, 0);
/** `dst <<= src` (64-bit). */ export const lsh64 = alu(op.BPF_ALU64, op.BPF_LSH, 0);
/** `dst >>= src`, logical (64-bit). */ export const rsh64 = alu(op.BPF_ALU64, op.BPF_RSH, 0);
/** `dst %= src`, unsigned (64-bit). */ export const mod64 = alu(op.BPF_ALU64, op.BPF_MOD, 0);
/** `dst s%= src`, signed (64-bit, cpu v4). */ export const smod64 = alu(op.BPF_ALU64, op.BPF_MOD, 1);
/** `dst ^= src` (64-bit). */ export const xor64 = alu(op.BPF_ALU64, op.BPF_XOR, 0);
/** `dst = src` (64-bit; an immediate is sign-extended). */ export const mov64 = alu(op.BPF_ALU64, op.BPF_MOV, 0);
/** `dst s>>= src`, arithmetic (64-bit). */ export const arsh64 = alu(op.BPF_ALU64, op.BPF_ARSH, 0);
/** `wdst += src` (32-bit, upper half zeroed). */ export const add32 = alu(op.BPF_ALU, op.BPF_ADD, 0);
/** `wdst -= src` (32-bit). */ export const sub32 = alu(op.BPF_ALU, op.BPF_SUB, 0);
/** `wdst *= src` (32-bit). */ export const mul32 = alu(op.BPF_ALU, op.BPF_MUL, 0);
/** `wdst /= src`, unsigned (32-bit). */ export const div32 = alu(op.BPF_ALU, op.BPF_DIV, 0);
/** `wdst s/= src`, signed (32-bit, cpu v4). */ export const sdiv32 = alu(op.BPF_ALU, op.BPF_DIV, 1);
/** `wdst |= src` (32-bit). */ export const or32 = alu(op.BPF_ALU, op.BPF_OR, 0);
/** `wdst &= src` (32-bit). */ export const and32 = alu(op.BPF_ALU, op.BPF_AND, 0);
/** `wdst <<= src` (32-bit). */ export const lsh32 = alu(op.BPF_ALU, op.BPF_LSH, 0);
/** `wdst >>= src`, logical (32-bit). */ export const rsh32 = alu(op.BPF_ALU, op.BPF_RSH, 0);
/** `wdst %= src`, unsigned (32-bit). */ export const mod32 = alu(op.BPF_ALU, op.BPF_MOD, 0);
/** `wdst s%= src`, signed (32-bit, cpu v4). */ export const smod32 = alu(op.BPF_ALU, op.BPF_MOD, 1);
/** `wdst ^= src` (32-bit). */ export const xor32 = alu(op.BPF_ALU, op.BPF_XOR, 0);
/** `wdst = src` (32-bit, upper half zeroed). */ export const mov32 = alu(op.BPF_ALU, op.BPF_MOV, 0);
/** `wdst s>>= src`, arithmetic (32-bit). */ export const arsh32 = alu(op.BPF_ALU, op.BPF_ARSH, 0);

/** `dst = -dst` (64-bit). */
export function neg64(dst: Reg): Instruction {
  return insn(op.BPF_ALU64 | op.BPF_NEG, regNumber(dst), 0, 0, 0);
}
/** `wdst = -wdst` (32-bit). */
export function neg32(dst: Reg): Instruction {
  return insn(op.BPF_ALU | op.BPF_NEG, regNumber(dst), 0, 0, 0);
}

/** `dst = (s8|s16|s32)src`: move with sign extension (64-bit, cpu v4). */
export function movsx64(dst: Reg, src: Reg, bits: 8 | 16 | 32): Instruction {
  if (bits !== 8 && bits !== 16 && bits !== 32) throw new RangeError(`movsx64 bits must be 8, 16 or 32, not ${String(bits)}`);
  return insn(op.BPF_ALU64 | op.BPF_MOV | op.BPF_X, regNumber(dst), regNumber(src), bits, 0);
}
/** `wdst = (s8|s16)wsrc`: move with sign extension (32-bit, cpu v4). */
export function movsx32(dst: Reg, src: Reg, bits: 8 | 16): Instruction {
  if (bits !== 8 && bits !== 16) throw new RangeError(`movsx32 bits must be 8 or 16, not ${String(bits)}`);
  return insn(op.BPF_ALU | op.BPF_MOV | op.BPF_X, regNumber(dst), regNumber(src), bits, 0);
}
/**
 * `dst = addr_space_cast(src, dstAs, srcAs)`: converts a pointer between address spaces, for
 * arena maps (Linux 6.9). One of the two spaces must be 0 and the other 1.
 */
export function addrSpaceCast(dst: Reg, src: Reg, dstAs: 0 | 1, srcAs: 0 | 1): Instruction {
  const imm = (dstAs << 16) | srcAs;
  if (imm !== 1 && imm !== 0x10000) throw new RangeError("addr_space_cast converts between address spaces 0 and 1");
  return insn(op.BPF_ALU64 | op.BPF_MOV | op.BPF_X, regNumber(dst), regNumber(src), op.BPF_ADDR_SPACE_CAST, imm);
}

function swapWidth(bits: number): number {
  if (bits !== 16 && bits !== 32 && bits !== 64) throw new RangeError(`byte swap width must be 16, 32 or 64, not ${String(bits)}`);
  return bits;
}
/** `dst = be16|be32|be64 dst`: convert between host order and big endian. */
export function be(bits: 16 | 32 | 64, dst: Reg): Instruction {
  return insn(op.BPF_ALU | op.BPF_END | op.BPF_TO_BE, regNumber(dst), 0, 0, swapWidth(bits));
}
/** `dst = le16|le32|le64 dst`: convert between host order and little endian. */
export function le(bits: 16 | 32 | 64, dst: Reg): Instruction {
  return insn(op.BPF_ALU | op.BPF_END | op.BPF_TO_LE, regNumber(dst), 0, 0, swapWidth(bits));
}
/** `dst = bswap16|bswap32|bswap64 dst`: unconditional byte swap (cpu v4). */
export function bswap(bits: 16 | 32 | 64, dst: Reg): Instruction {
  return insn(op.BPF_ALU64 | op.BPF_END, regNumber(dst), 0, 0, swapWidth(bits));
}

// --- memory ------------------------------------------------------------------------------

/** `dst = *(size *)(src + offset)`. */
export function ldx(size: SizeName, dst: Reg, src: Reg, offset: number): Instruction {
  return insn(op.BPF_LDX | op.BPF_MEM | sizeBits(size), regNumber(dst), regNumber(src), off16(offset), 0);
}
/** `dst = *(s8|s16|s32 *)(src + offset)`: sign-extending load (cpu v4). */
export function ldxsx(size: "u8" | "u16" | "u32", dst: Reg, src: Reg, offset: number): Instruction {
  if (size === ("u64" as SizeName)) throw new TypeError("ldxsx: no sign-extending 64-bit load");
  return insn(op.BPF_LDX | op.BPF_MEMSX | sizeBits(size), regNumber(dst), regNumber(src), off16(offset), 0);
}
/** `*(size *)(dst + offset) = src`. */
export function stx(size: SizeName, dst: Reg, src: Reg, offset: number): Instruction {
  return insn(op.BPF_STX | op.BPF_MEM | sizeBits(size), regNumber(dst), regNumber(src), off16(offset), 0);
}
/** `*(size *)(dst + offset) = imm`. */
export function st(size: SizeName, dst: Reg, offset: number, imm: number): Instruction {
  return insn(op.BPF_ST | op.BPF_MEM | sizeBits(size), regNumber(dst), 0, off16(offset), imm32(imm));
}
/** `r0 = *(size *)skb[imm]`: legacy packet load for socket filters (not u64). */
export function ldAbs(size: "u8" | "u16" | "u32", imm: number): Instruction {
  if (size === ("u64" as SizeName)) throw new TypeError("ldAbs: no 64-bit packet load");
  return insn(op.BPF_LD | op.BPF_ABS | sizeBits(size), 0, 0, 0, imm32(imm));
}
/** `r0 = *(size *)skb[src + imm]`: legacy indirect packet load (not u64). */
export function ldInd(size: "u8" | "u16" | "u32", src: Reg, imm: number): Instruction {
  if (size === ("u64" as SizeName)) throw new TypeError("ldInd: no 64-bit packet load");
  return insn(op.BPF_LD | op.BPF_IND | sizeBits(size), 0, regNumber(src), 0, imm32(imm));
}

/** Atomic operations on memory. `fetch_*`, `xchg` and `cmpxchg` return the old value. */
export type AtomicOpName =
  | "add" | "or" | "and" | "xor"
  | "fetch_add" | "fetch_or" | "fetch_and" | "fetch_xor"
  | "xchg" | "cmpxchg" | "load_acquire" | "store_release";

const ATOMIC_IMM: Readonly<Record<AtomicOpName, number>> = {
  add: op.BPF_ADD, or: op.BPF_OR, and: op.BPF_AND, xor: op.BPF_XOR,
  fetch_add: op.BPF_ADD | op.BPF_FETCH, fetch_or: op.BPF_OR | op.BPF_FETCH,
  fetch_and: op.BPF_AND | op.BPF_FETCH, fetch_xor: op.BPF_XOR | op.BPF_FETCH,
  xchg: op.BPF_XCHG, cmpxchg: op.BPF_CMPXCHG, load_acquire: op.BPF_LOAD_ACQ, store_release: op.BPF_STORE_REL,
};

/**
 * An atomic operation on `*(size *)(dst + offset)` with `src`: `lock *(u64 *)(r1 + 0) += r2`
 * for `atomic("add", "u64", R1, R2, 0)`. `cmpxchg` compares with r0 and leaves the old value
 * in r0. Read-modify-write operations take u32 or u64 (cpu v3 for all but add); load_acquire
 * (`dst = load_acquire(src + offset)`) and store_release take any size (Linux 6.15).
 */
export function atomic(operation: AtomicOpName, size: SizeName, dst: Reg, src: Reg, offset: number): Instruction {
  const imm = ATOMIC_IMM[operation];
  if (imm === undefined) throw new TypeError(`not an atomic operation: ${String(operation)}`);
  const bits = sizeBits(size);
  if (imm < op.BPF_LOAD_ACQ && bits !== op.BPF_W && bits !== op.BPF_DW) {
    throw new RangeError(`atomic ${operation} works on u32 or u64, not ${size}`);
  }
  return insn(op.BPF_STX | op.BPF_ATOMIC | bits, regNumber(dst), regNumber(src), off16(offset), imm);
}
/** `dst = load_acquire((size *)(src + offset))` (Linux 6.15, cpu v4). */
export function loadAcquire(size: SizeName, dst: Reg, src: Reg, offset: number): Instruction {
  return atomic("load_acquire", size, dst, src, offset);
}
/** `store_release((size *)(dst + offset), src)` (Linux 6.15, cpu v4). */
export function storeRelease(size: SizeName, dst: Reg, src: Reg, offset: number): Instruction {
  return atomic("store_release", size, dst, src, offset);
}

// --- ld_imm64 ----------------------------------------------------------------------------

/** `dst = imm ll`: load a 64-bit constant (two slots). */
export function ldImm64(dst: Reg, value: bigint | number): Instruction {
  let v: bigint;
  if (typeof value === "bigint") v = value;
  else if (Number.isSafeInteger(value)) v = BigInt(value);
  else throw new RangeError(`ldImm64: ${String(value)} is not a safe integer (use a bigint)`);
  if (v < -(1n << 63n) || v >= 1n << 64n) throw new RangeError(`ldImm64: ${v} does not fit in 64 bits`);
  return insn(op.LD_IMM64, regNumber(dst), 0, 0, BigInt.asIntN(64, v));
}
/**
 * `dst = map` (BPF_PSEUDO_MAP_FD): loads a map pointer. Give a map name (resolved by the loader
 * from the map of that name) or a map fd number.
 */
export function ldMapFd(dst: Reg, map: string | number): Instruction {
  if (typeof map === "string") return insn(op.LD_IMM64, regNumber(dst), op.BPF_PSEUDO_MAP_FD, 0, 0n, { kind: "map", name: map });
  return insn(op.LD_IMM64, regNumber(dst), op.BPF_PSEUDO_MAP_FD, 0, BigInt(imm32(map, "map fd")) & 0xffffffffn);
}
/**
 * `dst = &map.value[offset]` (BPF_PSEUDO_MAP_VALUE): the address of a single-element array
 * map's value, e.g. global data. Give a map name or a map fd.
 */
export function ldMapValue(dst: Reg, map: string | number, offset = 0): Instruction {
  const off = BigInt(imm32(offset, "value offset")) & 0xffffffffn;
  if (typeof map === "string") {
    return insn(op.LD_IMM64, regNumber(dst), op.BPF_PSEUDO_MAP_VALUE, 0, BigInt.asIntN(64, off << 32n), {
      kind: "map", name: map, value: true, offset,
    });
  }
  return insn(op.LD_IMM64, regNumber(dst), op.BPF_PSEUDO_MAP_VALUE, 0, BigInt.asIntN(64, (off << 32n) | (BigInt(imm32(map, "map fd")) & 0xffffffffn)));
}
/** `dst = map` by index into the program's fd_array (BPF_PSEUDO_MAP_IDX, Linux 5.14). */
export function ldMapIdx(dst: Reg, index: number): Instruction {
  return insn(op.LD_IMM64, regNumber(dst), op.BPF_PSEUDO_MAP_IDX, 0, BigInt(imm32(index, "fd_array index")) & 0xffffffffn);
}
/** `dst = &map.value[offset]` by index into fd_array (BPF_PSEUDO_MAP_IDX_VALUE, Linux 5.14). */
export function ldMapIdxValue(dst: Reg, index: number, offset = 0): Instruction {
  const lo = BigInt(imm32(index, "fd_array index")) & 0xffffffffn;
  const hi = BigInt(imm32(offset, "value offset")) & 0xffffffffn;
  return insn(op.LD_IMM64, regNumber(dst), op.BPF_PSEUDO_MAP_IDX_VALUE, 0, BigInt.asIntN(64, (hi << 32n) | lo));
}
/**
 * `dst = &kernel_variable` (BPF_PSEUDO_BTF_ID, Linux 5.10): give a BTF id, or a name for the
 * loader to resolve against kernel BTF (a `__ksym`).
 */
export function ldBtfId(dst: Reg, variable: string | number): Instruction {
  if (typeof variable === "string") return insn(op.LD_IMM64, regNumber(dst), op.BPF_PSEUDO_BTF_ID, 0, 0n, { kind: "ksym", name: variable });
  return insn(op.LD_IMM64, regNumber(dst), op.BPF_PSEUDO_BTF_ID, 0, BigInt(imm32(variable, "BTF id")) & 0xffffffffn);
}
/** `dst = &function` (BPF_PSEUDO_FUNC, Linux 5.13): a callback's address, by label or offset. */
export function ldFunc(dst: Reg, fn: Target): Instruction {
  if (typeof fn === "string") return insn(op.LD_IMM64, regNumber(dst), op.BPF_PSEUDO_FUNC, 0, 0n, { kind: "symbol", name: fn });
  return insn(op.LD_IMM64, regNumber(dst), op.BPF_PSEUDO_FUNC, 0, BigInt(imm32(fn, "function offset")) & 0xffffffffn);
}

// --- jumps, calls, exit ------------------------------------------------------------------

function target(t: Target): { offset: number; reference?: Reference } {
  if (typeof t === "string") {
    if (t.length === 0) throw new TypeError("jump target label is empty");
    return { offset: 0, reference: { kind: "symbol", name: t } };
  }
  return { offset: off16(t, "jump offset") };
}

function cond(cls: number, o: number) {
  return (dst: Reg, src: Operand, to: Target): Instruction => {
    const t = target(to);
    return typeof src === "number"
      ? insn(cls | o | op.BPF_K, regNumber(dst), 0, t.offset, cls === op.BPF_JMP ? simm32(src) : imm32(src), t.reference)
      : insn(cls | o | op.BPF_X, regNumber(dst), regNumber(src), t.offset, 0, t.reference);
  };
}

/** `if dst == src goto target`. */ export const jeq = cond(op.BPF_JMP, op.BPF_JEQ);
/** `if dst != src goto target`. */ export const jne = cond(op.BPF_JMP, op.BPF_JNE);
/** `if dst > src goto target` (unsigned). */ export const jgt = cond(op.BPF_JMP, op.BPF_JGT);
/** `if dst >= src goto target` (unsigned). */ export const jge = cond(op.BPF_JMP, op.BPF_JGE);
/** `if dst < src goto target` (unsigned). */ export const jlt = cond(op.BPF_JMP, op.BPF_JLT);
/** `if dst <= src goto target` (unsigned). */ export const jle = cond(op.BPF_JMP, op.BPF_JLE);
/** `if dst s> src goto target` (signed). */ export const jsgt = cond(op.BPF_JMP, op.BPF_JSGT);
/** `if dst s>= src goto target` (signed). */ export const jsge = cond(op.BPF_JMP, op.BPF_JSGE);
/** `if dst s< src goto target` (signed). */ export const jslt = cond(op.BPF_JMP, op.BPF_JSLT);
/** `if dst s<= src goto target` (signed). */ export const jsle = cond(op.BPF_JMP, op.BPF_JSLE);
/** `if dst & src goto target`. */ export const jset = cond(op.BPF_JMP, op.BPF_JSET);
/** `if wdst == src goto target` (32-bit compare). */ export const jeq32 = cond(op.BPF_JMP32, op.BPF_JEQ);
/** `if wdst != src goto target` (32-bit). */ export const jne32 = cond(op.BPF_JMP32, op.BPF_JNE);
/** `if wdst > src goto target` (32-bit, unsigned). */ export const jgt32 = cond(op.BPF_JMP32, op.BPF_JGT);
/** `if wdst >= src goto target` (32-bit, unsigned). */ export const jge32 = cond(op.BPF_JMP32, op.BPF_JGE);
/** `if wdst < src goto target` (32-bit, unsigned). */ export const jlt32 = cond(op.BPF_JMP32, op.BPF_JLT);
/** `if wdst <= src goto target` (32-bit, unsigned). */ export const jle32 = cond(op.BPF_JMP32, op.BPF_JLE);
/** `if wdst s> src goto target` (32-bit, signed). */ export const jsgt32 = cond(op.BPF_JMP32, op.BPF_JSGT);
/** `if wdst s>= src goto target` (32-bit, signed). */ export const jsge32 = cond(op.BPF_JMP32, op.BPF_JSGE);
/** `if wdst s< src goto target` (32-bit, signed). */ export const jslt32 = cond(op.BPF_JMP32, op.BPF_JSLT);
/** `if wdst s<= src goto target` (32-bit, signed). */ export const jsle32 = cond(op.BPF_JMP32, op.BPF_JSLE);
/** `if wdst & src goto target` (32-bit). */ export const jset32 = cond(op.BPF_JMP32, op.BPF_JSET);

/** `goto target`: unconditional jump with a 16-bit offset. */
export function ja(to: Target): Instruction {
  const t = target(to);
  return insn(op.BPF_JMP | op.BPF_JA, 0, 0, t.offset, 0, t.reference);
}
/** `gotol target`: unconditional jump with a 32-bit offset (cpu v4). */
export function gotol(to: Target): Instruction {
  if (typeof to === "string") return insn(op.BPF_JMP32 | op.BPF_JA, 0, 0, 0, 0, target(to).reference);
  return insn(op.BPF_JMP32 | op.BPF_JA, 0, 0, 0, imm32(to, "jump offset"));
}
/** `may_goto target`: jumps when the loop budget is exhausted (Linux 6.9). */
export function mayGoto(to: Target): Instruction {
  const t = target(to);
  return insn(op.BPF_JMP | op.BPF_JCOND, 0, op.BPF_MAY_GOTO, t.offset, 0, t.reference);
}

/**
 * `call helper`: calls a helper by name (`"map_lookup_elem"` or `"bpf_map_lookup_elem"`) or
 * id. Throws TypeError for an unknown name.
 */
export function call(helper: string | number): Instruction {
  if (typeof helper === "number") return insn(op.BPF_JMP | op.BPF_CALL, 0, op.BPF_HELPER_CALL, 0, imm32(helper, "helper id"));
  const id = helperId(helper);
  if (id === undefined) throw new TypeError(`call: no helper named "${helper}" in Linux 6.18 (for a subprogram use callFunction, for a kfunc callKfunc)`);
  return insn(op.BPF_JMP | op.BPF_CALL, 0, op.BPF_HELPER_CALL, 0, id);
}
/** Calls a BPF subprogram (bpf2bpf call) by its label, or by offset relative to the next slot. */
export function callFunction(fn: Target): Instruction {
  if (typeof fn === "string") return insn(op.BPF_JMP | op.BPF_CALL, 0, op.BPF_PSEUDO_CALL, 0, -1, target(fn).reference);
  return insn(op.BPF_JMP | op.BPF_CALL, 0, op.BPF_PSEUDO_CALL, 0, imm32(fn, "call offset"));
}
/**
 * Calls a kernel function (kfunc, Linux 5.13) by name, resolved by the loader against kernel
 * BTF, or by BTF id (with `moduleFdIndex` selecting a module's BTF in fd_array).
 */
export function callKfunc(fn: string | number, moduleFdIndex = 0): Instruction {
  if (typeof fn === "string") return insn(op.BPF_JMP | op.BPF_CALL, 0, op.BPF_PSEUDO_KFUNC_CALL, 0, 0, { kind: "ksym", name: fn });
  return insn(op.BPF_JMP | op.BPF_CALL, 0, op.BPF_PSEUDO_KFUNC_CALL, off16(moduleFdIndex, "module fd index"), imm32(fn, "BTF id"));
}
/** `exit`: returns r0. */
export function exit(): Instruction {
  return insn(op.BPF_JMP | op.BPF_EXIT, 0, 0, 0, 0);
}

// --- labels and lists --------------------------------------------------------------------

/** A label for `instructions()`: names the next instruction, so jumps and calls can target it. */
export function label(name: string): Label {
  if (typeof name !== "string" || name.length === 0) throw new TypeError("label name must be a non-empty string");
  return { label: name };
}

/** An item of `instructions()`: an instruction, a label, or a (nested) list of them. */
export type InstructionItem = Instruction | Label | readonly InstructionItem[];

/**
 * Flattens instructions, labels and nested lists into one instruction list, attaching each
 * label as the `symbol` of the instruction that follows it. When several labels name one
 * instruction, references to the later ones are rewritten to the first. Instructions are
 * copied, never mutated. Throws TypeError for a label at the end or a label defined twice.
 */
export function instructions(...items: InstructionItem[]): Instruction[] {
  const out: Instruction[] = [];
  const pending: string[] = [];
  const alias = new Map<string, string>();
  const seen = new Set<string>();
  const walk = (item: InstructionItem): void => {
    if (Array.isArray(item)) {
      for (const x of item as readonly InstructionItem[]) walk(x);
    } else if ("label" in (item as object) && !("opcode" in (item as object))) {
      const name = (item as Label).label;
      if (seen.has(name)) throw new TypeError(`label "${name}" is defined twice`);
      seen.add(name);
      pending.push(name);
    } else {
      const i = { ...(item as Instruction) };
      if (pending.length > 0) {
        if (i.symbol !== undefined) pending.unshift(i.symbol);
        i.symbol = pending[0];
        for (const p of pending.slice(1)) alias.set(p, pending[0]);
        pending.length = 0;
      }
      out.push(i);
    }
  };
  for (const item of items) walk(item);
  if (pending.length > 0) throw new TypeError(`label "${pending[0]}" is not followed by an instruction`);
  if (alias.size > 0) {
    for (const i of out) {
      const r = i.reference;
      if (r?.kind === "symbol" && alias.has(r.name)) i.reference = { kind: "symbol", name: alias.get(r.name)! };
    }
  }
  return out;
}
