/**
 * Golden tests against llvm-objdump-19 over every object in bpf/ (the asm fixtures in bpf/asm/
 * and whatever the other layers add): the whole `tsbpf disasm` listing must be identical, and
 * every code section must survive decode → tsbpf text → assemble → encode byte for byte.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { assemble } from "../../src/asm/assembler.js";
import { decodeInstructions, encodeInstructions } from "../../src/asm/encoding.js";
import { formatInstruction } from "../../src/asm/format.js";
import { disassembleObject } from "../../src/cli/disasm.js";
import { parseElf, SHF, SHT } from "../../src/elf/elf-file.js";
import { hasObjdump, instructionLines, objdump } from "./llvm.js";

const root = join(import.meta.dirname, "../..");

function objects(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? objects(join(dir, e.name)) : e.name.endsWith(".o") ? [join(dir, e.name)] : [],
  );
}

const files = objects(join(root, "bpf")).map((f) => relative(root, f)).sort();

describe("bpf/ fixtures", () => {
  it("include the asm fixtures", () => {
    expect(files).toEqual(expect.arrayContaining(["bpf/asm/alu_jmp.o", "bpf/asm/memory.o", "bpf/asm/v4.o"]));
  });

  it.each(files)("%s: code sections round-trip through the tsbpf text", (file) => {
    const elf = parseElf(readFileSync(join(root, file)));
    for (const s of elf.sections) {
      if (!(s.flags & SHF.EXECINSTR) || s.type === SHT.NOBITS || s.size === 0) continue;
      const insns = decodeInstructions(s.data, elf.byteOrder);
      const text = insns.map((i) => formatInstruction(i, { dialect: "tsbpf" })).join("\n");
      expect(encodeInstructions(assemble(text), elf.byteOrder), `${file} ${s.name}`).toEqual(new Uint8Array(s.data));
    }
  });
});

describe.skipIf(!hasObjdump)("golden: tsbpf disasm = llvm-objdump-19 -d --no-show-raw-insn", () => {
  it.each(files)("%s", (file) => {
    const expected = objdump(file, [], root);
    const actual = disassembleObject(readFileSync(join(root, file)), { fileName: file });
    // Compare instruction by instruction first, for a readable failure, then the whole layout.
    const mine = instructionLines(actual);
    const theirs = instructionLines(expected);
    expect(mine.length).toBe(theirs.length);
    const diffs = theirs.filter((l, k) => l.slot !== mine[k].slot || l.text !== mine[k].text || l.annotation !== mine[k].annotation);
    expect(diffs.map((l) => `${l.slot}: ${l.text} ${l.annotation ?? ""}`)).toEqual([]);
    expect(actual).toBe(expected);
  }, 30_000);

  it.each(files)("%s with --mattr=+alu32", (file) => {
    const expected = objdump(file, ["--mattr=+alu32"], root);
    expect(disassembleObject(readFileSync(join(root, file)), { fileName: file, alu32: true })).toBe(expected);
  }, 30_000);

  it("restricts the listing to --section like llvm-objdump", () => {
    const file = "bpf/asm/memory.o";
    const expected = objdump(file, ["--section=socket"], root);
    expect(disassembleObject(readFileSync(join(root, file)), { fileName: file, sections: ["socket"] })).toBe(expected);
  });
});
