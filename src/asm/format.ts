/**
 * Instruction → text in the syntax llvm-objdump prints for BPF. The default dialect,
 * `"llvm-objdump-19"`, prints exactly what `llvm-objdump-19 -d --no-show-raw-insn` prints for
 * the instruction, `<unknown>` included (LLVM 19 cannot show load-acquire/store-release, nor
 * 32-bit atomics other than add without `--mattr=+alu32`). The `"tsbpf"` dialect prints the
 * same text wherever LLVM 19's is lossless and otherwise extends it, so that `asm` parses every
 * printed instruction back to the same instruction.
 */
import type { Instruction } from "./instruction.js";
import * as op from "./opcodes.js";

/** The text dialect: exactly llvm-objdump-19's, or tsbpf's lossless superset of it. */
export type Dialect = "llvm-objdump-19" | "tsbpf";

/** Options of `formatInstruction`. */
export interface FormatOptions {
  /** Default `"llvm-objdump-19"`. */
  dialect?: Dialect;
  /**
   * Print 8/16/32-bit loads, stores and atomics with `w` registers, as
   * `llvm-objdump --mattr=+alu32` does (then LLVM 19 also knows the 32-bit atomics). Default false.
   */
  alu32?: boolean;
}

const ALU_OPS: Readonly<Record<number, string>> = {
  [op.BPF_ADD]: "+=", [op.BPF_SUB]: "-=", [op.BPF_MUL]: "*=", [op.BPF_DIV]: "/=", [op.BPF_OR]: "|=",
  [op.BPF_AND]: "&=", [op.BPF_LSH]: "<<=", [op.BPF_RSH]: ">>=", [op.BPF_MOD]: "%=", [op.BPF_XOR]: "^=",
  [op.BPF_MOV]: "=", [op.BPF_ARSH]: "s>>=",
};
const JMP_OPS: Readonly<Record<number, string>> = {
  [op.BPF_JEQ]: "==", [op.BPF_JGT]: ">", [op.BPF_JGE]: ">=", [op.BPF_JSET]: "&", [op.BPF_JNE]: "!=",
  [op.BPF_JSGT]: "s>", [op.BPF_JSGE]: "s>=", [op.BPF_JLT]: "<", [op.BPF_JLE]: "<=", [op.BPF_JSLT]: "s<",
  [op.BPF_JSLE]: "s<=",
};
const ATOMIC_NAMES: Readonly<Record<number, [string, string]>> = {
  [op.BPF_ADD]: ["+=", "add"], [op.BPF_OR]: ["|=", "or"], [op.BPF_AND]: ["&=", "and"], [op.BPF_XOR]: ["^=", "xor"],
};

/** A signed number in llvm's style: `0x5`, `-0x5`. */
export function hexSigned(n: number | bigint): string {
  if (typeof n === "bigint") return n < 0n ? `-0x${(-n).toString(16)}` : `0x${n.toString(16)}`;
  return n < 0 ? `-0x${(-n).toString(16)}` : `0x${n.toString(16)}`;
}

/** A jump offset in llvm's style: `+0x3`, `-0x2`. */
export function hexOffset(n: number): string {
  return n < 0 ? `-0x${(-n).toString(16)}` : `+0x${n.toString(16)}`;
}

function mem(reg: number, offset: number): string {
  return `r${reg} ${offset < 0 ? "-" : "+"} 0x${Math.abs(offset).toString(16)}`;
}

/**
 * Formats one instruction as text, without the jump target annotation (`<LBB0_2>`) that
 * llvm-objdump adds from symbols (see `disassemble`). In the `"tsbpf"` dialect, symbolic
 * references print by name (`goto out`, `call my_func`, `r1 = map(counts) ll`). Never throws:
 * an instruction that is not valid prints as `<unknown>`.
 */
export function formatInstruction(insn: Instruction, options: FormatOptions = {}): string {
  const full = options.dialect === "tsbpf";
  const alu32 = options.alu32 ?? false;
  const { opcode, dst, src, offset } = insn;
  const imm = insn.imm;
  const cls = op.bpfClass(opcode);
  const ref = full ? insn.reference : undefined;
  if (opcode === op.LD_IMM64) {
    const v = typeof imm === "bigint" ? BigInt.asIntN(64, imm) : BigInt(imm);
    if (ref?.kind === "map" && (src === op.BPF_PSEUDO_MAP_FD || src === op.BPF_PSEUDO_MAP_VALUE)) {
      return ref.value || src === op.BPF_PSEUDO_MAP_VALUE
        ? `r${dst} = map_value(${ref.name}, ${hexSigned(ref.offset ?? Number(BigInt.asIntN(32, v >> 32n)))}) ll`
        : `r${dst} = map(${ref.name}) ll`;
    }
    if (ref?.kind === "ksym" && src === op.BPF_PSEUDO_BTF_ID) return `r${dst} = ksym(${ref.name}) ll`;
    if (ref?.kind === "symbol" && src === op.BPF_PSEUDO_FUNC) return `r${dst} = func(${ref.name}) ll`;
    if (src === 0) return `r${dst} = ${hexSigned(v)} ll`;
    const lo = BigInt.asUintN(32, v);
    const hi = BigInt.asUintN(32, v >> 32n);
    return `ld_pseudo\tr${dst}, 0x${src.toString(16)}, 0x${lo.toString(16)}${full && hi !== 0n ? `, 0x${hi.toString(16)}` : ""}`;
  }
  if (typeof imm !== "number") return "<unknown>";
  switch (cls) {
    case op.BPF_ALU:
    case op.BPF_ALU64: {
      const r = cls === op.BPF_ALU64 ? "r" : "w";
      const o = op.bpfOp(opcode);
      const x = op.bpfSrc(opcode) === op.BPF_X;
      if (o === op.BPF_NEG) return `${r}${dst} = -${r}${dst}`;
      if (o === op.BPF_END) {
        const name = cls === op.BPF_ALU64 ? "bswap" : x ? "be" : "le";
        return `r${dst} = ${name}${imm} r${dst}`;
      }
      if (o === op.BPF_MOV && x && offset !== 0) {
        if (offset === op.BPF_ADDR_SPACE_CAST && cls === op.BPF_ALU64) {
          return `r${dst} = addr_space_cast(r${src}, ${hexSigned(imm >>> 16)}, ${hexSigned(imm & 0xffff)})`;
        }
        return `${r}${dst} = (s${offset})${r}${src}`;
      }
      let sym = ALU_OPS[o];
      if (sym === undefined) return "<unknown>";
      if (offset === 1 && (o === op.BPF_DIV || o === op.BPF_MOD)) sym = `s${sym}`;
      return `${r}${dst} ${sym} ${x ? `${r}${src}` : hexSigned(imm)}`;
    }
    case op.BPF_JMP:
    case op.BPF_JMP32: {
      const o = op.bpfOp(opcode);
      const target = ref?.kind === "symbol" ? ref.name : undefined;
      if (o === op.BPF_JA) {
        return cls === op.BPF_JMP ? `goto ${target ?? hexOffset(offset)}` : `gotol ${target ?? hexOffset(imm)}`;
      }
      if (o === op.BPF_CALL) {
        if (!full || src === op.BPF_HELPER_CALL) return `call ${hexSigned(imm)}`;
        if (src === op.BPF_PSEUDO_CALL) return `call ${target ?? `pc${hexOffset(imm)}`}`;
        if (ref?.kind === "ksym") return `call kfunc ${ref.name}`;
        return `call kfunc ${hexSigned(imm)}${offset !== 0 ? `, ${hexSigned(offset)}` : ""}`;
      }
      if (o === op.BPF_EXIT) return "exit";
      if (o === op.BPF_JCOND) return `may_goto ${target ?? hexOffset(offset)}`;
      const cmp = JMP_OPS[o];
      if (cmp === undefined) return "<unknown>";
      const r = cls === op.BPF_JMP ? "r" : "w";
      const rhs = op.bpfSrc(opcode) === op.BPF_X ? `${r}${src}` : hexSigned(imm);
      return `if ${r}${dst} ${cmp} ${rhs} goto ${target ?? hexOffset(offset)}`;
    }
    case op.BPF_LD: {
      const size = op.SIZE_NAMES[op.bpfSize(opcode) >> 3];
      if (op.bpfMode(opcode) === op.BPF_ABS) return `r0 = *(${size} *)skb[${hexSigned(imm)}]`;
      if (full && imm !== 0) return `r0 = *(${size} *)skb[r${src} ${imm < 0 ? "-" : "+"} 0x${Math.abs(imm).toString(16)}]`;
      return `r0 = *(${size} *)skb[r${src}]`;
    }
    case op.BPF_LDX: {
      const bits = op.bpfSize(opcode);
      const size = op.SIZE_NAMES[bits >> 3];
      if (op.bpfMode(opcode) === op.BPF_MEMSX) return `r${dst} = *(s${size.slice(1)} *)(${mem(src, offset)})`;
      const r = alu32 && bits !== op.BPF_DW ? "w" : "r";
      return `${r}${dst} = *(${size} *)(${mem(src, offset)})`;
    }
    case op.BPF_ST:
      return `*(${op.SIZE_NAMES[op.bpfSize(opcode) >> 3]} *)(${mem(dst, offset)}) = ${hexSigned(imm)}`;
    case op.BPF_STX: {
      const bits = op.bpfSize(opcode);
      const size = op.SIZE_NAMES[bits >> 3];
      const narrow = bits !== op.BPF_DW;
      if (op.bpfMode(opcode) === op.BPF_MEM) return `*(${size} *)(${mem(dst, offset)}) = ${alu32 && narrow ? "w" : "r"}${src}`;
      // Atomics. LLVM 19 knows no load-acquire/store-release (LLVM 20 does), decodes 32-bit
      // atomics other than add only with +alu32, and its add decoder ignores some imm bits:
      // the llvm dialect reproduces what it prints, the tsbpf dialect prints what the kernel runs.
      const w = narrow && (full || alu32) ? "w" : "r";
      const at = mem(dst, offset);
      if (!full) {
        if (bits !== op.BPF_W && bits !== op.BPF_DW) return "<unknown>";
        if (imm === op.BPF_STORE_REL) return "<unknown>";
        if (imm === op.BPF_LOAD_ACQ || (narrow && !alu32 && imm === (op.BPF_ADD | op.BPF_FETCH))) {
          return `lock *(${size} *)(${at}) += ${w}${src}`;
        }
        if (narrow && !alu32 && imm !== op.BPF_ADD) return "<unknown>";
      }
      if (imm === op.BPF_LOAD_ACQ) return `${w}${dst} = load_acquire((${size} *)(${mem(src, offset)}))`;
      if (imm === op.BPF_STORE_REL) return `store_release((${size} *)(${at}), ${w}${src})`;
      if (bits !== op.BPF_W && bits !== op.BPF_DW) return "<unknown>";
      if (imm === op.BPF_ADD && narrow && !alu32) return `lock *(${size} *)(${at}) += r${src}`;
      const sfx = narrow ? "32_32" : "_64";
      if (imm === op.BPF_XCHG) return `${w}${src} = xchg${sfx}(${mem(dst, offset)}, ${w}${src})`;
      if (imm === op.BPF_CMPXCHG) return `${w}0 = cmpxchg${sfx}(${mem(dst, offset)}, ${w}0, ${w}${src})`;
      const a = ATOMIC_NAMES[imm & ~op.BPF_FETCH];
      if (a === undefined || imm > 0xff) return "<unknown>";
      if (imm & op.BPF_FETCH) return `${w}${src} = atomic_fetch_${a[1]}((${size} *)(${mem(dst, offset)}), ${w}${src})`;
      return `lock *(${size} *)(${mem(dst, offset)}) ${a[0]} ${w}${src}`;
    }
  }
  return "<unknown>";
}
