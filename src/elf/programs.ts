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
  /** The instruction's first slot. */
  slot: number;
  src?: number;
  imm?: number | bigint;
  reference: Reference;
}

/** One executable section: its bytes, slot → instruction index, patches, decoded on demand. */
class CodeSection {
  /** Instruction index of each slot; -1 for the second half of an ld_imm64. */
  readonly slotToIndex: Int32Array;
  /** Slots of calls and callback loads that may be relative (src 1 / src 4), in slot order. */
  readonly relativeCandidates: number[] = [];
  /** Patches in the order their instructions were first patched (one per instruction). */
  readonly patches: Patch[] = [];
  /** 1 + the position in `patches` of each slot's patch; 0 when unpatched. */
  readonly #patchAt: Int32Array;
  readonly #view: DataView;
  #insns?: Instruction[];
  constructor(
    readonly section: ElfSection,
    readonly le: boolean,
  ) {
    const d = section.data;
    this.#view = new DataView(d.buffer, d.byteOffset, d.byteLength);
    const slots = d.length / INSN;
    // One allocation for both tables: an Int32Array this size lives outside the JS heap, and
    // each one cost ~1 µs to create (bench_many.o: 1450 slots).
    const tables = new Int32Array(slots * 2);
    const slotToIndex = tables.subarray(0, slots);
    const candidates = this.relativeCandidates;
    // One pass over the opcodes (this is the only full scan at open): indices, and the few
    // instructions the relative-call pass must look at.
    for (let s = 0, count = 0; s < slots; count++) {
      slotToIndex[s] = count;
      const at = s * INSN;
      const op = d[at];
      if (op === LD_IMM64) {
        if (s + 1 < slots) slotToIndex[s + 1] = -1;
        if ((le ? d[at + 1] >> 4 : d[at + 1] & 0xf) === PSEUDO_FUNC) candidates.push(s);
        s += 2;
      } else {
        if (op === CALL && (le ? d[at + 1] >> 4 : d[at + 1] & 0xf) === PSEUDO_CALL) candidates.push(s);
        s += 1;
      }
    }
    this.slotToIndex = slotToIndex;
    this.#patchAt = tables.subarray(slots);
  }
  /** Patch the instruction at `p.slot`; a later patch of the same one replaces it in place. */
  patch(p: Patch): void {
    const at = this.#patchAt[p.slot];
    if (at !== 0) this.patches[at - 1] = p;
    else this.#patchAt[p.slot] = this.patches.push(p);
  }
  /** Whether the instruction at `slot` is patched. */
  patched(slot: number): boolean {
    return this.#patchAt[slot] !== 0;
  }
  /** The 32-bit imm of the instruction at `slot`. */
  imm(slot: number): number {
    return this.#view.getInt32(slot * INSN + 4, this.le);
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
    for (const p of this.patches) {
      const i = this.slotToIndex[p.slot];
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
   * with `imm` the instruction's own immediate (low 32 bits), at `slot` of `section` (for
   * messages: see instructionWhere). Undefined when not data.
   */
  resolve(sym: ElfSymbol, imm: number, section: ElfSection, slot: number): Reference | undefined;
}

/** `section "xdp" instruction 12`, for messages (built only when throwing). */
export function instructionWhere(section: ElfSection, slot: number): string {
  return `section "${section.name}" instruction ${slot}`;
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
    const fsyms = funcSyms.get(sec.index) ?? [];
    // clang emits them in address order: check before paying for a sort (stable, so a sorted
    // list sorts to itself)
    if (!sortedByValue(fsyms)) fsyms.sort((a, b) => a.value - b.value);
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

  const funcAt = (secIndex: number, slot: number, from: ElfSection, fromSlot: number): ElfFunc => {
    const list = bySection.get(secIndex);
    const f = list && funcStartingAt(list, slot);
    if (!f) {
      const sec = elf.sections[secIndex];
      throw new ParseError(`ELF: ${instructionWhere(from, fromSlot)}: no function starts at instruction ${slot} of section "${sec?.name ?? secIndex}"`);
    }
    return f;
  };

  // 2. Relocations and relative calls become patches (applied when decoded). Opcode, src and
  // imm are read from the bytes in place; messages are built only when thrown.
  for (const code of codes.values()) {
    const sec = code.section;
    const d = sec.data;
    const { slotToIndex } = code;
    for (const rel of elf.relocations(sec)) {
      if (rel.offset % INSN !== 0 || rel.offset >= sec.size) {
        throw new ParseError(`ELF: relocation at ${rel.offset} in "${sec.name}" is not on an instruction`, { offset: sec.offset });
      }
      const slot = rel.offset / INSN;
      const idx = slotToIndex[slot];
      if (idx < 0) throw new ParseError(`ELF: relocation at ${rel.offset} in "${sec.name}" points into the middle of ld_imm64`, { offset: sec.offset + rel.offset });
      const opcode = d[rel.offset];
      const src = le ? d[rel.offset + 1] >> 4 : d[rel.offset + 1] & 0xf;
      const imm = code.imm(slot);
      const sym = rel.symbol;
      if (opcode === CALL && src === PSEUDO_CALL && sym.sectionIndex === SHN.UNDEF && sym.name) {
        // clang-19 writes a kfunc call as `call -1` (src 1) against the undefined extern.
        code.patch({ slot, src: PSEUDO_KFUNC_CALL, imm: 0, reference: { kind: "ksym", name: sym.name } });
        continue;
      }
      if (opcode === CALL && src === PSEUDO_CALL) {
        if (!codes.has(sym.sectionIndex)) throw new ParseError(`ELF: ${instructionWhere(sec, slot)}: call to "${sym.name}", which is not in an executable section`);
        // Global functions: imm = -1 and the symbol is the function; static ones: the section
        // symbol and imm points at the function.
        if (sym.value % INSN !== 0) throw new ParseError(`ELF: ${instructionWhere(sec, slot)}: misaligned call target`);
        const callee = funcAt(sym.sectionIndex, sym.value / INSN + imm + 1, sec, slot);
        code.patch({ slot, imm: -1, reference: { kind: "symbol", name: callee.label } });
        continue;
      }
      if (opcode === CALL && src === PSEUDO_KFUNC_CALL) {
        code.patch({ slot, reference: { kind: "ksym", name: sym.name } });
        continue;
      }
      if (opcode === LD_IMM64 && (src === PSEUDO_FUNC || (src === 0 && codes.has(sym.sectionIndex)))) {
        // A callback's address (bpf_loop, timers…): clang writes ld_imm64 of the code
        // section's symbol plus a byte offset; the kernel wants BPF_PSEUDO_FUNC.
        if (!codes.has(sym.sectionIndex)) throw new ParseError(`ELF: ${instructionWhere(sec, slot)}: function pointer to "${sym.name}" outside code`);
        if ((sym.value + imm) % INSN !== 0) throw new ParseError(`ELF: ${instructionWhere(sec, slot)}: misaligned function pointer`);
        const callee = funcAt(sym.sectionIndex, (sym.value + imm) / INSN, sec, slot);
        code.patch({ slot, src: PSEUDO_FUNC, imm: 0n, reference: { kind: "symbol", name: callee.label } });
        continue;
      }
      if (opcode === LD_IMM64) {
        const ref = data.resolve(sym, imm, sec, slot);
        if (!ref) {
          throw new ParseError(
            `ELF: ${instructionWhere(sec, slot)}: relocation against "${sym.name || elf.sections[sym.sectionIndex]?.name}" that is neither a map, global data nor an extern`,
          );
        }
        code.patch({ slot, imm: 0n, reference: ref });
        continue;
      }
      if (opcode === CALL && src === 0 && sym.sectionIndex === SHN.UNDEF) {
        // A call to an undefined function: a kfunc call as older clang writes it.
        code.patch({ slot, src: PSEUDO_KFUNC_CALL, reference: { kind: "ksym", name: sym.name } });
        continue;
      }
      throw new ParseError(`ELF: ${instructionWhere(sec, slot)}: unsupported relocation (type ${rel.type}) against "${sym.name}" on opcode 0x${opcode.toString(16)}`);
    }
    // Calls and callbacks without a relocation target the same section, relative to themselves
    // (the constructor listed the candidates: src 1 calls and src 4 loads, in slot order).
    for (const slot of code.relativeCandidates) {
      if (code.patched(slot)) continue;
      const callee = funcAt(sec.index, slot + code.imm(slot) + 1, sec, slot);
      if (d[slot * INSN] === CALL) code.patch({ slot, imm: -1, reference: { kind: "symbol", name: callee.label } });
      else code.patch({ slot, imm: 0n, reference: { kind: "symbol", name: callee.label } });
    }
    // Each function's callees: the owner of each patched instruction, by slot. Functions that
    // overlap (only in hand-made objects) keep a slot table: the last function covering a slot
    // owns it; otherwise a binary search finds the one function covering it.
    const list = bySection.get(sec.index)!;
    let owner: Int32Array | undefined;
    if (!disjoint(list)) {
      owner = new Int32Array(slotToIndex.length).fill(-1);
      list.forEach((f, n) => owner!.fill(n, f.startSlot, f.startSlot + f.slots));
    }
    for (const p of code.patches) {
      if (p.reference.kind !== "symbol") continue;
      const f = owner ? (owner[p.slot] >= 0 ? list[owner[p.slot]] : undefined) : funcContaining(list, p.slot);
      if (f !== undefined && !f.callees.includes(p.reference.name)) f.callees.push(p.reference.name);
    }
  }
  return funcs;
}

/** @internal The function of `list` (sorted by start, starts distinct) that starts at `slot`, if any. */
export function funcStartingAt(list: readonly ElfFunc[], slot: number): ElfFunc | undefined {
  const f = lastStartingBy(list, slot);
  return f !== undefined && f.startSlot === slot ? f : undefined;
}

/** The last function of `list` (sorted by start) that starts at or before `slot`, by binary search. */
function lastStartingBy(list: readonly ElfFunc[], slot: number): ElfFunc | undefined {
  let lo = 0;
  let hi = list.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (list[mid].startSlot <= slot) lo = mid + 1;
    else hi = mid - 1;
  }
  return hi < 0 ? undefined : list[hi];
}

/** Whether `syms` is in non-decreasing order of value. */
function sortedByValue(syms: readonly ElfSymbol[]): boolean {
  for (let i = 1; i < syms.length; i++) if (syms[i - 1].value > syms[i].value) return false;
  return true;
}

/** @internal Whether no two functions of `list` (sorted by start, starts distinct) share a slot. */
export function disjoint(list: readonly ElfFunc[]): boolean {
  for (let i = 1; i < list.length; i++) if (list[i - 1].startSlot + list[i - 1].slots > list[i].startSlot) return false;
  return true;
}

/** @internal The function of `list` (sorted by start, disjoint) whose slots include `slot`, if any. */
export function funcContaining(list: readonly ElfFunc[], slot: number): ElfFunc | undefined {
  const f = lastStartingBy(list, slot);
  return f !== undefined && slot < f.startSlot + f.slots ? f : undefined;
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
  // Most programs reach a handful of functions: a scan of `order` beats a Set until it grows.
  let seen: Set<string> | undefined;
  for (let i = 0; i < order.length; i++) {
    for (const c of order[i].callees) {
      if (seen ? seen.has(c) : scanned(order, c)) continue;
      const f = funcs.get(c);
      if (!f) throw new ParseError(`ELF: program "${entry.name}" calls "${c}", which is not in the object`);
      order.push(f);
      if (seen) seen.add(c);
      else if (order.length > 16) seen = new Set(order.map((g) => g.label));
    }
  }
  return order;
}

/** Whether a function labelled `label` is in `order`. */
function scanned(order: readonly ElfFunc[], label: string): boolean {
  for (let i = 0; i < order.length; i++) if (order[i].label === label) return true;
  return false;
}

/** A program's linked instruction list: its functions' instructions, one after another. */
export function linkInstructions(order: readonly ElfFunc[]): Instruction[] {
  const insns: Instruction[] = [];
  for (const f of order) for (const insn of funcInstructions(f)) insns.push(insn);
  return insns;
}
