/**
 * Programs from an ELF object: every function of every executable section, its relocations
 * turned into symbolic references (maps, global data, externs, subprograms, callbacks), and
 * each program with the subprograms it calls appended after its own instructions, as libbpf
 * and cilium/ebpf do. References stay symbolic (by name) until load. Pure: no kernel.
 *
 * The call graph and the references are read from the raw instruction bytes; Instruction
 * objects are decoded (and validated) only when a program's instructions are first asked for,
 * so opening an object stays cheap.
 */
import { decodeInstructions } from "../asm/encoding.js";
import type { Instruction, Reference } from "../asm/instruction.js";
import { ParseError } from "../errors.js";
import { SHF, SHN, SHT, STB, STT, type ElfFile, type ElfSection, type ElfSymbol } from "./elf-file.js";
import { LD_IMM64 } from "../asm/opcodes.js";

const CALL = 0x85; // BPF_JMP | BPF_CALL
const PSEUDO_CALL = 1;
const PSEUDO_KFUNC_CALL = 2;
const PSEUDO_FUNC = 4;
const INSN = 8;

/** A change to one instruction, applied when the instructions are decoded. */
interface Patch {
  src?: number;
  imm?: number | bigint;
  reference: Reference;
}

/** One executable section: its bytes, slot ↔ instruction maps, patches, decoded on demand. */
class CodeSection {
  readonly slotToIndex: Int32Array;
  readonly indexToSlot: Int32Array;
  readonly patches = new Map<number, Patch>();
  readonly #view: DataView;
  #insns?: Instruction[];
  constructor(
    readonly section: ElfSection,
    readonly le: boolean,
  ) {
    const d = section.data;
    this.#view = new DataView(d.buffer, d.byteOffset, d.byteLength);
    const slots = d.length / INSN;
    const slotToIndex = new Int32Array(slots).fill(-1);
    // Typed arrays only (no JS array of numbers per section): count, then fill.
    let count = 0;
    for (let s = 0; s < slots; count++) {
      slotToIndex[s] = count;
      s += d[s * INSN] === LD_IMM64 ? 2 : 1;
    }
    const indexToSlot = new Int32Array(count);
    for (let s = 0, i = 0; s < slots; i++) {
      indexToSlot[i] = s;
      s += d[s * INSN] === LD_IMM64 ? 2 : 1;
    }
    this.slotToIndex = slotToIndex;
    this.indexToSlot = indexToSlot;
  }
  /** Opcode, src register and 32-bit imm of the instruction at `slot`. */
  raw(slot: number): { opcode: number; src: number; imm: number } {
    const at = slot * INSN;
    const d = this.section.data;
    const regs = d[at + 1];
    return { opcode: d[at], src: this.le ? regs >> 4 : regs & 0xf, imm: this.#view.getInt32(at + 4, this.le) };
  }
  /** Every instruction decoded and validated, with patches applied (cached). */
  instructions(): Instruction[] {
    if (this.#insns) return this.#insns;
    let insns: Instruction[];
    try {
      insns = decodeInstructions(this.section.data, this.le ? "little" : "big");
    } catch (e) {
      if (e instanceof ParseError) {
        throw new ParseError(`ELF: section "${this.section.name}": ${e.message}`, { offset: this.section.offset + (e.offset ?? 0), cause: e });
      }
      throw e;
    }
    for (const [i, p] of this.patches) {
      const insn = insns[i];
      insns[i] = { ...insn, ...(p.src !== undefined ? { src: p.src } : {}), ...(p.imm !== undefined ? { imm: p.imm } : {}), reference: p.reference };
    }
    this.#insns = insns;
    return insns;
  }
}

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
  /** Labels of functions called or referenced as callbacks (each once; a function has few). */
  callees: string[];
  /** @internal */
  code: CodeSection;
}

/** The function's instructions (decoded on first use), the first one labelled with its label. */
export function funcInstructions(f: ElfFunc): Instruction[] {
  const all = f.code.instructions();
  const first = f.code.slotToIndex[f.startSlot];
  const endSlot = f.startSlot + f.slots;
  const last = endSlot >= f.code.slotToIndex.length ? all.length : f.code.slotToIndex[endSlot];
  const out = all.slice(first, last);
  out[0] = { ...out[0], symbol: f.label };
  return out;
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
  const codes = new Map<number, CodeSection>();
  const le = elf.byteOrder === "little";
  const funcSyms = new Map<number, ElfSymbol[]>();
  for (const s of elf.symbols) {
    if (s.type !== STT.FUNC) continue;
    const list = funcSyms.get(s.sectionIndex);
    if (list) list.push(s);
    else funcSyms.set(s.sectionIndex, [s]);
  }

  // 1. Split each executable section into functions by its FUNC symbols.
  for (const sec of elf.sections) {
    if (sec.type !== SHT.PROGBITS || (sec.flags & SHF.EXECINSTR) === 0 || sec.size === 0) continue;
    if (sec.size % INSN !== 0) throw new ParseError(`ELF: section "${sec.name}" size ${sec.size} is not a multiple of 8`, { offset: sec.offset });
    const code = new CodeSection(sec, le);
    codes.set(sec.index, code);
    const slotCount = sec.size / INSN;
    const { slotToIndex } = code;
    if (sec.data[(slotCount - 1) * INSN] === LD_IMM64 && slotToIndex[slotCount - 1] >= 0) {
      throw new ParseError(`ELF: section "${sec.name}" ends in the middle of an ld_imm64`, { offset: sec.offset + sec.size - INSN });
    }
    const fsyms = (funcSyms.get(sec.index) ?? []).sort((a, b) => a.value - b.value);
    const list: ElfFunc[] = [];
    if (fsyms.length === 0) {
      // Hand-written code without symbols: the whole section is one function named after it.
      list.push(newFunc(sec.name, code, 0, slotCount, true));
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
        list.push(newFunc(s.name, code, start, end - start, s.bind !== STB.LOCAL));
      }
    }
    for (const f of list) {
      if (funcs.has(f.label)) f.label = `${f.name}@${sec.name}`;
      if (funcs.has(f.label)) throw new ParseError(`ELF: two functions named "${f.name}" in section "${sec.name}"`, { offset: sec.offset });
      funcs.set(f.label, f);
    }
    bySection.set(sec.index, list);
  }

  const starts = new Map<number, Map<number, ElfFunc>>();
  for (const [i, list] of bySection) {
    const m = new Map<number, ElfFunc>();
    for (const f of list) m.set(f.startSlot, f);
    starts.set(i, m);
  }
  const funcAt = (secIndex: number, slot: number, where: string): ElfFunc => {
    const f = starts.get(secIndex)?.get(slot);
    if (!f) {
      const sec = elf.sections[secIndex];
      throw new ParseError(`ELF: ${where}: no function starts at instruction ${slot} of section "${sec?.name ?? secIndex}"`);
    }
    return f;
  };

  // 2. Relocations and relative calls become patches (applied when decoded).
  for (const code of codes.values()) {
    const sec = code.section;
    const { patches, slotToIndex, indexToSlot } = code;
    for (const rel of elf.relocations(sec)) {
      if (rel.offset % INSN !== 0 || rel.offset >= sec.size) {
        throw new ParseError(`ELF: relocation at ${rel.offset} in "${sec.name}" is not on an instruction`, { offset: sec.offset });
      }
      const slot = rel.offset / INSN;
      const idx = slotToIndex[slot];
      if (idx < 0) throw new ParseError(`ELF: relocation at ${rel.offset} in "${sec.name}" points into the middle of ld_imm64`, { offset: sec.offset + rel.offset });
      const insn = code.raw(slot);
      const sym = rel.symbol;
      const where = `section "${sec.name}" instruction ${slot}`;
      if (insn.opcode === CALL && insn.src === PSEUDO_CALL && sym.sectionIndex === SHN.UNDEF && sym.name) {
        // clang-19 writes a kfunc call as `call -1` (src 1) against the undefined extern.
        patches.set(idx, { src: PSEUDO_KFUNC_CALL, imm: 0, reference: { kind: "ksym", name: sym.name } });
        continue;
      }
      if (insn.opcode === CALL && insn.src === PSEUDO_CALL) {
        if (!codes.has(sym.sectionIndex)) throw new ParseError(`ELF: ${where}: call to "${sym.name}", which is not in an executable section`);
        // Global functions: imm = -1 and the symbol is the function; static ones: the section
        // symbol and imm points at the function.
        if (sym.value % INSN !== 0) throw new ParseError(`ELF: ${where}: misaligned call target`);
        const callee = funcAt(sym.sectionIndex, sym.value / INSN + insn.imm + 1, where);
        patches.set(idx, { imm: -1, reference: { kind: "symbol", name: callee.label } });
        continue;
      }
      if (insn.opcode === CALL && insn.src === PSEUDO_KFUNC_CALL) {
        patches.set(idx, { reference: { kind: "ksym", name: sym.name } });
        continue;
      }
      if (insn.opcode === LD_IMM64 && (insn.src === PSEUDO_FUNC || (insn.src === 0 && codes.has(sym.sectionIndex)))) {
        // A callback's address (bpf_loop, timers…): clang writes ld_imm64 of the code
        // section's symbol plus a byte offset; the kernel wants BPF_PSEUDO_FUNC.
        if (!codes.has(sym.sectionIndex)) throw new ParseError(`ELF: ${where}: function pointer to "${sym.name}" outside code`);
        if ((sym.value + insn.imm) % INSN !== 0) throw new ParseError(`ELF: ${where}: misaligned function pointer`);
        const callee = funcAt(sym.sectionIndex, (sym.value + insn.imm) / INSN, where);
        patches.set(idx, { src: PSEUDO_FUNC, imm: 0n, reference: { kind: "symbol", name: callee.label } });
        continue;
      }
      if (insn.opcode === LD_IMM64) {
        const ref = data.resolve(sym, insn.imm, where);
        if (!ref) {
          throw new ParseError(`ELF: ${where}: relocation against "${sym.name || elf.sections[sym.sectionIndex]?.name}" that is neither a map, global data nor an extern`);
        }
        patches.set(idx, { imm: 0n, reference: ref });
        continue;
      }
      if (insn.opcode === CALL && insn.src === 0 && sym.sectionIndex === SHN.UNDEF) {
        // A call to an undefined function: a kfunc call as older clang writes it.
        patches.set(idx, { src: PSEUDO_KFUNC_CALL, reference: { kind: "ksym", name: sym.name } });
        continue;
      }
      throw new ParseError(`ELF: ${where}: unsupported relocation (type ${rel.type}) against "${sym.name}" on opcode 0x${insn.opcode.toString(16)}`);
    }
    // Calls and callbacks without a relocation target the same section, relative to themselves.
    for (let i = 0; i < indexToSlot.length; i++) {
      const slot = indexToSlot[i];
      const op = sec.data[slot * INSN];
      if ((op !== CALL && op !== LD_IMM64) || patches.has(i)) continue;
      const insn = code.raw(slot);
      if (insn.opcode === CALL && insn.src === PSEUDO_CALL) {
        const callee = funcAt(sec.index, slot + insn.imm + 1, `section "${sec.name}" instruction ${slot}`);
        patches.set(i, { imm: -1, reference: { kind: "symbol", name: callee.label } });
      } else if (insn.opcode === LD_IMM64 && insn.src === PSEUDO_FUNC) {
        const callee = funcAt(sec.index, slot + insn.imm + 1, `section "${sec.name}" instruction ${slot}`);
        patches.set(i, { imm: 0n, reference: { kind: "symbol", name: callee.label } });
      }
    }
    // Each function's callees: the owner of each patched instruction, by slot.
    const list = bySection.get(sec.index)!;
    const owner = new Int32Array(slotToIndex.length).fill(-1);
    list.forEach((f, n) => owner.fill(n, f.startSlot, f.startSlot + f.slots));
    for (const [i, p] of patches) {
      if (p.reference.kind !== "symbol") continue;
      const n = owner[indexToSlot[i]];
      if (n >= 0 && !list[n].callees.includes(p.reference.name)) list[n].callees.push(p.reference.name);
    }
  }
  return funcs;
}

function newFunc(name: string, code: CodeSection, startSlot: number, slots: number, global: boolean): ElfFunc {
  return { label: name, name, section: code.section, startSlot, slots, global, callees: [], code };
}

/**
 * The functions a program consists of: the entry first, then every subprogram it reaches
 * (breadth-first, each once). Throws ParseError for a call to an unknown label.
 */
export function programFunctions(entry: ElfFunc, funcs: ReadonlyMap<string, ElfFunc>): ElfFunc[] {
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
  return order;
}

/** A program's linked instruction list: its functions' instructions, one after another. */
export function linkInstructions(order: readonly ElfFunc[]): Instruction[] {
  const insns: Instruction[] = [];
  for (const f of order) for (const insn of funcInstructions(f)) insns.push(insn);
  return insns;
}
