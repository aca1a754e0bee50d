import { describe, expect, it } from "vitest";
import * as b from "../../src/asm/builder.js";
import { R0, R1, R2, R10 } from "../../src/asm/builder.js";
import type { Instruction } from "../../src/asm/instruction.js";
import * as op from "../../src/asm/opcodes.js";
import { instructionProblem } from "../../src/asm/validate.js";

const every: Array<[string, Instruction]> = [
  ...(["add", "sub", "mul", "div", "sdiv", "or", "and", "lsh", "rsh", "mod", "smod", "xor", "mov", "arsh"] as const).flatMap(
    (name) =>
      ([64, 32] as const).flatMap((w) => {
        const f = b[`${name}${w}`] as (d: b.Reg, s: b.Operand) => Instruction;
        return [[`${name}${w} imm`, f(R1, -3)], [`${name}${w} reg`, f(R1, R2)]] as Array<[string, Instruction]>;
      }),
  ),
  ["neg64", b.neg64(R1)], ["neg32", b.neg32(R1)], ["movsx64", b.movsx64(R1, R2, 32)], ["movsx32", b.movsx32(R1, R2, 16)],
  ["addrSpaceCast", b.addrSpaceCast(R1, R2, 1, 0)], ["be", b.be(16, R1)], ["le", b.le(64, R1)], ["bswap", b.bswap(32, R1)],
  ["ldx", b.ldx("u8", R1, R2, -1)], ["ldxsx", b.ldxsx("u32", R1, R2, 4)], ["stx", b.stx("u16", R10, R1, -2)],
  ["st", b.st("u64", R10, -8, 5)], ["ldAbs", b.ldAbs("u16", 12)], ["ldInd", b.ldInd("u32", R2, 4)],
  ...(["add", "or", "and", "xor", "fetch_add", "fetch_or", "fetch_and", "fetch_xor", "xchg", "cmpxchg"] as const).map(
    (a) => [`atomic ${a}`, b.atomic(a, "u32", R1, R2, 8)] as [string, Instruction],
  ),
  ["loadAcquire", b.loadAcquire("u8", R1, R2, 0)], ["storeRelease", b.storeRelease("u16", R1, R2, 0)],
  ["ldImm64", b.ldImm64(R1, -1n)], ["ldMapFd", b.ldMapFd(R1, 3)], ["ldMapValue", b.ldMapValue(R1, 3, 16)],
  ["ldMapIdx", b.ldMapIdx(R1, 0)], ["ldMapIdxValue", b.ldMapIdxValue(R1, 1, 8)], ["ldBtfId", b.ldBtfId(R1, 77)],
  ["ldFunc", b.ldFunc(R1, 4)], ["ja", b.ja(-1)], ["gotol", b.gotol(100000)], ["mayGoto", b.mayGoto(2)],
  ["call", b.call("ktime_get_ns")], ["callFunction", b.callFunction(3)], ["callKfunc", b.callKfunc(1234, 1)], ["exit", b.exit()],
  ...(["jeq", "jne", "jgt", "jge", "jlt", "jle", "jsgt", "jsge", "jslt", "jsle", "jset"] as const).flatMap((c) =>
    ["", "32"].map((w) => [`${c}${w}`, (b[`${c}${w}` as "jeq"])(R1, 7, 2)] as [string, Instruction]),
  ),
];

describe("builder", () => {
  it.each(every)("%s builds a valid instruction", (_name, insn) => {
    expect(instructionProblem(insn)).toBeUndefined();
  });

  it("encodes the fields each kind needs", () => {
    expect(b.sdiv64(R1, R2)).toEqual({ opcode: op.BPF_ALU64 | op.BPF_DIV | op.BPF_X, dst: 1, src: 2, offset: 1, imm: 0 });
    expect(b.gotol(100000)).toEqual({ opcode: op.BPF_JMP32 | op.BPF_JA, dst: 0, src: 0, offset: 0, imm: 100000 });
    expect(b.ldMapValue(R1, 3, 16).imm).toBe((16n << 32n) | 3n);
    expect(b.ldMapValue(R1, "data", 16)).toMatchObject({ src: op.BPF_PSEUDO_MAP_VALUE, reference: { kind: "map", name: "data", value: true, offset: 16 } });
    expect(b.callKfunc("bpf_task_release")).toMatchObject({ src: op.BPF_PSEUDO_KFUNC_CALL, reference: { kind: "ksym", name: "bpf_task_release" } });
    expect(b.mov32(R0, 0xffffffff).imm).toBe(-1);
    expect(b.jeq32(R0, 0xffffffff, 0).imm).toBe(-1);
  });

  it.each([
    ["a register that is not one", () => b.mov64("r11" as b.Reg, 0), TypeError],
    ["an immediate beyond 32 bits", () => b.add64(R1, 2 ** 32), RangeError],
    ["an unsigned 32-bit immediate in a 64-bit operation", () => b.mov64(R1, 0xffffffff), RangeError],
    ["an unsigned 32-bit immediate in a 64-bit compare", () => b.jeq(R1, 0x80000000, 1), RangeError],
    ["a fractional immediate", () => b.add64(R1, 1.5), RangeError],
    ["an offset beyond 16 bits", () => b.ldx("u32", R1, R2, 0x8000), RangeError],
    ["an unknown size", () => b.ldx("u128" as "u64", R1, R2, 0), TypeError],
    ["an unknown helper", () => b.call("no_such_helper"), TypeError],
    ["a 16-bit atomic add", () => b.atomic("add", "u16", R1, R2, 0), RangeError],
    ["a bad movsx width", () => b.movsx32(R1, R2, 32 as 16), RangeError],
    ["a bad swap width", () => b.bswap(8 as 16, R1), RangeError],
    ["an unsafe ld_imm64 number", () => b.ldImm64(R1, 2 ** 60), RangeError],
    ["an ld_imm64 beyond 64 bits", () => b.ldImm64(R1, 1n << 64n), RangeError],
    ["a same-space addr_space_cast", () => b.addrSpaceCast(R1, R2, 1, 1), RangeError],
    ["an empty label", () => b.label(""), TypeError],
    ["a label defined twice", () => b.instructions(b.label("a"), b.exit(), b.label("a"), b.exit()), TypeError],
  ])("rejects %s", (_name, f, type) => {
    expect(f).toThrow(type);
  });

  it("instructions() copies, flattens nested lists and merges labels on one instruction", () => {
    const e = b.exit();
    const list = b.instructions([b.ja("b"), [b.label("a"), b.label("b")]], e);
    expect(list[1]).not.toBe(e);
    expect(e.symbol).toBeUndefined();
    expect(list[1].symbol).toBe("a");
    expect(list[0].reference).toEqual({ kind: "symbol", name: "a" });
  });
});
