import { describe, expect, it } from "vitest";
import { asm, assemble } from "../../src/asm/assembler.js";
import * as b from "../../src/asm/builder.js";
import { R0, R1, R2, R10 } from "../../src/asm/builder.js";
import { ParseError } from "../../src/errors.js";

function parseError(f: () => unknown): ParseError {
  try {
    f();
  } catch (e) {
    if (e instanceof ParseError) return e;
    throw e;
  }
  throw new Error("no error");
}

describe("asm text syntax", () => {
  it("parses the statements llvm-objdump prints into the builder's instructions", () => {
    const insns = assemble(`
      r0 = 0x0
      r1 = *(u32 *)(r1 + 0x4)
      if r1 == 0x0 goto +0x3 <LBB0_2>
      call 0x1
      lock *(u64 *)(r1 + 0x0) += r2
      r1 = 0x0 ll
      w0 = w1
      *(u64 *)(r10 - 0x8) = r1
      r0 = bswap16 r0
      r2 = (s8)r1
      exit
    `);
    expect(insns).toEqual([
      b.mov64(R0, 0),
      b.ldx("u32", R1, R1, 4),
      b.jeq(R1, 0, 3),
      b.call("map_lookup_elem"),
      b.atomic("add", "u64", R1, R2, 0),
      b.ldImm64(R1, 0n),
      b.mov32(R0, R1),
      b.stx("u64", R10, R1, -8),
      b.bswap(16, R0),
      b.movsx64(R2, R1, 8),
      b.exit(),
    ]);
  });

  it("turns labels into symbols and named targets into references", () => {
    const insns = asm`
      r0 = 0
      if r1 != 0 goto out
      call my_func
      call bpf_ktime_get_ns
    out:
      exit
    my_func:
      r0 = 1
      exit
    `;
    expect(insns[1].reference).toEqual({ kind: "symbol", name: "out" });
    expect(insns[2]).toMatchObject({ src: 1, imm: -1, reference: { kind: "symbol", name: "my_func" } });
    expect(insns[3]).toEqual(b.call("ktime_get_ns"));
    expect(insns[4].symbol).toBe("out");
    expect(insns[5].symbol).toBe("my_func");
  });

  it("accepts pasted llvm-objdump output with headers and instruction numbers", () => {
    const insns = assemble(`
t.o:\tfile format elf64-bpf

Disassembly of section socket:

0000000000000000 <prog>:
       0:\tr0 = 0x1 ll
       2:\tgoto -0x3 <prog>
       3:\texit
`);
    expect(insns).toEqual([{ ...b.ldImm64(R0, 1n), symbol: "prog" }, b.ja(-3), b.exit()]);
  });

  it("interpolates constants, names, references and instruction lists", () => {
    const body = [b.mov64(R0, 7)];
    const insns = asm`
      r1 = ${-5}
      r2 = ${1n << 40n} ll
      r3 = map(${"counts"}) ll
      r4 = ${{ kind: "map", name: "cfg", value: true, offset: 8 }}
      if r1 > ${10} goto ${"done"}
      ${body}
    done:
      exit
    `;
    expect(insns[0]).toEqual(b.mov64(R1, -5));
    expect(insns[1]).toEqual(b.ldImm64(b.R2, 1n << 40n));
    expect(insns[2]).toEqual(b.ldMapFd(b.R3, "counts"));
    expect(insns[3]).toEqual(b.ldMapValue(b.R4, "cfg", 8));
    expect(insns[4]).toEqual(b.jgt(R1, 10, "done"));
    expect(insns[5]).toEqual(b.mov64(R0, 7));
    expect(body[0].symbol).toBeUndefined();
  });

  it.each([
    ["r1 = *(u32 *)(r1 + )", 1, 20, "expected a 16-bit offset"],
    ["r0 = 0\nif r1 == 0 goto", 2, 16, "expected a jump target"],
    ["r0 = 0\n  r11 = 1", 2, 3, "expected a register r0–r10"],
    ["w1 = 0x1 ll", 1, 1, "expected a 64-bit register"],
    ["exit\nfoo bar", 2, 1, "expected an instruction"],
    ["r1 = 0x100000000", 1, 6, "out of range"],
    ["if r1 ~ 0 goto +1", 1, 7, "unexpected character"],
    ["if w1 == r2 goto +1", 1, 10, "expected a register w0–w10"],
    ["a:\nexit\na:\nexit", 3, 1, "already defined"],
    ["exit\nend:", 2, 5, "expected an instruction after label \"end\""],
    ["r1 = *(u64 *)(r2 + 0x8) extra", 1, 25, "expected end of line"],
  ])("reports %j at line %i, column %i: %s", (text, line, column, what) => {
    const e = parseError(() => assemble(text));
    expect(e.line).toBe(line);
    expect(e.column).toBe(column);
    expect(e.message).toContain(what);
    expect(e.message).toContain(`line ${line}, column ${column}`);
  });
});

describe("asm interpolation of labels", () => {
  it("accepts label() objects as labels", () => {
    const insns = asm`
      goto ${"end"}
      ${b.label("end")} exit
    `;
    expect(insns[1]).toEqual({ ...b.exit(), symbol: "end" });
  });
});
