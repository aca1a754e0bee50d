/**
 * The text assembler: parses the syntax llvm-objdump prints for BPF (and the tsbpf dialect of
 * `formatInstruction`) into Instructions. Labels become `symbol`s, jumps and calls to names
 * become references that `linkInstructions()` resolves later.
 *
 * ```ts
 * const insns = asm`
 *   r0 = 0
 *   r1 = *(u32 *)(r1 + 0x4)
 *   if r1 == 0x0 goto out
 *   r0 = 1
 * out:
 *   exit
 * `;
 * ```
 *
 * One statement per line; `;`, `//` and `#` start comments. Pasted llvm-objdump output is
 * accepted as is: instruction numbers (`12:`), `<sym>:` headers and `<LBB0_2>` jump
 * annotations are skipped. `${}` inserts a number or bigint as a constant, a string as a name
 * (label, map, function), a Reference (`{ kind: "map", name }`) as an `ld_imm64` operand, a
 * `label()` as a label, and an Instruction or list of Instructions as statements.
 */
import { ParseError } from "../errors.js";
import { instructions, type InstructionItem, type Label, label as makeLabel } from "./builder.js";
import { helperId } from "./helpers.js";
import type { Instruction, Reference } from "./instruction.js";
import * as op from "./opcodes.js";

interface Token {
  kind: "id" | "num" | "op" | "value" | "nl";
  text: string;
  line: number;
  column: number;
  value?: unknown;
}

const OPERATORS = [
  "s>>=", "<<=", ">>=", "s>=", "s<=", "s/=", "s%=", "==", "!=", ">=", "<=", "+=", "-=", "*=", "/=",
  "|=", "&=", "%=", "^=", "s>", "s<", "=", "<", ">", "&", "+", "-", "*", "(", ")", "[", "]", ",", ":",
];

const NUMBER = /(0x[0-9a-fA-F]+|[0-9]+)(?![A-Za-z0-9_.$])/y;
const IDENT = /[A-Za-z_.$][A-Za-z0-9_.$]*/y;
const HEADER = /([^\n:]*:[ \t]+file format |Disassembly of section )/y;

function tokenize(strings: readonly string[], values: readonly unknown[]): Token[] {
  const tokens: Token[] = [];
  let line = 1;
  let col = 1;
  for (let p = 0; p < strings.length; p++) {
    const s = strings[p];
    let i = 0;
    while (i < s.length) {
      const c = s[i];
      if (c === "\n") {
        tokens.push({ kind: "nl", text: "\n", line, column: col });
        line++;
        col = 1;
        i++;
        continue;
      }
      // llvm-objdump's headers: "t.o:\tfile format elf64-bpf", "Disassembly of section .text:".
      HEADER.lastIndex = i;
      if ((i === 0 || s[i - 1] === "\n") && HEADER.test(s)) {
        while (i < s.length && s[i] !== "\n") i++;
        continue;
      }
      if (c === " " || c === "\t" || c === "\r") {
        i++;
        col++;
        continue;
      }
      if (c === ";" || c === "#" || (c === "/" && s[i + 1] === "/")) {
        while (i < s.length && s[i] !== "\n") {
          i++;
          col++;
        }
        continue;
      }
      // Sticky regexes match in place: no slicing, so tokenizing stays linear in the text.
      NUMBER.lastIndex = i;
      const num = NUMBER.exec(s);
      if (num) {
        tokens.push({ kind: "num", text: num[0], line, column: col, value: BigInt(num[0]) });
        i += num[0].length;
        col += num[0].length;
        continue;
      }
      const oper = OPERATORS.find((o) => s.startsWith(o, i));
      if (oper) {
        tokens.push({ kind: "op", text: oper, line, column: col });
        i += oper.length;
        col += oper.length;
        continue;
      }
      IDENT.lastIndex = i;
      const id = IDENT.exec(s);
      if (id) {
        tokens.push({ kind: "id", text: id[0], line, column: col });
        i += id[0].length;
        col += id[0].length;
        continue;
      }
      throw new ParseError(`asm: line ${line}, column ${col}: unexpected character "${c}"`, { line, column: col });
    }
    if (p < values.length) {
      tokens.push({ kind: "value", text: "${…}", line, column: col, value: values[p] });
      col += 4;
    }
  }
  tokens.push({ kind: "nl", text: "end of input", line, column: col });
  return tokens;
}

const SIZES: Readonly<Record<string, number>> = { u8: op.BPF_B, u16: op.BPF_H, u32: op.BPF_W, u64: op.BPF_DW };
const SIGNED_SIZES: Readonly<Record<string, number>> = { s8: op.BPF_B, s16: op.BPF_H, s32: op.BPF_W };
const ALU_ASSIGN: Readonly<Record<string, [number, number]>> = {
  "+=": [op.BPF_ADD, 0], "-=": [op.BPF_SUB, 0], "*=": [op.BPF_MUL, 0], "/=": [op.BPF_DIV, 0],
  "|=": [op.BPF_OR, 0], "&=": [op.BPF_AND, 0], "<<=": [op.BPF_LSH, 0], ">>=": [op.BPF_RSH, 0],
  "%=": [op.BPF_MOD, 0], "^=": [op.BPF_XOR, 0], "s>>=": [op.BPF_ARSH, 0], "s/=": [op.BPF_DIV, 1], "s%=": [op.BPF_MOD, 1],
};
const CMP: Readonly<Record<string, number>> = {
  "==": op.BPF_JEQ, ">": op.BPF_JGT, ">=": op.BPF_JGE, "&": op.BPF_JSET, "!=": op.BPF_JNE, "s>": op.BPF_JSGT,
  "s>=": op.BPF_JSGE, "<": op.BPF_JLT, "<=": op.BPF_JLE, "s<": op.BPF_JSLT, "s<=": op.BPF_JSLE,
};
const LOCK_OPS: Readonly<Record<string, number>> = { "+=": op.BPF_ADD, "|=": op.BPF_OR, "&=": op.BPF_AND, "^=": op.BPF_XOR };
const FETCH_OPS: Readonly<Record<string, number>> = {
  atomic_fetch_add: op.BPF_ADD | op.BPF_FETCH, atomic_fetch_or: op.BPF_OR | op.BPF_FETCH,
  atomic_fetch_and: op.BPF_AND | op.BPF_FETCH, atomic_fetch_xor: op.BPF_XOR | op.BPF_FETCH,
};

interface Reg {
  n: number;
  wide: boolean;
  tok: Token;
}

function isReference(v: unknown): v is Reference {
  return typeof v === "object" && v !== null && typeof (v as Reference).kind === "string" && typeof (v as Reference).name === "string";
}
function isInstruction(v: unknown): v is Instruction {
  return typeof v === "object" && v !== null && typeof (v as Instruction).opcode === "number";
}

class Parser {
  private pos = 0;
  private readonly labels = new Set<string>();
  private lastLabel?: { item: Label; at: Token };
  readonly items: InstructionItem[] = [];
  constructor(private readonly tokens: Token[]) {}

  private peek(k = 0): Token {
    return this.tokens[Math.min(this.pos + k, this.tokens.length - 1)];
  }
  private next(): Token {
    const t = this.peek();
    if (this.pos < this.tokens.length - 1) this.pos++;
    return t;
  }
  private fail(t: Token, expected: string): never {
    const found = t.kind === "nl" ? (t.text === "\n" ? "end of line" : t.text) : `"${t.text}"`;
    throw new ParseError(`asm: line ${t.line}, column ${t.column}: expected ${expected}, found ${found}`, {
      line: t.line,
      column: t.column,
    });
  }
  private is(text: string, k = 0): boolean {
    const t = this.peek(k);
    return (t.kind === "op" || t.kind === "id") && t.text === text;
  }
  private expect(text: string): Token {
    if (!this.is(text)) this.fail(this.peek(), `"${text}"`);
    return this.next();
  }
  private accept(text: string): boolean {
    if (this.is(text)) {
      this.next();
      return true;
    }
    return false;
  }

  parse(): Instruction[] {
    while (this.peek().kind !== "nl" || this.peek().text !== "end of input") {
      this.line();
    }
    if (this.lastLabel && this.items[this.items.length - 1] === this.lastLabel.item) {
      this.fail(this.peek(), `an instruction after label "${this.lastLabel.item.label}" (line ${this.lastLabel.at.line})`);
    }
    return instructions(...this.items);
  }

  /** One line: optional llvm-objdump decorations, labels, at most one statement. */
  private line(): void {
    if (this.peek().kind === "nl") {
      this.next();
      return;
    }
    const first = this.peek();
    // "0000000000000000 <name>:" symbol headers, "12:" instruction numbers.
    if (first.kind === "num" && this.is("<", 1) && this.peek(2).kind === "id" && this.is(">", 3) && this.is(":", 4)) {
      this.addLabel(this.peek(2).text, this.peek(2));
      this.pos += 5;
    } else if (first.kind === "num" && this.is(":", 1)) {
      this.pos += 2;
    }
    // Labels: "name:".
    while ((this.peek().kind === "id" || this.peek().kind === "value") && this.is(":", 1) && !/^[rw](10|[0-9])$/.test(this.peek().text)) {
      const t = this.next();
      const name = t.kind === "value" ? t.value : t.text;
      if (typeof name !== "string" || name.length === 0) this.fail(t, "a label name");
      this.addLabel(name, t);
      this.next();
    }
    if (this.peek().kind === "nl") return;
    this.statement();
    if (this.peek().kind !== "nl") this.fail(this.peek(), "end of line");
  }

  private addLabel(name: string, at: Token): void {
    if (this.labels.has(name)) this.fail(at, `a new label ("${name}" is already defined)`);
    this.labels.add(name);
    const item = makeLabel(name);
    this.lastLabel = { item, at };
    this.items.push(item);
  }

  private statement(): void {
    const t = this.peek();
    if (t.kind === "value") {
      const v = t.value;
      if (typeof v === "object" && v !== null && typeof (v as { label?: unknown }).label === "string" && !isInstruction(v)) {
        this.next();
        this.addLabel((v as { label: string }).label, t);
        if (this.peek().kind !== "nl") this.statement();
        return;
      }
      if (isInstruction(v) || (Array.isArray(v) && v.every(isInstruction))) {
        this.next();
        this.items.push(isInstruction(v) ? { ...v } : v.map((x) => ({ ...x })));
        return;
      }
      this.fail(t, "an instruction (an interpolated value here must be an Instruction or a list of them)");
    }
    if (t.kind === "op") {
      if (t.text === "*") return this.store();
      this.fail(t, "an instruction");
    }
    if (t.kind !== "id") this.fail(t, "an instruction");
    switch (t.text) {
      case "exit":
        this.next();
        return this.emit(op.BPF_JMP | op.BPF_EXIT, 0, 0, 0, 0);
      case "call":
        this.next();
        return this.call();
      case "goto":
      case "gotol":
      case "may_goto": {
        this.next();
        const target = this.target(t.text === "gotol");
        if (t.text === "gotol") return this.emit(op.BPF_JMP32 | op.BPF_JA, 0, 0, 0, target.offset, target.reference);
        if (t.text === "goto") return this.emit(op.BPF_JMP | op.BPF_JA, 0, 0, target.offset, 0, target.reference);
        return this.emit(op.BPF_JMP | op.BPF_JCOND, 0, op.BPF_MAY_GOTO, target.offset, 0, target.reference);
      }
      case "if":
        this.next();
        return this.conditional();
      case "lock":
        this.next();
        return this.lock();
      case "store_release": {
        this.next();
        this.expect("(");
        const { size, signed, base, offset } = this.sizedMem();
        if (signed) this.fail(t, "an unsigned size");
        this.expect(",");
        const src = this.reg();
        this.expect(")");
        return this.emit(op.BPF_STX | op.BPF_ATOMIC | size, base, src.n, offset, op.BPF_STORE_REL);
      }
      case "ld_pseudo": {
        this.next();
        const dst = this.reg(true);
        this.expect(",");
        const src = this.number(0n, 15n, "a pseudo source 0–15");
        this.expect(",");
        const lo = this.number(-(1n << 31n), (1n << 32n) - 1n, "a 32-bit immediate");
        let hi = 0n;
        if (this.accept(",")) hi = this.number(-(1n << 31n), (1n << 32n) - 1n, "a 32-bit immediate");
        const imm = BigInt.asIntN(64, (BigInt.asUintN(32, hi) << 32n) | BigInt.asUintN(32, lo));
        return this.emit(op.LD_IMM64, dst.n, Number(src), 0, imm);
      }
    }
    if (this.regAhead()) return this.assignment();
    if (/^[rw][0-9]+$/.test(t.text)) this.fail(t, "a register r0–r10 or w0–w10");
    this.fail(t, "an instruction");
  }

  private emit(opcode: number, dst: number, src: number, offset: number, imm: number | bigint, reference?: Reference): void {
    const insn: Instruction = { opcode, dst, src, offset, imm };
    if (reference) insn.reference = reference;
    this.items.push(insn);
  }

  private regAhead(k = 0): boolean {
    const t = this.peek(k);
    return t.kind === "id" && /^[rw](10|[0-9])$/.test(t.text);
  }

  private reg(wide?: boolean): Reg {
    const t = this.peek();
    if (!this.regAhead()) this.fail(t, wide === undefined ? "a register" : wide ? "a register r0–r10" : "a register w0–w10");
    const r: Reg = { n: Number(t.text.slice(1)), wide: t.text[0] === "r", tok: t };
    if (wide !== undefined && r.wide !== wide) this.fail(t, wide ? "a register r0–r10" : "a register w0–w10");
    this.next();
    return r;
  }

  /** A signed number: optional sign, then a literal or an interpolated number/bigint. */
  private number(min: bigint, max: bigint, expected: string): bigint {
    const start = this.peek();
    let neg = false;
    if (this.is("-") || this.is("+")) neg = this.next().text === "-";
    const t = this.next();
    let v: bigint;
    if (t.kind === "num") v = t.value as bigint;
    else if (t.kind === "value" && typeof t.value === "bigint") v = t.value;
    else if (t.kind === "value" && typeof t.value === "number" && Number.isSafeInteger(t.value)) v = BigInt(t.value);
    else this.fail(t, expected);
    if (neg) v = -v;
    if (v < min || v > max) this.fail(start, `${expected} (${v} is out of range)`);
    return v;
  }

  private imm32(wide: boolean): number {
    // A 32-bit operation may name its immediate unsigned (w1 = 0xffffffff).
    const v = this.number(-(1n << 31n), wide ? (1n << 31n) - 1n : (1n << 32n) - 1n, "a signed 32-bit immediate");
    return Number(BigInt.asIntN(32, v));
  }

  private isNumberAhead(): boolean {
    const t = this.peek();
    const u = this.is("-") || this.is("+") ? this.peek(1) : t;
    return u.kind === "num" || (u.kind === "value" && (typeof u.value === "number" || typeof u.value === "bigint"));
  }

  /** `(reg)`, `(reg + 0x8)`, `(reg - 0x8)` without the parentheses. */
  private memRef(): { base: number; offset: number } {
    const base = this.reg(true);
    let offset = 0;
    if (this.is("+") || this.is("-")) offset = Number(this.number(-0x8000n, 0x7fffn, "a 16-bit offset"));
    return { base: base.n, offset };
  }

  /** `(u32 *)(r1 + 0x8)` (the leading `*` or `(` consumed by the caller as needed). */
  private sizedMem(): { size: number; signed: boolean; base: number; offset: number } {
    this.expect("(");
    const st = this.peek();
    const sizeName = st.text;
    const signed = sizeName in SIGNED_SIZES;
    if (st.kind !== "id" || (!(sizeName in SIZES) && !signed)) this.fail(st, "a size u8, u16, u32 or u64");
    this.next();
    this.expect("*");
    this.expect(")");
    this.expect("(");
    const m = this.memRef();
    this.expect(")");
    return { size: signed ? SIGNED_SIZES[sizeName] : SIZES[sizeName], signed, ...m };
  }

  private target(long = false): { offset: number; reference?: Reference } {
    const t = this.peek();
    let result: { offset: number; reference?: Reference };
    if (t.kind === "id" && !this.regAhead()) {
      this.next();
      result = { offset: 0, reference: { kind: "symbol", name: t.text } };
    } else if (t.kind === "value" && typeof t.value === "string") {
      this.next();
      result = { offset: 0, reference: { kind: "symbol", name: t.value } };
    } else if (this.isNumberAhead()) {
      const max = long ? 1n << 31n : 1n << 15n;
      result = { offset: Number(this.number(-max, max - 1n, long ? "a 32-bit jump offset" : "a 16-bit jump offset")) };
    } else {
      this.fail(t, "a jump target (+0x3, -0x2 or a label)");
    }
    // llvm-objdump's "<LBB0_2>" / "<f+0x20>" annotation.
    if (this.is("<")) {
      while (this.peek().kind !== "nl" && !this.is(">")) this.next();
      this.expect(">");
    }
    return result;
  }

  private call(): void {
    const t = this.peek();
    const CALL = op.BPF_JMP | op.BPF_CALL;
    if (t.kind === "id" && t.text === "pc" && (this.is("+", 1) || this.is("-", 1))) {
      this.next();
      const off = this.number(-(1n << 31n), (1n << 31n) - 1n, "a 32-bit call offset");
      return this.emit(CALL, 0, op.BPF_PSEUDO_CALL, 0, Number(off));
    }
    if (t.kind === "id" && t.text === "kfunc") {
      this.next();
      const n = this.peek();
      if (n.kind === "id" || (n.kind === "value" && typeof n.value === "string")) {
        this.next();
        return this.emit(CALL, 0, op.BPF_PSEUDO_KFUNC_CALL, 0, 0, { kind: "ksym", name: n.kind === "id" ? n.text : (n.value as string) });
      }
      const id = this.number(-(1n << 31n), (1n << 32n) - 1n, "a kfunc BTF id or name");
      let off = 0n;
      if (this.accept(",")) off = this.number(-0x8000n, 0x7fffn, "a module fd index");
      return this.emit(CALL, 0, op.BPF_PSEUDO_KFUNC_CALL, Number(off), Number(BigInt.asIntN(32, id)));
    }
    if (t.kind === "id" || (t.kind === "value" && typeof t.value === "string")) {
      this.next();
      const name = t.kind === "id" ? t.text : (t.value as string);
      const helper = helperId(name);
      if (helper !== undefined) return this.emit(CALL, 0, op.BPF_HELPER_CALL, 0, helper);
      return this.emit(CALL, 0, op.BPF_PSEUDO_CALL, 0, -1, { kind: "symbol", name });
    }
    if (this.isNumberAhead()) {
      const id = this.number(-(1n << 31n), (1n << 32n) - 1n, "a helper id");
      return this.emit(CALL, 0, op.BPF_HELPER_CALL, 0, Number(BigInt.asIntN(32, id)));
    }
    this.fail(t, "a helper id or name, pc+offset, kfunc, or a function name");
  }

  private conditional(): void {
    const dst = this.reg();
    const ct = this.peek();
    const cmp = ct.kind === "op" ? CMP[ct.text] : undefined;
    if (cmp === undefined) this.fail(ct, "a comparison (==, !=, >, >=, <, <=, s>, s>=, s<, s<=, &)");
    this.next();
    const cls = dst.wide ? op.BPF_JMP : op.BPF_JMP32;
    let src = 0;
    let imm = 0;
    let x = false;
    if (this.regAhead()) {
      src = this.reg(dst.wide).n;
      x = true;
    } else {
      imm = this.imm32(dst.wide);
    }
    this.expect("goto");
    const target = this.target();
    this.emit(cls | cmp | (x ? op.BPF_X : op.BPF_K), dst.n, src, target.offset, imm, target.reference);
  }

  private lock(): void {
    this.expect("*");
    const { size, signed, base, offset } = this.sizedMem();
    const ot = this.peek();
    const a = LOCK_OPS[ot.text];
    if (signed || a === undefined || ot.kind !== "op") this.fail(ot, "+=, |=, &= or ^=");
    this.next();
    const src = this.reg();
    this.emit(op.BPF_STX | op.BPF_ATOMIC | size, base, src.n, offset, a);
  }

  private store(): void {
    this.expect("*");
    const { size, signed, base, offset } = this.sizedMem();
    if (signed) this.fail(this.peek(), "an unsigned size for a store");
    this.expect("=");
    if (this.regAhead()) {
      const src = this.reg();
      return this.emit(op.BPF_STX | op.BPF_MEM | size, base, src.n, offset, 0);
    }
    this.emit(op.BPF_ST | op.BPF_MEM | size, base, 0, offset, this.imm32(true));
  }

  private assignment(): void {
    const dst = this.reg();
    const cls = dst.wide ? op.BPF_ALU64 : op.BPF_ALU;
    const at = this.peek();
    if (at.kind === "op" && at.text in ALU_ASSIGN) {
      this.next();
      const [o, off] = ALU_ASSIGN[at.text];
      if (this.regAhead()) return this.emit(cls | o | op.BPF_X, dst.n, this.reg(dst.wide).n, off, 0);
      return this.emit(cls | o | op.BPF_K, dst.n, 0, off, this.imm32(dst.wide));
    }
    this.expect("=");
    const t = this.peek();
    // r1 = -r1
    if (this.is("-") && this.regAhead(1)) {
      this.next();
      const r = this.reg(dst.wide);
      if (r.n !== dst.n) this.fail(r.tok, `r${dst.n} (neg negates its own register)`);
      return this.emit(cls | op.BPF_NEG, dst.n, 0, 0, 0);
    }
    if (this.regAhead()) return this.emit(cls | op.BPF_MOV | op.BPF_X, dst.n, this.reg(dst.wide).n, 0, 0);
    if (t.kind === "value" && (typeof t.value === "bigint" || isReference(t.value))) {
      this.next();
      this.accept("ll");
      if (!dst.wide) this.fail(dst.tok, "a 64-bit register for a 64-bit load");
      if (typeof t.value === "bigint") {
        if (t.value < -(1n << 63n) || t.value >= 1n << 64n) this.fail(t, "a 64-bit constant");
        return this.emit(op.LD_IMM64, dst.n, 0, 0, BigInt.asIntN(64, t.value));
      }
      return this.referenceLoad(dst, t.value);
    }
    if (this.isNumberAhead()) {
      if (this.is("ll", this.is("-") || this.is("+") ? 2 : 1)) {
        if (!dst.wide) this.fail(dst.tok, "a 64-bit register for ld_imm64");
        const v = this.number(-(1n << 63n), (1n << 64n) - 1n, "a 64-bit constant");
        this.expect("ll");
        return this.emit(op.LD_IMM64, dst.n, 0, 0, BigInt.asIntN(64, v));
      }
      return this.emit(cls | op.BPF_MOV | op.BPF_K, dst.n, 0, 0, this.imm32(dst.wide));
    }
    if (this.is("(")) {
      // r1 = (s8)r2
      this.next();
      const st = this.peek();
      const bits = st.text === "s8" ? 8 : st.text === "s16" ? 16 : st.text === "s32" && dst.wide ? 32 : 0;
      if (!bits) this.fail(st, dst.wide ? "s8, s16 or s32" : "s8 or s16");
      this.next();
      this.expect(")");
      return this.emit(cls | op.BPF_MOV | op.BPF_X, dst.n, this.reg(dst.wide).n, bits, 0);
    }
    if (this.is("*")) {
      this.next();
      if (this.is("(") && this.peek(1).kind === "id" && this.is("*", 2) && this.is(")", 3) && this.is("skb", 4)) {
        return this.packetLoad(dst);
      }
      const { size, signed, base, offset } = this.sizedMem();
      if (signed) {
        if (!dst.wide) this.fail(dst.tok, "a 64-bit register for a sign-extending load");
        return this.emit(op.BPF_LDX | op.BPF_MEMSX | size, dst.n, base, offset, 0);
      }
      if (!dst.wide && size === op.BPF_DW) this.fail(dst.tok, "a 64-bit register for a u64 load");
      return this.emit(op.BPF_LDX | op.BPF_MEM | size, dst.n, base, offset, 0);
    }
    if (t.kind !== "id") this.fail(t, "a register, a constant, or an expression");
    const name = t.text;
    const swap = /^(bswap|le|be)(16|32|64)$/.exec(name);
    if (swap) {
      this.next();
      if (!dst.wide) this.fail(dst.tok, "a 64-bit register for a byte swap");
      const r = this.reg(true);
      if (r.n !== dst.n) this.fail(r.tok, `r${dst.n} (a byte swap works in place)`);
      const opcode = swap[1] === "bswap" ? op.BPF_ALU64 | op.BPF_END : op.BPF_ALU | op.BPF_END | (swap[1] === "be" ? op.BPF_TO_BE : op.BPF_TO_LE);
      return this.emit(opcode, dst.n, 0, 0, Number(swap[2]));
    }
    this.next();
    if (name === "addr_space_cast") {
      this.expect("(");
      const src = this.reg(true);
      this.expect(",");
      const dstAs = this.number(0n, 0xffffn, "an address space");
      this.expect(",");
      const srcAs = this.number(0n, 0xffffn, "an address space");
      this.expect(")");
      return this.emit(op.BPF_ALU64 | op.BPF_MOV | op.BPF_X, dst.n, src.n, op.BPF_ADDR_SPACE_CAST, Number((dstAs << 16n) | srcAs));
    }
    if (name in FETCH_OPS) {
      this.expect("(");
      const { size, signed, base, offset } = this.sizedMem();
      if (signed) this.fail(t, "an unsigned size");
      this.expect(",");
      const src = this.reg();
      if (src.n !== dst.n) this.fail(src.tok, `${dst.wide ? "r" : "w"}${dst.n} (the fetched value replaces the operand)`);
      this.expect(")");
      return this.emit(op.BPF_STX | op.BPF_ATOMIC | size, base, src.n, offset, FETCH_OPS[name]);
    }
    if (name === "xchg_64" || name === "xchg32_32" || name === "cmpxchg_64" || name === "cmpxchg32_32") {
      const size = name.endsWith("_64") ? op.BPF_DW : op.BPF_W;
      this.expect("(");
      const { base, offset } = this.memRef();
      this.expect(",");
      let src = this.reg();
      if (name.startsWith("cmpxchg")) {
        if (dst.n !== 0 || src.n !== 0) this.fail(dst.n !== 0 ? dst.tok : src.tok, "r0 (cmpxchg compares with r0)");
        this.expect(",");
        src = this.reg();
      } else if (src.n !== dst.n) {
        this.fail(src.tok, `${dst.wide ? "r" : "w"}${dst.n} (xchg returns the old value in its operand)`);
      }
      this.expect(")");
      return this.emit(op.BPF_STX | op.BPF_ATOMIC | size, base, src.n, offset, name.startsWith("cmpxchg") ? op.BPF_CMPXCHG : op.BPF_XCHG);
    }
    if (name === "load_acquire") {
      this.expect("(");
      const { size, signed, base, offset } = this.sizedMem();
      if (signed) this.fail(t, "an unsigned size");
      this.expect(")");
      return this.emit(op.BPF_STX | op.BPF_ATOMIC | size, dst.n, base, offset, op.BPF_LOAD_ACQ);
    }
    if (name === "map" || name === "map_value" || name === "ksym" || name === "func") {
      this.expect("(");
      const nt = this.next();
      const refName = nt.kind === "id" ? nt.text : nt.kind === "value" && typeof nt.value === "string" ? nt.value : undefined;
      if (refName === undefined) this.fail(nt, "a name");
      let offset = 0;
      if (name === "map_value" && this.accept(",")) offset = Number(this.number(-(1n << 31n), (1n << 31n) - 1n, "a value offset"));
      this.expect(")");
      this.expect("ll");
      if (!dst.wide) this.fail(dst.tok, "a 64-bit register for ld_imm64");
      const ref: Reference =
        name === "map" ? { kind: "map", name: refName }
        : name === "map_value" ? { kind: "map", name: refName, value: true, offset }
        : name === "ksym" ? { kind: "ksym", name: refName }
        : { kind: "symbol", name: refName };
      return this.referenceLoad(dst, ref);
    }
    this.fail(t, "a register, a constant, or an expression");
  }

  private referenceLoad(dst: Reg, ref: Reference): void {
    switch (ref.kind) {
      case "map":
        if (ref.value) {
          return this.emit(op.LD_IMM64, dst.n, op.BPF_PSEUDO_MAP_VALUE, 0, BigInt.asIntN(64, BigInt(ref.offset ?? 0) << 32n), ref);
        }
        return this.emit(op.LD_IMM64, dst.n, op.BPF_PSEUDO_MAP_FD, 0, 0n, ref);
      case "ksym":
        return this.emit(op.LD_IMM64, dst.n, op.BPF_PSEUDO_BTF_ID, 0, 0n, ref);
      case "symbol":
        return this.emit(op.LD_IMM64, dst.n, op.BPF_PSEUDO_FUNC, 0, 0n, ref);
      default:
        return this.emit(op.LD_IMM64, dst.n, 0, 0, 0n, ref);
    }
  }

  private packetLoad(dst: Reg): void {
    this.expect("(");
    const st = this.next();
    const size = SIZES[st.text];
    if (size === undefined || size === op.BPF_DW) this.fail(st, "a size u8, u16 or u32");
    this.expect("*");
    this.expect(")");
    this.expect("skb");
    this.expect("[");
    if (dst.n !== 0 || !dst.wide) this.fail(dst.tok, "r0 (packet loads write r0)");
    if (this.regAhead()) {
      const src = this.reg(true);
      let imm = 0;
      if (this.is("+") || this.is("-")) imm = Number(this.number(-(1n << 31n), (1n << 31n) - 1n, "a 32-bit offset"));
      this.expect("]");
      return this.emit(op.BPF_LD | op.BPF_IND | size, 0, src.n, 0, imm);
    }
    const imm = this.imm32(true);
    this.expect("]");
    this.emit(op.BPF_LD | op.BPF_ABS | size, 0, 0, 0, imm);
  }
}

/**
 * Parses assembler text into instructions (see the module comment for the syntax). Labels
 * become `symbol`s; names used as jump or call targets become references, resolved by
 * `linkInstructions()`. Throws ParseError with line, column and what was expected.
 */
export function assemble(text: string): Instruction[] {
  return new Parser(tokenize([text], [])).parse();
}

/**
 * Tagged template form of `assemble`: `asm\`r0 = ${value}\``. Interpolate numbers and bigints
 * as constants, strings as names, References for `ld_imm64` of maps/ksyms, and Instructions
 * (or lists) as statements. Throws ParseError with line, column and what was expected.
 */
export function asm(strings: TemplateStringsArray, ...values: unknown[]): Instruction[] {
  return new Parser(tokenize(strings, values)).parse();
}
