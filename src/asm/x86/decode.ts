/**
 * x86-64 machine code → instructions in AT&T syntax, written as llvm-objdump 19 writes them
 * (`movq %rsp, %rbp`, `addq $-0x8, %rsp`, `nopl (%rax,%rax)`, `lock` on a line of its own).
 *
 * It covers what Linux's x86-64 BPF JIT emits (arch/x86/net/bpf_jit_comp.c): ALU and shifts in
 * 8/16/32/64 bits, mov/movabs/movzx/movsx/movsxd, BMI2 shlx/shrx/sarx, mul/div/idiv, bswap,
 * cmp/test, jcc/jmp/call, push/pop, lea, cmov/setcc, xchg/xadd/cmpxchg, the multi-byte nops,
 * endbr64, fences, int3, leave and ret, with REX, operand-size, segment and lock prefixes and
 * every ModRM/SIB/displacement form. Anything else is one `<unknown>` byte (llvm's word), so a
 * listing never stops at code this decoder does not know.
 *
 * Pure: bytes in, records out (`listX86` writes the objdump lines).
 */

/** One decoded instruction. */
export interface X86Instruction {
  /** Byte offset in the code. */
  readonly offset: number;
  readonly length: number;
  /** With llvm's size suffix (`movq`), or `<unknown>` for bytes this decoder does not know. */
  readonly mnemonic: string;
  /** `lock`, `rep` or `repne` when a prefix byte after the first one carries it (llvm writes it before the mnemonic). */
  readonly prefix?: string;
  /** AT&T operands, source first (`%rsi, 0x8(%rdi)`), or "". */
  readonly operands: string;
  /** llvm's comment (`imm = 0xFFFFFFFF`, or a rip-relative target), without the `# `. */
  readonly comment?: string;
  /** Where a relative jump or call goes (address), for `<func+off>` annotations. */
  readonly target?: bigint;
}

/** Options of `decodeX86`. */
export interface X86DecodeOptions {
  /** Address of the first byte, for jump and call targets (default 0). */
  readonly address?: bigint;
}

const R64 = ["rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"];
const R32 = ["eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi", "r8d", "r9d", "r10d", "r11d", "r12d", "r13d", "r14d", "r15d"];
const R16 = ["ax", "cx", "dx", "bx", "sp", "bp", "si", "di", "r8w", "r9w", "r10w", "r11w", "r12w", "r13w", "r14w", "r15w"];
const R8REX = ["al", "cl", "dl", "bl", "spl", "bpl", "sil", "dil", "r8b", "r9b", "r10b", "r11b", "r12b", "r13b", "r14b", "r15b"];
const R8 = ["al", "cl", "dl", "bl", "ah", "ch", "dh", "bh"];
const CC = ["o", "no", "b", "ae", "e", "ne", "be", "a", "s", "ns", "p", "np", "l", "ge", "le", "g"];
const ALU = ["add", "or", "adc", "sbb", "and", "sub", "xor", "cmp"];
const SHIFT = ["rol", "ror", "rcl", "rcr", "shl", "shr", undefined, "sar"];
const SUFFIX: Record<Size, string> = { 1: "b", 2: "w", 4: "l", 8: "q" };

type Size = 1 | 2 | 4 | 8;

/** Thrown inside the decoder when the bytes are not an instruction it knows; caught per instruction. */
class Unknown extends Error {}

/** llvm's hex: `0x1f`, `-0x8`. */
function hex(v: bigint): string {
  return v < 0n ? `-0x${(-v).toString(16)}` : `0x${v.toString(16)}`;
}

/** llvm's comment for an immediate outside [-256, 255]: the value in its narrowest width, upper case. */
function immComment(v: bigint): string | undefined {
  if (v <= 255n && v >= -256n) return undefined;
  const bits = v === BigInt.asIntN(16, v) ? 16 : v === BigInt.asIntN(32, v) ? 32 : 64;
  return `imm = 0x${BigInt.asUintN(bits, v).toString(16).toUpperCase()}`;
}

/** The decoder's state over one instruction. */
class Cursor {
  pos: number;
  constructor(
    readonly code: Uint8Array,
    readonly start: number,
  ) {
    this.pos = start;
  }
  u8(): number {
    if (this.pos >= this.code.length) throw new Unknown();
    return this.code[this.pos++];
  }
  int(bytes: 1 | 2 | 4 | 8, signed: boolean): bigint {
    let v = 0n;
    for (let i = 0; i < bytes; i++) v |= BigInt(this.u8()) << BigInt(8 * i);
    return signed ? BigInt.asIntN(bytes * 8, v) : v;
  }
}

interface Prefixes {
  opsize: boolean;
  lock: boolean;
  rep: boolean; // F3
  repne: boolean; // F2
  segment?: string;
  rex: number; // 0 when absent, else 0x40..0x4f
}

/** A decoded ModRM (with SIB and displacement): the register field and the r/m operand. */
interface ModRM {
  mod: number;
  /** The reg field with REX.R. */
  reg: number;
  /** The r/m register with REX.B when mod is 3. */
  rm: number;
  /** The memory operand in AT&T form when mod is not 3. */
  mem?: string;
  /** Rip-relative displacement, resolved once the instruction's length is known. */
  ripDisp?: bigint;
}

function regName(n: number, size: Size, rex: number): string {
  if (size === 8) return `%${R64[n]}`;
  if (size === 4) return `%${R32[n]}`;
  if (size === 2) return `%${R16[n]}`;
  return `%${rex ? R8REX[n] : R8[n]}`;
}

function modrm(c: Cursor, p: Prefixes): ModRM {
  const b = c.u8();
  const mod = b >> 6;
  const reg = ((b >> 3) & 7) | (p.rex & 4 ? 8 : 0);
  const rmLow = b & 7;
  const rexB = p.rex & 1 ? 8 : 0;
  if (mod === 3) return { mod, reg, rm: rmLow | rexB };
  let base: string | undefined;
  let index: string | undefined;
  let scale = 1;
  let disp = 0n;
  let rip = false;
  if (rmLow === 4) {
    const sib = c.u8();
    scale = 1 << (sib >> 6);
    const idx = ((sib >> 3) & 7) | (p.rex & 2 ? 8 : 0);
    const baseLow = sib & 7;
    if (baseLow === 5 && mod === 0) disp = c.int(4, true);
    else base = `%${R64[baseLow | rexB]}`;
    if (idx !== 4) index = `%${R64[idx]}`;
    // A SIB byte with no index that ModRM alone could have said: llvm shows the index as %riz.
    else if (scale !== 1 || (base && base !== "%rsp" && base !== "%r12")) index = "%riz";
  } else if (rmLow === 5 && mod === 0) {
    rip = true;
    disp = c.int(4, true);
  } else base = `%${R64[rmLow | rexB]}`;
  if (mod === 1) disp = c.int(1, true);
  else if (mod === 2) disp = c.int(4, true);
  const seg = p.segment ? `%${p.segment}:` : "";
  if (rip) return { mod, reg, rm: 0, mem: `${seg}${hex(disp)}(%rip)`, ripDisp: disp };
  let mem = disp !== 0n || (!base && !index) ? hex(disp) : "";
  if (base || index) mem += `(${base ?? ""}${index ? `,${index}${scale !== 1 ? `,${scale}` : ""}` : ""})`;
  return { mod, reg, rm: 0, mem: seg + mem };
}

/** The r/m operand as text (`*` before it for an indirect jump or call). */
function rmText(m: ModRM, size: Size, p: Prefixes): string {
  return m.mem ?? regName(m.rm, size, p.rex);
}

interface Out {
  mnemonic: string;
  prefix?: string;
  operands?: string[];
  comment?: string;
  target?: bigint;
  rip?: ModRM;
}

/** An immediate operand: `$0x10`, and its llvm comment. */
function imm(v: bigint, out: Out): string {
  out.comment = immComment(v);
  return `$${hex(v)}`;
}

/** Read an immediate of an operation of `size` (Iz: 4 bytes at most; sign-extended for 64-bit). */
function immZ(c: Cursor, size: Size): bigint {
  if (size === 1) return c.int(1, true);
  if (size === 2) return c.int(2, false);
  if (size === 4) return c.int(4, false);
  return c.int(4, true);
}

/** One instruction, and the prefix llvm writes before its mnemonic. */
function decodeOne(c: Cursor, address: bigint): Out {
  const o = decodeBody(c, address);
  if (o.mnemonic === "lock" || o.mnemonic === "pause" || o.mnemonic === "endbr64" || o.mnemonic.startsWith("nop")) return o;
  // A lock after another prefix, and a rep/repne the opcode does not use, are printed before
  // the mnemonic.
  let prefix: string | undefined;
  for (let i = c.start; i < c.pos; i++) {
    const b = c.code[i];
    if (b === 0xf0) prefix = "lock";
    else if (b === 0xf3) prefix ??= "rep";
    else if (b === 0xf2) prefix ??= "repne";
    else if (b !== 0x66 && b !== 0x2e && b !== 0x64 && b !== 0x65) break;
  }
  return prefix === undefined ? o : { ...o, prefix };
}

function decodeBody(c: Cursor, address: bigint): Out {
  const p: Prefixes = { opsize: false, lock: false, rep: false, repne: false, rex: 0 };
  let b = c.u8();
  // llvm lists a lock that starts the bytes as an instruction of its own.
  if (b === 0xf0) return { mnemonic: "lock" };
  for (;;) {
    if (b === 0x66) p.opsize = true;
    else if (b === 0xf0) p.lock = true;
    else if (b === 0xf3) p.rep = true;
    else if (b === 0xf2) p.repne = true;
    else if (b === 0x2e) p.segment = "cs";
    else if (b === 0x64) p.segment = "fs";
    else if (b === 0x65) p.segment = "gs";
    else break;
    b = c.u8();
  }
  if (b >= 0x40 && b <= 0x4f) {
    p.rex = b;
    b = c.u8();
  }
  // In the 0F map rep/repne select other instructions (popcnt, tzcnt…); only endbr64 and the
  // long nops are the JIT's. Before a one-byte opcode llvm writes them as a prefix.
  if (p.rep || p.repne) {
    if (b === 0x0f && !(p.rep && (c.code[c.pos] === 0x1e || c.code[c.pos] === 0x1f))) throw new Unknown();
    if (b === 0x90) {
      if (p.rep && !p.repne && !(p.rex & 1)) return { mnemonic: "pause" };
      throw new Unknown(); // xacquire and friends
    }
  }
  const w = (p.rex & 8) !== 0;
  const vsize: Size = w ? 8 : p.opsize ? 2 : 4;
  const sfx = (s: Size) => SUFFIX[s];
  const rel = (bytes: 1 | 4): bigint => {
    const d = c.int(bytes, true);
    return BigInt.asUintN(64, address + BigInt(c.pos - c.start) + d);
  };
  const withRm = (size: Size) => {
    const m = modrm(c, p);
    return { m, rm: rmText(m, size, p), reg: regName(m.reg, size, p.rex) };
  };

  // Arithmetic with the ALU group's operand shapes (00–3f).
  if (b < 0x40 && (b & 7) < 6) {
    const name = ALU[b >> 3];
    const form = b & 7;
    const size: Size = form & 1 ? vsize : 1;
    if (form < 4) {
      const { m, rm, reg } = withRm(size);
      return { mnemonic: name + sfx(size), operands: form < 2 ? [reg, rm] : [rm, reg], rip: m };
    }
    const out: Out = { mnemonic: name + sfx(size) };
    out.operands = [imm(immZ(c, size), out), regName(0, size, p.rex)];
    return out;
  }
  if (b >= 0x50 && b <= 0x57) return { mnemonic: "pushq", operands: [regName((b & 7) | (p.rex & 1 ? 8 : 0), 8, p.rex)] };
  if (b >= 0x58 && b <= 0x5f) return { mnemonic: "popq", operands: [regName((b & 7) | (p.rex & 1 ? 8 : 0), 8, p.rex)] };
  if (b === 0x63 && w) {
    const m = modrm(c, p);
    return { mnemonic: "movslq", operands: [rmText(m, 4, p), regName(m.reg, 8, p.rex)], rip: m };
  }
  if (b === 0x68 || b === 0x6a) {
    const out: Out = { mnemonic: "pushq" };
    out.operands = [imm(c.int(b === 0x68 ? 4 : 1, true), out)];
    return out;
  }
  if (b === 0x69 || b === 0x6b) {
    const { m, rm, reg } = withRm(vsize);
    const out: Out = { mnemonic: `imul${sfx(vsize)}`, rip: m };
    out.operands = [imm(b === 0x6b ? c.int(1, true) : immZ(c, vsize), out), rm, reg];
    return out;
  }
  if (b >= 0x70 && b <= 0x7f) {
    const t = rel(1);
    return { mnemonic: `j${CC[b & 15]}`, operands: [hex(t)], target: t };
  }
  if (b >= 0x80 && b <= 0x83 && b !== 0x82) {
    const size: Size = b === 0x80 ? 1 : vsize;
    const m = modrm(c, p);
    const out: Out = { mnemonic: ALU[m.reg & 7] + sfx(size), rip: m };
    const v = b === 0x83 ? c.int(1, true) : immZ(c, size);
    out.operands = [imm(v, out), rmText(m, size, p)];
    return out;
  }
  if (b >= 0x84 && b <= 0x8b) {
    const size: Size = b & 1 ? vsize : 1;
    const name = b <= 0x85 ? "test" : b <= 0x87 ? "xchg" : "mov";
    const { m, rm, reg } = withRm(size);
    // llvm writes a register-register xchg with the r/m register first.
    const rmFirst = b >= 0x8a || (name === "xchg" && m.mod === 3);
    return { mnemonic: name + sfx(size), operands: rmFirst ? [rm, reg] : [reg, rm], rip: m };
  }
  if (b === 0x8d) {
    const m = modrm(c, p);
    if (!m.mem) throw new Unknown();
    return { mnemonic: `lea${sfx(vsize)}`, operands: [m.mem, regName(m.reg, vsize, p.rex)], rip: m };
  }
  if (b === 0x8f) {
    const m = modrm(c, p);
    if ((m.reg & 7) !== 0) throw new Unknown();
    return { mnemonic: "popq", operands: [rmText(m, 8, p)], rip: m };
  }
  if (b === 0x90 && !(p.rex & 1)) return { mnemonic: p.rep ? "pause" : "nop" };
  if (b >= 0x90 && b <= 0x97) return { mnemonic: `xchg${sfx(vsize)}`, operands: [regName((b & 7) | (p.rex & 1 ? 8 : 0), vsize, p.rex), regName(0, vsize, p.rex)] };
  if (b === 0x98) return { mnemonic: w ? "cltq" : p.opsize ? "cbtw" : "cwtl" };
  if (b === 0x99) return { mnemonic: w ? "cqto" : p.opsize ? "cwtd" : "cltd" };
  if (b === 0xa8 || b === 0xa9) {
    const size: Size = b === 0xa8 ? 1 : vsize;
    const out: Out = { mnemonic: `test${sfx(size)}` };
    out.operands = [imm(immZ(c, size), out), regName(0, size, p.rex)];
    return out;
  }
  if (b >= 0xb0 && b <= 0xbf) {
    const size: Size = b < 0xb8 ? 1 : vsize;
    const r = regName((b & 7) | (p.rex & 1 ? 8 : 0), size, p.rex);
    const out: Out = { mnemonic: size === 8 ? "movabsq" : `mov${sfx(size)}` };
    const v = size === 8 ? c.int(8, true) : immZ(c, size);
    out.operands = [imm(v, out), r];
    return out;
  }
  if (b === 0xc0 || b === 0xc1 || (b >= 0xd0 && b <= 0xd3)) {
    const size: Size = b & 1 ? vsize : 1;
    const m = modrm(c, p);
    const name = SHIFT[m.reg & 7];
    if (!name) throw new Unknown();
    const out: Out = { mnemonic: name + sfx(size), rip: m };
    const dst = rmText(m, size, p);
    if (b <= 0xc1) out.operands = [imm(c.int(1, false), out), dst];
    else if (b <= 0xd1) out.operands = [dst];
    else out.operands = ["%cl", dst];
    return out;
  }
  if (b === 0xc2) {
    const out: Out = { mnemonic: "retq" };
    out.operands = [imm(c.int(2, false), out)];
    return out;
  }
  if (b === 0xc3) return { mnemonic: "retq" };
  if (b === 0xc6 || b === 0xc7) {
    const size: Size = b === 0xc6 ? 1 : vsize;
    const m = modrm(c, p);
    if ((m.reg & 7) !== 0) throw new Unknown();
    const out: Out = { mnemonic: `mov${sfx(size)}`, rip: m };
    out.operands = [imm(immZ(c, size), out), rmText(m, size, p)];
    return out;
  }
  if (b === 0xc9) return { mnemonic: "leave" };
  if (b === 0xcc) return { mnemonic: "int3" };
  if (b === 0xe8) {
    const t = rel(4);
    return { mnemonic: "callq", operands: [hex(t)], target: t };
  }
  if (b === 0xe9 || b === 0xeb) {
    const t = rel(b === 0xe9 ? 4 : 1);
    return { mnemonic: "jmp", operands: [hex(t)], target: t };
  }
  if (b === 0xf6 || b === 0xf7) {
    const size: Size = b === 0xf6 ? 1 : vsize;
    const m = modrm(c, p);
    const op = m.reg & 7;
    const name = ["test", undefined, "not", "neg", "mul", "imul", "div", "idiv"][op];
    if (!name) throw new Unknown();
    const out: Out = { mnemonic: name + sfx(size), rip: m };
    out.operands = op === 0 ? [imm(immZ(c, size), out), rmText(m, size, p)] : [rmText(m, size, p)];
    return out;
  }
  if (b === 0xfe || b === 0xff) {
    const size: Size = b === 0xfe ? 1 : vsize;
    const m = modrm(c, p);
    const op = m.reg & 7;
    if (op <= 1) return { mnemonic: (op ? "dec" : "inc") + sfx(size), operands: [rmText(m, size, p)], rip: m };
    if (b === 0xff && (op === 2 || op === 4)) return { mnemonic: op === 2 ? "callq" : "jmpq", operands: [`*${rmText(m, 8, p)}`], rip: m };
    if (b === 0xff && op === 6) return { mnemonic: "pushq", operands: [rmText(m, 8, p)], rip: m };
    throw new Unknown();
  }
  if (b === 0x0f) return decode0f(c, p, vsize, rel);
  if ((b === 0xc4 || b === 0xc5) && !p.rex && !p.opsize && !p.rep && !p.repne) return decodeVex(c, b, p.segment);
  throw new Unknown();
}

function decode0f(c: Cursor, p: Prefixes, vsize: Size, rel: (bytes: 1 | 4) => bigint): Out {
  const b = c.u8();
  const sfx = (s: Size) => SUFFIX[s];
  if (b === 0x0b) return { mnemonic: "ud2" };
  if (b === 0x1e && p.rep) {
    const x = c.u8();
    if (x === 0xfa) return { mnemonic: "endbr64" };
    if (x === 0xfb) return { mnemonic: "endbr32" };
    throw new Unknown();
  }
  if (b === 0x1f) {
    const m = modrm(c, p);
    if ((m.reg & 7) !== 0) throw new Unknown();
    return { mnemonic: `nop${sfx(vsize)}`, operands: [rmText(m, vsize, p)], rip: m };
  }
  if (b >= 0x40 && b <= 0x4f) {
    const m = modrm(c, p);
    return { mnemonic: `cmov${CC[b & 15]}${sfx(vsize)}`, operands: [rmText(m, vsize, p), regName(m.reg, vsize, p.rex)], rip: m };
  }
  if (b >= 0x80 && b <= 0x8f) {
    const t = rel(4);
    return { mnemonic: `j${CC[b & 15]}`, operands: [hex(t)], target: t };
  }
  if (b >= 0x90 && b <= 0x9f) {
    const m = modrm(c, p);
    return { mnemonic: `set${CC[b & 15]}`, operands: [rmText(m, 1, p)], rip: m };
  }
  if (b === 0xae) {
    const x = c.u8();
    const fence = { 0xe8: "lfence", 0xf0: "mfence", 0xf8: "sfence" }[x];
    if (fence) return { mnemonic: fence };
    throw new Unknown();
  }
  if (b === 0xaf) {
    const m = modrm(c, p);
    return { mnemonic: `imul${sfx(vsize)}`, operands: [rmText(m, vsize, p), regName(m.reg, vsize, p.rex)], rip: m };
  }
  if (b === 0xb0 || b === 0xb1 || b === 0xc0 || b === 0xc1) {
    const size: Size = b & 1 ? vsize : 1;
    const m = modrm(c, p);
    return { mnemonic: (b < 0xc0 ? "cmpxchg" : "xadd") + sfx(size), operands: [regName(m.reg, size, p.rex), rmText(m, size, p)], rip: m };
  }
  if (b === 0xb6 || b === 0xb7 || b === 0xbe || b === 0xbf) {
    const from: Size = b & 1 ? 2 : 1;
    if (from === 2 && vsize === 2) throw new Unknown();
    const m = modrm(c, p);
    return { mnemonic: `mov${b < 0xb8 ? "z" : "s"}${sfx(from)}${sfx(vsize)}`, operands: [rmText(m, from, p), regName(m.reg, vsize, p.rex)], rip: m };
  }
  if (b >= 0xc8 && b <= 0xcf) return { mnemonic: `bswap${sfx(vsize)}`, operands: [regName((b & 7) | (p.rex & 1 ? 8 : 0), vsize, p.rex)] };
  throw new Unknown();
}

/** VEX-encoded BMI2 shifts (shlx/sarx/shrx), which the JIT uses when the CPU has BMI2. */
function decodeVex(c: Cursor, first: number, segment: string | undefined): Out {
  if (first !== 0xc4) throw new Unknown();
  const b1 = c.u8();
  const b2 = c.u8();
  if ((b1 & 0x1f) !== 2 || (b2 & 4) !== 0) throw new Unknown(); // map 0F38, L=0
  const op = c.u8();
  const pp = b2 & 3;
  if (op !== 0xf7 || pp === 0) throw new Unknown();
  // VEX keeps R, X, B inverted; rebuild a REX byte from them for the ModRM decoder.
  const rex = 0x40 | (b1 & 0x80 ? 0 : 4) | (b1 & 0x40 ? 0 : 2) | (b1 & 0x20 ? 0 : 1) | (b2 & 0x80 ? 8 : 0);
  const size: Size = b2 & 0x80 ? 8 : 4;
  const vvvv = (~b2 >> 3) & 15;
  const p: Prefixes = { opsize: false, lock: false, rep: false, repne: false, rex, ...(segment ? { segment } : {}) };
  const m = modrm(c, p);
  const name = ["", "shlx", "sarx", "shrx"][pp] + SUFFIX[size];
  return { mnemonic: name, operands: [regName(vvvv, size, rex), rmText(m, size, p), regName(m.reg, size, rex)], rip: m };
}

const MAX_LENGTH = 15;

/**
 * Decode `code` from start to end. Bytes that do not start an instruction this decoder knows
 * come out one at a time as `<unknown>`.
 */
export function decodeX86(code: Uint8Array, options: X86DecodeOptions = {}): X86Instruction[] {
  const base = options.address ?? 0n;
  const out: X86Instruction[] = [];
  let pos = 0;
  while (pos < code.length) {
    const c = new Cursor(code, pos);
    const address = base + BigInt(pos);
    let o: Out;
    try {
      o = decodeOne(c, address);
      if (c.pos - pos > MAX_LENGTH) throw new Unknown();
    } catch (e) {
      if (!(e instanceof Unknown)) throw e;
      out.push({ offset: pos, length: 1, mnemonic: "<unknown>", operands: "" });
      pos += 1;
      continue;
    }
    const length = c.pos - pos;
    let comment = o.comment;
    if (o.rip?.ripDisp !== undefined) comment = `0x${BigInt.asUintN(64, address + BigInt(length) + o.rip.ripDisp).toString(16)}`;
    out.push({
      offset: pos,
      length,
      mnemonic: o.mnemonic,
      ...(o.prefix !== undefined ? { prefix: o.prefix } : {}),
      operands: (o.operands ?? []).join(", "),
      ...(comment !== undefined ? { comment } : {}),
      ...(o.target !== undefined ? { target: o.target } : {}),
    });
    pos += length;
  }
  return out;
}

/** Where llvm-objdump puts a comment: column 40 of the text after the address. */
const COMMENT_COLUMN = 40;

/**
 * The instruction as llvm-objdump -d --no-show-raw-insn prints it after the address:
 * `\tmovabsq\t$-0x1, %rdx  # imm = …`, the comment padded to llvm's column (tabs count to 8).
 */
export function formatX86(insn: X86Instruction): string {
  let text = `${insn.prefix !== undefined ? `\t${insn.prefix}\t` : ""}\t${insn.mnemonic}${insn.operands ? `\t${insn.operands}` : ""}`;
  if (insn.comment !== undefined) {
    let col = 0;
    for (const ch of text) col = ch === "\t" ? (col & ~7) + 8 : col + 1;
    text += `${" ".repeat(Math.max(1, COMMENT_COLUMN - col))}# ${insn.comment}`;
  }
  return text;
}

/** The whole line llvm-objdump -d --no-show-raw-insn prints, without a `<symbol>` after targets. */
export function formatX86Line(insn: X86Instruction, address = 0n): string {
  return `${(address + BigInt(insn.offset)).toString(16).padStart(8)}:      ${formatX86(insn)}`;
}
