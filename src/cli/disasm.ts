/**
 * `tsbpf disasm <object.o> [--section NAME]`: prints the code sections of a BPF object in the
 * layout of `llvm-objdump -d --no-show-raw-insn` (same headers, symbol labels, instruction
 * numbers and text). Needs only the ELF section table and symbols; `--source` also reads
 * `.BTF`/`.BTF.ext` for line info. `--json` prints the same rows as data (`listingJson`).
 */
import { readFileSync } from "node:fs";
import { decodeForListing, listingRows, printListing, type ListingRow, type ListingSymbol } from "../asm/disassemble.js";
import { parseBtfExt, type BtfLineInfo } from "../btf/ext.js";
import { parseBtf } from "../btf/spec.js";
import type { Instruction } from "../asm/instruction.js";
import { EM, type ElfFile, type ElfSection, type ElfSymbol, parseElf, SHF, SHT, STT } from "../elf/elf-file.js";
import { ParseError, TsbpfError } from "../errors.js";
import { arg, flag, noMoreArgs, str, UsageError, type Command } from "./command.js";

/** Options of `disassembleObject`. */
export interface DisassembleObjectOptions {
  /** Only these sections (by name), like llvm-objdump's `--section`. */
  sections?: readonly string[];
  /** Append helper names to helper calls (`; bpf_map_lookup_elem`). */
  helpers?: boolean;
  /** Append the symbol each relocation points at (maps, globals, kfuncs, subprograms). */
  maps?: boolean;
  /** Print source lines from BTF line info above their instructions. */
  source?: boolean;
  /** The lossless tsbpf dialect instead of exactly llvm-objdump-19's text. */
  tsbpf?: boolean;
  /** `w` registers for 32-bit memory operations, as `llvm-objdump --mattr=+alu32`. */
  alu32?: boolean;
  /** The file name printed in the first line (default "object"). */
  fileName?: string;
}

function sectionSymbols(elf: ElfFile, section: ElfSection): ListingSymbol[] {
  // llvm-objdump labels code with every named symbol of the section except section and file symbols.
  return elf.symbols
    .filter((s) => s.sectionIndex === section.index && s.type !== STT.SECTION && s.type !== STT.FILE && s.name !== "")
    .map((s) => ({ name: s.name, address: s.value }));
}

/**
 * What a relocation points at, for the annotation: the symbol's name, or for a section symbol
 * (static functions, .rodata/.data) the function at the call's target or `section+0xoff`.
 */
function relocationTarget(elf: ElfFile, sym: ElfSymbol, addend: number, insn: Instruction | undefined): string {
  if (sym.type !== STT.SECTION) return addend ? `${sym.name}+0x${addend.toString(16)}` : sym.name;
  const sec = elf.sections[sym.sectionIndex];
  const name = sec?.name ?? "";
  if (!insn) return name;
  // clang encodes the offset into the section in the instruction: a call's imm counts slots
  // from the section start minus one; an ld_imm64 carries the byte offset.
  const isCall = (insn.opcode & 0x07) === 0x05 && (insn.opcode & 0xf0) === 0x80;
  const offset = isCall ? ((insn.imm as number) + 1) * 8 : Number(BigInt.asUintN(32, BigInt(insn.imm))) + addend;
  if (isCall) {
    const fn = elf.symbols.find((s) => s.sectionIndex === sym.sectionIndex && s.value === offset && s.type === STT.FUNC);
    if (fn) return fn.name;
  }
  return offset ? `${name}+0x${offset.toString(16)}` : name;
}

function lineInfo(elf: ElfFile): Map<string, BtfLineInfo[]> | undefined {
  const btf = elf.sectionByName(".BTF");
  const ext = elf.sectionByName(".BTF.ext");
  if (!btf || !ext) return undefined;
  return parseBtfExt(ext.data, parseBtf(btf.data)).lineInfo;
}

/** The listing of one code section, as rows (see `listingRows`). */
export interface SectionListing {
  readonly section: string;
  readonly rows: readonly ListingRow[];
}

/**
 * The listing of every code section (SHF_EXECINSTR, non-empty) of a BPF ELF object, section
 * by section. Throws ParseError for a malformed or non-BPF ELF file.
 */
export function objectListing(bytes: Uint8Array, options: DisassembleObjectOptions = {}): SectionListing[] {
  const elf = parseElf(bytes);
  if (elf.machine !== EM.BPF || elf.class !== 64) {
    throw new ParseError(`disasm: ${options.fileName ?? "object"} is not a 64-bit BPF ELF object (e_machine ${elf.machine})`);
  }
  const out: SectionListing[] = [];
  const lines = options.source ? lineInfo(elf) : undefined;
  for (const section of elf.sections) {
    if (!(section.flags & SHF.EXECINSTR) || section.type === SHT.NOBITS || section.size === 0) continue;
    if (options.sections && !options.sections.includes(section.name)) continue;
    const slots = decodeForListing(section.data, elf.byteOrder);
    const byLine = new Map((lines?.get(section.name) ?? []).map((l) => [l.insn, l]));
    let current: BtfLineInfo | undefined;
    const withSource = slots.map((s) => {
      current = byLine.get(s.slot) ?? current;
      return s.insn && current ? { slot: s.slot, insn: { ...s.insn, source: current } } : s;
    });
    const annotations = new Map<number, string>();
    if (options.maps) {
      const insnAt = new Map(slots.map((x) => [x.slot, x.insn]));
      for (const r of elf.relocations(section)) {
        annotations.set(r.offset / 8, relocationTarget(elf, r.symbol, r.addend, insnAt.get(r.offset / 8)));
      }
    }
    out.push({
      section: section.name,
      rows: listingRows(withSource, {
        symbols: sectionSymbols(elf, section),
        sectionName: section.name,
        dialect: options.tsbpf ? "tsbpf" : "llvm-objdump-19",
        alu32: options.alu32,
        helpers: options.helpers,
        maps: options.maps,
        annotations,
        source: options.source,
      }),
    });
  }
  return out;
}

/**
 * Disassembles every code section (SHF_EXECINSTR, non-empty) of a BPF ELF object into
 * llvm-objdump's layout. Throws ParseError for a malformed or non-BPF ELF file.
 */
export function disassembleObject(bytes: Uint8Array, options: DisassembleObjectOptions = {}): string {
  const out: string[] = ["", `${options.fileName ?? "object"}:\tfile format elf64-bpf`];
  for (const { section, rows } of objectListing(bytes, options)) {
    out.push("", `Disassembly of section ${section}:`, "", printListing(rows));
  }
  return `${out.join("\n")}\n`;
}

/** One instruction in `tsbpf disasm --json`: `prog dump xlated --json`'s fields, plus the symbol it starts. */
export interface JsonInsn {
  /** The symbol (function) that starts at this instruction, as the text's `<name>:` header. */
  sym?: string;
  /** The source line above it (with --source), as bpftool's "src". */
  src?: string;
  /** The instruction's text, annotations included. */
  disasm: string;
  /** Its slot number in the section. */
  pc: number;
}

/** The `--json` document: one entry per code section, its instructions in order. */
export function listingJson(sections: readonly SectionListing[]): { section: string; insns: JsonInsn[] }[] {
  return sections.map(({ section, rows }) => {
    const insns: JsonInsn[] = [];
    let sym: string | undefined;
    let src: string | undefined;
    for (const row of rows) {
      if (row.kind === "symbol") sym = row.name;
      else if (row.kind === "source") src = row.text;
      else {
        insns.push({ ...(sym !== undefined ? { sym } : {}), ...(src !== undefined ? { src } : {}), disasm: row.text, pc: row.slot });
        sym = src = undefined;
      }
    }
    return { section, insns };
  });
}

/** The `disasm` command. */
export const command: Command = {
  summary: "disassemble a BPF object as llvm-objdump -d --no-show-raw-insn does",
  args: "<object.o>",
  description:
    "Prints the code sections of a BPF object in llvm-objdump's layout: same headers, symbol labels,\ninstruction numbers and text. " +
    'With --json: [{"section", "insns": [{"sym"?, "src"?, "disasm", "pc"}]}], one entry per\ncode section, each instruction as `prog dump xlated --json` prints it ("sym": the symbol it\nstarts; -j is --section here, so JSON takes the long --json or --pretty).',
  options: {
    section: { type: "string", short: "j", multiple: true, value: "NAME", description: "only this section (like llvm-objdump --section)" },
    helpers: { type: "boolean", description: "append helper names to helper calls" },
    maps: { type: "boolean", description: "append the symbol each relocation points at" },
    source: { type: "boolean", description: "print source lines from BTF line info" },
    tsbpf: { type: "boolean", description: "the lossless tsbpf dialect instead of llvm-objdump-19's text" },
    mattr: { type: "string", value: "+alu32", description: "w registers for 32-bit memory operations" },
    alu32: { type: "boolean", description: "same as --mattr=+alu32" },
  },
  examples: ["tsbpf disasm bpf/xdp_tail.o --section xdp --helpers"],
  run(ctx) {
    const file = arg(ctx, 0, "<object.o>");
    noMoreArgs(ctx, 1);
    const mattr = str(ctx, "mattr");
    if (mattr !== undefined && mattr !== "+alu32") throw new UsageError(`--mattr takes +alu32, not "${mattr}"`);
    const sections = ctx.options.section as string[] | undefined;
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(file);
    } catch (e) {
      throw new TsbpfError(`cannot read ${file}: ${(e as Error).message}`);
    }
    const options: DisassembleObjectOptions = {
      helpers: flag(ctx, "helpers"),
      maps: flag(ctx, "maps"),
      source: flag(ctx, "source"),
      tsbpf: flag(ctx, "tsbpf"),
      alu32: flag(ctx, "alu32") || mattr === "+alu32",
      sections: sections?.length ? sections : undefined,
      fileName: file,
    };
    if (ctx.json) ctx.printJson(listingJson(objectListing(bytes, options)));
    else ctx.write(disassembleObject(bytes, options));
  },
};
