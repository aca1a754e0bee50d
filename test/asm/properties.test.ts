import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { assemble } from "../../src/asm/assembler.js";
import { decodeInstructions, encodeInstructions } from "../../src/asm/encoding.js";
import { formatInstruction } from "../../src/asm/format.js";
import { disassemble } from "../../src/asm/disassemble.js";
import { instructionProblem } from "../../src/asm/validate.js";
import { isParseError } from "../../src/errors.js";
import { instruction } from "./arbitrary.js";
import { hasLlvmMc, llvmDisassemble } from "./llvm.js";

const orders = ["little", "big"] as const;

describe("asm properties", () => {
  it("the arbitrary generates only valid instructions", () => {
    fc.assert(fc.property(instruction, (i) => instructionProblem(i) === undefined), { numRuns: 2000 });
  });

  it.each(orders)("decode(encode(list)) = list (%s-endian)", (order) => {
    fc.assert(
      fc.property(fc.array(instruction, { maxLength: 40 }), (list) => {
        expect(decodeInstructions(encodeInstructions(list, order), order)).toEqual(list);
      }),
      { numRuns: 500 },
    );
  });

  it.each(orders)("encode(decode(bytes)) = bytes for every byte string the decoder accepts (%s-endian)", (order) => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 96 }), (bytes) => {
        let decoded;
        try {
          decoded = decodeInstructions(bytes, order);
        } catch (e) {
          // Any byte string ends in instructions or a typed error, never another exception.
          expect(isParseError(e)).toBe(true);
          expect((e as { offset: number }).offset).toBeGreaterThanOrEqual(0);
          return;
        }
        expect(encodeInstructions(decoded, order)).toEqual(bytes);
      }),
      { numRuns: 5000 },
    );
  });

  it("arbitrary bytes built from valid opcodes with random fields decode or fail with ParseError", () => {
    const slot = fc.tuple(instruction, fc.uint8Array({ minLength: 8, maxLength: 8 }), fc.integer({ min: 0, max: 7 })).map(([i, noise, k]) => {
      const b = encodeInstructions([i]).slice(0, 8);
      b[k] = noise[k];
      return b;
    });
    fc.assert(
      fc.property(fc.array(slot, { maxLength: 10 }), fc.constantFrom(...orders), (slots, order) => {
        const bytes = new Uint8Array(slots.length * 8);
        slots.forEach((s, k) => bytes.set(s, k * 8));
        try {
          const list = decodeInstructions(bytes, order);
          for (const i of list) expect(instructionProblem(i)).toBeUndefined();
        } catch (e) {
          expect(isParseError(e)).toBe(true);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it.each(orders)("parse(print(i)) = i in the tsbpf dialect, decoded from %s-endian bytes", (order) => {
    fc.assert(
      fc.property(fc.array(instruction, { minLength: 1, maxLength: 20 }), fc.boolean(), (list, alu32) => {
        const decoded = decodeInstructions(encodeInstructions(list, order), order);
        const text = decoded.map((i) => formatInstruction(i, { dialect: "tsbpf", alu32 })).join("\n");
        expect(assemble(text)).toEqual(list);
      }),
      { numRuns: 1000 },
    );
  });

  it("parse(print(i)) = i in the llvm dialect wherever LLVM 19's text is lossless", () => {
    fc.assert(
      fc.property(instruction, (i) => {
        const text = formatInstruction(i);
        const tsbpf = formatInstruction(i, { dialect: "tsbpf" });
        // Where the dialects agree, llvm's text alone identifies the instruction.
        fc.pre(text === tsbpf);
        expect(assemble(text)).toEqual([i]);
      }),
      { numRuns: 3000 },
    );
  });
});

describe.skipIf(!hasLlvmMc)("llvm-objdump-19 oracle on arbitrary instructions", () => {
  // Thousands of random valid instructions, assembled into one object per byte order and
  // option set: each line llvm-objdump-19 prints must equal formatInstruction's text.
  it.each([
    ["little", false],
    ["big", false],
    ["little", true],
    ["big", true],
  ] as const)("prints what llvm-objdump-19 prints (%s-endian, alu32 %s)", (order, alu32) => {
    const list = fc.sample(instruction, { numRuns: 4000 });
    const lines = llvmDisassemble(encodeInstructions(list, order), order, alu32 ? ["--mattr=+alu32"] : []);
    expect(lines.length).toBe(list.length);
    let slot = 0;
    const mismatches: string[] = [];
    list.forEach((insn, k) => {
      const mine = formatInstruction(insn, { alu32 });
      if (lines[k].slot !== slot || lines[k].text !== mine) {
        mismatches.push(`slot ${slot}: llvm "${lines[k].text}" (slot ${lines[k].slot}), tsbpf "${mine}"`);
      }
      slot += insn.opcode === 0x18 ? 2 : 1;
    });
    expect(mismatches.slice(0, 10)).toEqual([]);
  });
});

describe("assembler robustness", () => {
  const isOk = (text: string): boolean => {
    try {
      assemble(text);
      return true;
    } catch (e) {
      // Any text ends in instructions or a ParseError with a position, never another exception.
      expect(isParseError(e)).toBe(true);
      expect((e as { line: number }).line).toBeGreaterThanOrEqual(1);
      expect((e as { column: number }).column).toBeGreaterThanOrEqual(1);
      return false;
    }
  };

  it("any string assembles or throws ParseError with line and column", () => {
    fc.assert(fc.property(fc.string({ maxLength: 200 }), (s) => void isOk(s)), { numRuns: 3000 });
  });

  it("mutated listings assemble or throw ParseError", () => {
    const listing = fc.array(instruction, { minLength: 1, maxLength: 8 }).map((l) => l.map((i) => formatInstruction(i, { dialect: "tsbpf" })).join("\n"));
    fc.assert(
      fc.property(listing, fc.nat(), fc.string({ maxLength: 3 }), fc.nat({ max: 3 }), (text, at, insert, cut) => {
        const k = at % (text.length + 1);
        isOk(text.slice(0, k) + insert + text.slice(k + cut));
      }),
      { numRuns: 3000 },
    );
  });

  it("assembles a 100,000-line program (tokenizing is linear)", () => {
    const text = Array.from({ length: 100_000 }, (_, k) => `r${k % 10} += 0x${k.toString(16)}`).join("\n");
    expect(assemble(text).length).toBe(100_000);
  });
});

describe("listing round trip", () => {
  it("assemble(disassemble(list, tsbpf)) = list, labels included", () => {
    const labelled = fc.array(fc.tuple(instruction, fc.boolean()), { minLength: 1, maxLength: 30 }).map((items) =>
      items.map(([insn, named], k) => (named || k === 0 ? { ...insn, symbol: `sym_${k}` } : insn)),
    );
    fc.assert(
      fc.property(labelled, fc.boolean(), (list, helpers) => {
        expect(assemble(disassemble(list, { dialect: "tsbpf", helpers }))).toEqual(list);
      }),
      { numRuns: 500 },
    );
  });
});
