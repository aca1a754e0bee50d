/**
 * The x86-64 decoder against llvm-objdump-19: named cases of what the BPF JIT emits, random
 * instructions of the supported set assembled by llvm-mc (fast-check, the suite's seed), and
 * bytes it does not know. The same comparison over real JIT images is test/cli/prog-jited.test.ts.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeX86, formatX86Line } from "../../../src/asm/x86/decode.js";
import "../../helpers/fast-check-seed.js";
import { hasX86Llvm, llvmX86Assemble, llvmX86Bytes } from "./llvm-x86.js";

const listing = (bytes: Uint8Array) => decodeX86(bytes).map((i) => formatX86Line(i));

type Sz = "b" | "w" | "l" | "q";
const REGS: Record<Sz, string[]> = {
  q: ["rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"],
  l: ["eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi", "r8d", "r9d", "r10d", "r11d", "r12d", "r13d", "r14d", "r15d"],
  w: ["ax", "cx", "dx", "bx", "sp", "bp", "si", "di", "r8w", "r9w", "r10w", "r11w", "r12w", "r13w", "r14w", "r15w"],
  b: ["al", "cl", "dl", "bl", "spl", "bpl", "sil", "dil", "r8b", "r9b", "r10b", "r11b", "r12b", "r13b", "r14b", "r15b"],
};
const CC = ["o", "no", "b", "ae", "e", "ne", "be", "a", "s", "ns", "p", "np", "l", "ge", "le", "g"];
const size = fc.constantFrom<Sz>("b", "w", "l", "q");
const wide = fc.constantFrom<Sz>("w", "l", "q");
const reg = (s: Sz) => fc.constantFrom(...REGS[s]).map((r) => `%${r}`);
const hexs = (v: bigint) => (v < 0n ? `-0x${(-v).toString(16)}` : `0x${v.toString(16)}`);
const disp = fc.oneof(fc.constant(0n), fc.bigInt(-128n, 127n), fc.bigInt(-(2n ** 31n), 2n ** 31n - 1n));
/** A memory operand: every base (rsp/rbp/r12/r13 need SIB or a displacement), index, scale, gs. */
const mem = fc
  .tuple(disp, fc.option(reg("q"), { nil: undefined }), fc.option(fc.constantFrom(...REGS.q.filter((r) => r !== "rsp")), { nil: undefined }), fc.constantFrom(1, 2, 4, 8), fc.boolean())
  .map(([d, base, index, scale, gs]) => {
    const inner = base || index ? `(${base ?? ""}${index ? `,%${index},${scale}` : ""})` : "";
    return `${gs ? "%gs:" : ""}${d !== 0n || !inner ? hexs(d) : ""}${inner}`;
  });
const IMM: Record<Sz, [bigint, bigint]> = { b: [-128n, 255n], w: [-32768n, 65535n], l: [-(2n ** 31n), 2n ** 32n - 1n], q: [-(2n ** 31n), 2n ** 31n - 1n] };
const imm = (s: Sz) => fc.oneof(fc.bigInt(-128n, 127n), fc.bigInt(...IMM[s])).map((v) => `$${hexs(v)}`);
const rm = (s: Sz) => fc.oneof(reg(s), mem);

/** One AT&T statement of the set the JIT uses (jumps get a label, `L<n>`, placed later). */
const statement: fc.Arbitrary<string> = fc.oneof(
  // ALU and mov in every direction; test has no memory-source form, so its memory operand goes second.
  size.chain((s) => fc.tuple(fc.constantFrom("add", "or", "adc", "sbb", "and", "sub", "xor", "cmp", "mov", "test"), fc.oneof(fc.tuple(reg(s), rm(s)), fc.tuple(mem, reg(s)), fc.tuple(imm(s), rm(s)))).map(([op, [a, b]]) => (op === "test" && !a.startsWith("%") && !a.startsWith("$") ? `${op}${s} ${b}, ${a}` : `${op}${s} ${a}, ${b}`))),
  fc.tuple(fc.bigInt(-(2n ** 63n), 2n ** 63n - 1n), reg("q")).map(([v, r]) => `movabsq $${hexs(v)}, ${r}`),
  fc.tuple(fc.constantFrom("movzbw", "movzbl", "movzbq", "movsbw", "movsbl", "movsbq"), fc.oneof(reg("b"), mem)).chain(([op, src]) => reg(op.endsWith("w") ? "w" : op.endsWith("l") ? "l" : "q").map((d) => `${op} ${src}, ${d}`)),
  fc.tuple(fc.constantFrom("movzwl", "movzwq", "movswl", "movswq"), fc.oneof(reg("w"), mem)).chain(([op, src]) => reg(op.endsWith("l") ? "l" : "q").map((d) => `${op} ${src}, ${d}`)),
  fc.tuple(fc.oneof(reg("l"), mem), reg("q")).map(([s, d]) => `movslq ${s}, ${d}`),
  size.chain((s) => fc.tuple(fc.constantFrom("neg", "not", "mul", "imul", "div", "idiv", "inc", "dec"), rm(s)).map(([op, a]) => `${op}${s} ${a}`)),
  wide.chain((s) => fc.tuple(rm(s), reg(s)).map(([a, b]) => `imul${s} ${a}, ${b}`)),
  wide.chain((s) => fc.tuple(imm(s), rm(s), reg(s)).map(([i, a, b]) => `imul${s} ${i}, ${a}, ${b}`)),
  size.chain((s) => fc.tuple(fc.constantFrom("rol", "ror", "rcl", "rcr", "shl", "shr", "sar"), fc.oneof(fc.integer({ min: 0, max: 255 }).map((n) => `$0x${n.toString(16)}, `), fc.constant("%cl, "), fc.constant("")), rm(s)).map(([op, by, a]) => `${op}${s} ${by}${a}`)),
  fc.tuple(fc.constantFrom("shlx", "shrx", "sarx"), fc.constantFrom<Sz>("l", "q")).chain(([op, s]) => fc.tuple(reg(s), rm(s), reg(s)).map(([a, b, c]) => `${op}${s} ${a}, ${b}, ${c}`)),
  fc.constantFrom<Sz>("l", "q").chain((s) => reg(s).map((r) => `bswap${s} ${r}`)),
  wide.chain((s) => fc.tuple(mem, reg(s)).map(([m, r]) => `lea${s} ${m}, ${r}`)),
  fc.tuple(fc.constantFrom("pushq", "popq"), fc.oneof(reg("q"), mem)).map(([op, a]) => `${op} ${a}`),
  fc.oneof(fc.bigInt(-128n, 127n), fc.bigInt(-(2n ** 31n), 2n ** 31n - 1n)).map((v) => `pushq $${hexs(v)}`),
  wide.chain((s) => fc.tuple(fc.constantFrom(...CC), rm(s), reg(s)).map(([cc, a, b]) => `cmov${cc}${s} ${a}, ${b}`)),
  fc.tuple(fc.constantFrom(...CC), rm("b")).map(([cc, a]) => `set${cc} ${a}`),
  size.chain((s) => fc.tuple(fc.constantFrom("xchg", "xadd", "cmpxchg", "lock xadd", "lock cmpxchg", "lock add", "lock and", "lock or", "lock xor"), reg(s), mem).map(([op, r, m]) => `${op}${s} ${r}, ${m}`)),
  size.chain((s) => fc.tuple(reg(s), reg(s)).map(([a, b]) => `xchg${s} ${a}, ${b}`)),
  fc.tuple(fc.constantFrom("callq", "jmpq"), fc.oneof(reg("q"), mem)).map(([op, a]) => `${op} *${a}`),
  fc.tuple(fc.constantFrom("nopw", "nopl"), mem).map(([op, m]) => `${op} ${m}`),
  fc.constantFrom("retq", "leave", "int3", "nop", "cltq", "cqto", "cltd", "cwtl", "endbr64", "lfence", "mfence", "sfence", "pause", "ud2", "retq $0x8"),
  fc.tuple(fc.constantFrom("jmp", "callq", ...CC.map((c) => `j${c}`)), fc.nat(1000)).map(([op, n]) => `${op} L${n}`),
);

/** Statements with the labels their jumps name, spread over the program (so rel8 and rel32 both occur). */
const program = fc.array(statement, { minLength: 1, maxLength: 300 }).map((stmts) => {
  const labels = new Set([...stmts.join("\n").matchAll(/\bL(\d+)\b/g)].map((m) => Number(m[1])));
  const out: string[] = [];
  stmts.forEach((s, i) => {
    for (const l of labels) if (l % stmts.length === i) out.push(`L${l}:`);
    out.push(s);
  });
  for (const l of labels) if (l % stmts.length >= stmts.length || !out.includes(`L${l}:`)) out.push(`L${l}:`);
  return out.join("\n");
});

describe.skipIf(!hasX86Llvm)("x86-64 decoder = llvm-objdump-19 -d --no-show-raw-insn", () => {
  it("prints what the BPF JIT emits as llvm does", () => {
    // prologue (endbr64, patchable nops), movabs of a map address, atomics, div, BMI2, bswap, ret thunk
    const asm = [
      "endbr64", "nopl (%rax,%rax)", "nopl (%rax)", "pushq %rbp", "movq %rsp, %rbp", "subq $0x10, %rsp", "pushq %rbx", "pushq %r13",
      "movabsq $-0x36fffee72000, %rdx", "movq 0x8(%rdi), %rsi", "movl %ecx, -0x4(%rbp)", "addq %rsi, %gs:0x1000",
      "lock addq %rsi, (%rdi)", "lock xaddq %rax, 0x10(%rdi)", "lock cmpxchgq %rcx, (%r12)", "xchgq %rax, (%rdi)",
      "xorl %edx, %edx", "divq %r11", "cqto", "idivq %rcx", "shrxq %rdx, %rsi, %rsi", "sarxl %ecx, %eax, %eax", "rorw $0x8, %di", "bswapq %rax",
      "movzbq 0x5(%rdi), %rdi", "movswq (%rsi), %rax", "movslq %eax, %rax", "shll %eax", "imull $-0x1, %eax, %eax",
      "cmpl $0x68, %edi", "jne 1f", "movl $0xffffffff, %eax", "1:", "leave", "retq", "int3",
    ].join("\n");
    const { bytes, lines } = llvmX86Assemble(asm);
    expect(listing(bytes)).toEqual(lines);
    expect(lines.filter((l) => l.includes("movabsq"))).toEqual([expect.stringMatching(/:      \tmovabsq\t\$-0x36fffee72000, %rdx  # imm = 0xFFFFC9000118E000$/)]);
  });

  it("random instructions of the supported set, as llvm-mc assembles them", () => {
    fc.assert(
      fc.property(program, (asm) => {
        const { bytes, lines } = llvmX86Assemble(asm);
        expect(listing(bytes)).toEqual(lines);
      }),
      { numRuns: 25 },
    );
  });

  it("every encoding the decoder accepts has the length llvm gives it (random bytes)", () => {
    // Where both decode an instruction they must agree; llvm's <unknown> is not compared (llvm
    // may skip several bytes where this decoder skips one).
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (bytes) => {
        const ours = decodeX86(bytes);
        const first = ours[0];
        if (first.mnemonic === "<unknown>" || first.length > 15) return;
        const theirs = llvmX86Bytes(bytes)[0];
        expect(formatX86Line(first)).toBe(theirs);
      }),
      { numRuns: 40 },
    );
  });
});

describe("x86-64 decoder without llvm", () => {
  it("names a byte it does not know <unknown> and goes on", () => {
    const out = decodeX86(Uint8Array.from([0x0f, 0x05, 0xc3, 0x48]));
    expect(out.map((i) => [i.offset, i.length, i.mnemonic])).toEqual([[0, 1, "<unknown>"], [1, 1, "<unknown>"], [2, 1, "retq"], [3, 1, "<unknown>"]]);
  });

  it("gives relative targets from the address asked for", () => {
    const [call] = decodeX86(Uint8Array.from([0xe8, 0xfb, 0xff, 0xff, 0xff]), { address: 0x1000n });
    expect(call).toMatchObject({ mnemonic: "callq", target: 0x1000n, operands: "0x1000" });
    expect(decodeX86(Uint8Array.from([0xe8, 0, 0, 0, 0x80]))[0].operands).toBe("0xffffffff80000005");
  });
});
