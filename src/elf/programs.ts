/**
 * Programs from an ELF object: every function of every executable section is decoded, its
 * relocations become symbolic references (maps, global data, externs, subprograms,
 * callbacks), and each program gets the subprograms it calls appended after its own
 * instructions, as libbpf and cilium/ebpf do. References stay symbolic (by name) until load.
 * Pure: no kernel.
 */
import { decodeInstructions } from "../asm/encoding.js";
import type { Instruction, Reference } from "../asm/instruction.js";
import { ParseError } from "../errors.js";
import { SHF, SHN, SHT, STB, STT, type ElfFile, type ElfSection, type ElfSymbol } from "./elf-file.js";

const LD_IMM64 = 0x18;
const CALL = 0x85; // BPF_JMP | BPF_CALL
const PSEUDO_CALL = 1;
const PSEUDO_KFUNC_CALL = 2;
const PSEUDO_FUNC = 4;
const INSN = 8;

/** One function (program or subprogram) of an executable section. */
export interface ElfFunc {
  /** Unique label (the symbol name; `name@section` if two share a name). */
  label: string;
  name: string;
  section: ElfSection;
  /** First slot in the section. */
  startSlot: number;
  slots: number;
  /** Global or weak binding. */
  global: boolean;
  /** Decoded instructions with references filled in (first one labelled). */
  insns: Instruction[];
  /** Labels of functions called or referenced as callbacks. */
  callees: Set<string>;
}

/** How a relocation against a non-code symbol turns into a reference. */
export interface DataResolver {
  /**
   * The reference for an `ld_imm64` whose relocation names `sym` (in `sym.sectionIndex`),
   * with `imm` the instruction's own immediate (low 32 bits). Undefined when not data.
   */
  resolve(sym: ElfSymbol, imm: number, where: string): Reference | undefined;
}

/** Every function of every executable section, with references resolved to names. */
export function readFunctions(elf: ElfFile, data: DataResolver): Map<string, ElfFunc> {
  const funcs = new Map<string, ElfFunc>();
  const bySection = new Map<number, ElfFunc[]>();
  const symbols = elf.symbols;
  const execSections = elf.sections.filter(
    (s) => s.type === SHT.PROGBITS && (s.flags & SHF.EXECINSTR) !== 0 && s.size > 0,
  );

  // 1. Split each executable section into functions by its FUNC symbols.
  const decoded = new Map<number, { insns: Instruction[]; slotToIndex: Int32Array; indexToSlot: Int32Array }>();
  for (const sec of execSections) {
    if (sec.size % INSN !== 0) throw new ParseError(`ELF: section "${sec.name}" size ${sec.size} is not a multiple of 8`, { offset: sec.offset });
    let insns: Instruction[];
    try {
      insns = decodeInstructions(sec.data, elf.byteOrder);
    } catch (e) {
      if (e instanceof ParseError) {
        throw new ParseError(`ELF: section "${sec.name}": ${e.message}`, { offset: sec.offset + (e.offset ?? 0), cause: e });
      }
      throw e;
    }
    const slotCount = sec.size / INSN;
    const slotToIndex = new Int32Array(slotCount).fill(-1);
    const indexToSlot = new Int32Array(insns.length);
    let slot = 0;
    for (let i = 0; i < insns.length; i++) {
      slotToIndex[slot] = i;
      indexToSlot[i] = slot;
      slot += insns[i].opcode === LD_IMM64 ? 2 : 1;
    }
    decoded.set(sec.index, { insns, slotToIndex, indexToSlot });

    const fsyms = symbols
      .filter((s) => s.sectionIndex === sec.index && s.type === STT.FUNC)
      .sort((a, b) => a.value - b.value);
    const list: ElfFunc[] = [];
    if (fsyms.length === 0) {
      // Hand-written code without symbols: the whole section is one function named after it.
      list.push(newFunc(sec.name, sec, 0, slotCount, true));
    } else {
      for (let i = 0; i < fsyms.length; i++) {
        const s = fsyms[i];
        if (s.value % INSN !== 0) throw new ParseError(`ELF: function "${s.name}" is not instruction-aligned`, { offset: sec.offset });
        const start = s.value / INSN;
        const end = s.size > 0 ? start + s.size / INSN : i + 1 < fsyms.length ? fsyms[i + 1].value / INSN : slotCount;
        if (!Number.isInteger(end) || end > slotCount || end <= start) {
          throw new ParseError(`ELF: function "${s.name}" (${s.size} bytes at ${s.value}) does not fit section "${sec.name}"`, {
            offset: sec.offset,
          });
        }
        if (slotToIndex[start] < 0) throw new ParseError(`ELF: function "${s.name}" starts inside an instruction`, { offset: sec.offset + s.value });
        if (end < slotCount && slotToIndex[end] < 0) throw new ParseError(`ELF: function "${s.name}" ends inside an instruction`, { offset: sec.offset + end * 8 });
        if (list.length && list[list.length - 1].startSlot === start) continue; // alias of the same code
        list.push(newFunc(s.name, sec, start, end - start, s.bind !== STB.LOCAL));
      }
    }
    for (const f of list) {
      if (funcs.has(f.label)) f.label = `${f.name}@${sec.name}`;
      if (funcs.has(f.label)) throw new ParseError(`ELF: two functions named "${f.name}" in section "${sec.name}"`, { offset: sec.offset });
      funcs.set(f.label, f);
    }
    bySection.set(sec.index, list);
  }

  const funcAt = (secIndex: number, slot: number, where: string): ElfFunc => {
    const list = bySection.get(secIndex);
    const f = list?.find((x) => x.startSlot === slot);
    if (!f) {
      const sec = elf.sections[secIndex];
      throw new ParseError(`ELF: ${where}: no function starts at instruction ${slot} of section "${sec?.name ?? secIndex}"`);
    }
    return f;
  };

  // 2. Copy each function's instructions and resolve its relocations.
  for (const sec of execSections) {
    const d = decoded.get(sec.index)!;
    const list = bySection.get(sec.index)!;
    const relocated = new Set<number>();
    const patched = d.insns.slice();
    for (const rel of elf.relocations(sec)) {
      if (rel.offset % INSN !== 0 || rel.offset >= sec.size) {
        throw new ParseError(`ELF: relocation at ${rel.offset} in "${sec.name}" is not on an instruction`, { offset: sec.offset });
      }
      const slot = rel.offset / INSN;
      const idx = d.slotToIndex[slot];
      if (idx < 0) throw new ParseError(`ELF: relocation at ${rel.offset} in "${sec.name}" points into the middle of ld_imm64`, { offset: sec.offset + rel.offset });
      const insn = patched[idx];
      const sym = rel.symbol;
      const where = `section "${sec.name}" instruction ${slot}`;
      relocated.add(idx);
      if (insn.opcode === CALL && insn.src === PSEUDO_CALL) {
        const target = elf.sections[sym.sectionIndex];
        if (!target || !decoded.has(sym.sectionIndex)) {
          throw new ParseError(`ELF: ${where}: call to "${sym.name}", which is not in an executable section`);
        }
        // Global functions: imm = -1 and the symbol is the function; static ones: the section
        // symbol and imm points at the function.
        const callee = funcAt(sym.sectionIndex, sym.value / INSN + (insn.imm as number) + 1, where);
        patched[idx] = { ...insn, imm: -1, reference: { kind: "symbol", name: callee.label } };
        continue;
      }
      if (insn.opcode === CALL && insn.src === PSEUDO_KFUNC_CALL) {
        patched[idx] = { ...insn, reference: { kind: "ksym", name: sym.name } };
        continue;
      }
      if (insn.opcode === LD_IMM64 && (insn.src === PSEUDO_FUNC || (insn.src === 0 && decoded.has(sym.sectionIndex)))) {
        // A callback's address (bpf_loop, timers…): clang writes ld_imm64 of the code
        // section's symbol plus a byte offset; the kernel wants BPF_PSEUDO_FUNC.
        if (!decoded.has(sym.sectionIndex)) throw new ParseError(`ELF: ${where}: function pointer to "${sym.name}" outside code`);
        const imm = Number(BigInt.asIntN(32, insn.imm as bigint));
        if ((sym.value + imm) % INSN !== 0) throw new ParseError(`ELF: ${where}: misaligned function pointer`);
        const callee = funcAt(sym.sectionIndex, (sym.value + imm) / INSN, where);
        patched[idx] = { ...insn, src: PSEUDO_FUNC, imm: 0n, reference: { kind: "symbol", name: callee.label } };
        continue;
      }
      if (insn.opcode === LD_IMM64) {
        const imm = Number(BigInt.asIntN(32, insn.imm as bigint));
        const ref = data.resolve(sym, imm, where);
        if (!ref) throw new ParseError(`ELF: ${where}: relocation against "${sym.name || elf.sections[sym.sectionIndex]?.name}" that is neither a map, global data nor an extern`);
        patched[idx] = { ...insn, imm: 0n, reference: ref };
        continue;
      }
      if (insn.opcode === CALL && insn.src === 0 && sym.sectionIndex === SHN.UNDEF) {
        // A call to an undefined function: clang's way of writing a kfunc call in older objects.
        patched[idx] = { ...insn, src: PSEUDO_KFUNC_CALL, reference: { kind: "ksym", name: sym.name } };
        continue;
      }
      throw new ParseError(`ELF: ${where}: unsupported relocation (type ${rel.type}) against "${sym.name}" on opcode 0x${insn.opcode.toString(16)}`);
    }
    // Calls and callbacks without a relocation target the same section, relative to themselves.
    for (let i = 0; i < patched.length; i++) {
      if (relocated.has(i)) continue;
      const insn = patched[i];
      const slot = d.indexToSlot[i];
      if (insn.opcode === CALL && insn.src === PSEUDO_CALL) {
        const callee = funcAt(sec.index, slot + (insn.imm as number) + 1, `section "${sec.name}" instruction ${slot}`);
        patched[i] = { ...insn, imm: -1, reference: { kind: "symbol", name: callee.label } };
      } else if (insn.opcode === LD_IMM64 && insn.src === PSEUDO_FUNC) {
        const callee = funcAt(sec.index, slot + Number(BigInt.asIntN(32, insn.imm as bigint)) + 1, `section "${sec.name}" instruction ${slot}`);
        patched[i] = { ...insn, imm: 0n, reference: { kind: "symbol", name: callee.label } };
      }
    }
    for (const f of list) {
      const first = d.slotToIndex[f.startSlot];
      const endSlot = f.startSlot + f.slots;
      const last = endSlot >= d.slotToIndex.length ? patched.length : d.slotToIndex[endSlot];
      f.insns = patched.slice(first, last);
      if (f.insns.length === 0) throw new ParseError(`ELF: function "${f.name}" is empty`);
      f.insns[0] = { ...f.insns[0], symbol: f.label };
      for (const insn of f.insns) {
        if (insn.reference?.kind === "symbol") f.callees.add(insn.reference.name);
      }
    }
  }
  return funcs;
}

function newFunc(name: string, section: ElfSection, startSlot: number, slots: number, global: boolean): ElfFunc {
  return { label: name, name, section, startSlot, slots, global, insns: [], callees: new Set() };
}

/**
 * A program's instructions with every subprogram it reaches appended (breadth-first, each
 * once), and the names of those subprograms. Throws ParseError for a call to an unknown label.
 */
export function linkProgram(entry: ElfFunc, funcs: ReadonlyMap<string, ElfFunc>): { insns: Instruction[]; subprograms: ElfFunc[] } {
  const order: ElfFunc[] = [entry];
  const seen = new Set([entry.label]);
  for (let i = 0; i < order.length; i++) {
    for (const c of order[i].callees) {
      if (seen.has(c)) continue;
      const f = funcs.get(c);
      if (!f) throw new ParseError(`ELF: program "${entry.name}" calls "${c}", which is not in the object`);
      seen.add(c);
      order.push(f);
    }
  }
  const insns: Instruction[] = [];
  for (const f of order) for (const insn of f.insns) insns.push(insn);
  return { insns, subprograms: order.slice(1) };
}
