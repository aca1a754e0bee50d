import { describe, expect, it } from "vitest";
import { isParseError } from "../../src/errors.js";
import { decodeInstructions, encodeInstructions, countSlots } from "../../src/asm/encoding.js";
import { R0, R1, R2, R10, exit, jeq, label, ldImm64, ldMapFd, ldx, mov64, instructions, stx, call } from "../../src/asm/builder.js";

describe("encodeInstructions / decodeInstructions", () => {
  it("encodes the kernel layout (opcode, dst low nibble, off, imm) little-endian", () => {
    const bytes = encodeInstructions([mov64(R0, -2), ldx("u32", R1, R2, 4)]);
    expect([...bytes]).toEqual([0xb7, 0x00, 0, 0, 0xfe, 0xff, 0xff, 0xff, 0x61, 0x21, 4, 0, 0, 0, 0, 0]);
  });

  it("puts dst in the high nibble and fields big-endian for big-endian", () => {
    const bytes = encodeInstructions([ldx("u32", R1, R2, 4)], "big");
    expect([...bytes]).toEqual([0x61, 0x12, 0, 4, 0, 0, 0, 0]);
  });

  it("encodes ld_imm64 as two slots and decodes it back as one signed 64-bit instruction", () => {
    const insn = ldImm64(R1, -0x200000000n);
    const bytes = encodeInstructions([insn]);
    expect(bytes.length).toBe(16);
    expect([...bytes.subarray(4, 8)]).toEqual([0, 0, 0, 0]);
    expect([...bytes.subarray(12, 16)]).toEqual([0xfe, 0xff, 0xff, 0xff]);
    expect(decodeInstructions(bytes)).toEqual([{ opcode: 0x18, dst: 1, src: 0, offset: 0, imm: -0x200000000n }]);
    expect(decodeInstructions(encodeInstructions([insn], "big"), "big")[0].imm).toBe(-0x200000000n);
  });

  it("counts slots the way the kernel counts insn_cnt", () => {
    expect(countSlots([mov64(R0, 0), ldMapFd(R1, "m"), exit()])).toBe(4);
  });

  it("round-trips a small program in both byte orders", () => {
    const insns = [mov64(R0, 0), stx("u64", R10, R1, -8), call("ktime_get_ns"), exit()];
    for (const order of ["little", "big"] as const) {
      expect(decodeInstructions(encodeInstructions(insns, order), order)).toEqual(insns);
    }
  });

  it.each([
    ["a length that is not a multiple of 8", new Uint8Array(12), 8],
    ["a truncated ld_imm64", Uint8Array.from([0x18, 1, 0, 0, 0, 0, 0, 0]), 0],
    ["a bad register", Uint8Array.from([0x95, 0, 0, 0, 0, 0, 0, 0, 0xb7, 0x0b, 0, 0, 0, 0, 0, 0]), 8],
    ["an unknown opcode", Uint8Array.from([0xff, 0, 0, 0, 0, 0, 0, 0]), 0],
    ["a non-zero second ld_imm64 slot", Uint8Array.from([0x18, 1, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]), 8],
  ])("throws ParseError with the byte offset for %s", (_name, bytes, offset) => {
    let err: unknown;
    try {
      decodeInstructions(bytes);
    } catch (e) {
      err = e;
    }
    expect(isParseError(err)).toBe(true);
    expect((err as { offset: number }).offset).toBe(offset);
  });

  it("instructions() attaches labels as symbols of the next instruction", () => {
    const list = instructions(jeq(R1, 0, "out"), mov64(R0, 1), label("out"), label("alias"), exit());
    expect(list[2].symbol).toBe("out");
    expect(list[0].reference).toEqual({ kind: "symbol", name: "out" });
    expect(() => instructions(label("x"))).toThrow(TypeError);
  });
});
