/**
 * Reading ELF files: the one adapter between tsbpf and the ELF format. It reads the header, the
 * section and program header tables and the section names itself, validates all of it (a bad
 * file is a ParseError, never another exception), and decodes `.symtab` and `.rel*` on top of
 * the section data. Sections are views of the input, never copies. Pure: no kernel. Both byte
 * orders, ELF32 and ELF64.
 *
 * It no longer calls elfy 1.0.0 (the reader the project started with): measured in a fresh
 * process (#19), elfy's parse was all of this function's cost (a Buffer per section and program
 * header, utf8 names) and loading elfy, a CommonJS module the ESM loader lexes, cost the import
 * too, while every field but the names was already read here because elfy gets them wrong:
 * - ELF64 `sh_addralign`/`sh_entsize` at offsets 46/54 instead of 48/56;
 * - `osabi` from byte 6 (EI_VERSION) instead of 7 (EI_OSABI);
 * - `EM_BPF` (247) unknown to its machine table;
 * - `SHT_NOBITS` sections given unrelated file bytes as data;
 * - a bad `e_shstrndx` thrown as AssertionError/TypeError, a short table as RangeError, and
 *   out-of-range section data silently clamped.
 * Names are read as leniently as elfy read them (see sectionName), so results are unchanged.
 */
import type { ByteOrder } from "../asm/instruction.js";
import { ParseError } from "../errors.js";
import { hiddenSlot } from "./hidden-slot.js";

/** Section types (`sh_type`). */
export const SHT = {
  NULL: 0,
  PROGBITS: 1,
  SYMTAB: 2,
  STRTAB: 3,
  RELA: 4,
  HASH: 5,
  DYNAMIC: 6,
  NOTE: 7,
  NOBITS: 8,
  REL: 9,
  DYNSYM: 11,
  LLVM_ADDRSIG: 0x6fff4c03,
} as const;

/** Section flags (`sh_flags`). */
export const SHF = { WRITE: 0x1, ALLOC: 0x2, EXECINSTR: 0x4, MERGE: 0x10, STRINGS: 0x20 } as const;

/** Symbol types (low nibble of `st_info`). */
export const STT = { NOTYPE: 0, OBJECT: 1, FUNC: 2, SECTION: 3, FILE: 4, COMMON: 5, TLS: 6 } as const;
/** Symbol bindings (high nibble of `st_info`). */
export const STB = { LOCAL: 0, GLOBAL: 1, WEAK: 2 } as const;
/** Symbol visibility (low 2 bits of `st_other`). */
export const STV = { DEFAULT: 0, INTERNAL: 1, HIDDEN: 2, PROTECTED: 3 } as const;
/** Special section indices. */
export const SHN = { UNDEF: 0, ABS: 0xfff1, COMMON: 0xfff2, XINDEX: 0xffff } as const;
/** Machine numbers (`e_machine`) tsbpf cares about. */
export const EM = { X86_64: 62, AARCH64: 183, BPF: 247 } as const;
/** Program header types. */
export const PT = { LOAD: 1, DYNAMIC: 2, NOTE: 4 } as const;

/** One section of an ELF file. */
export interface ElfSection {
  /** Index in the section header table. */
  readonly index: number;
  readonly name: string;
  /** `sh_type` (see SHT). */
  readonly type: number;
  /** `sh_flags` (see SHF); only the low 32 bits. */
  readonly flags: number;
  readonly addr: number;
  readonly offset: number;
  readonly size: number;
  readonly link: number;
  readonly info: number;
  readonly entsize: number;
  readonly addralign: number;
  /** The section's bytes (a view into the file, not a copy); empty for SHT_NOBITS. */
  readonly data: Uint8Array;
}

/** One entry of `.symtab`. */
export interface ElfSymbol {
  /** Index in the symbol table. */
  readonly index: number;
  readonly name: string;
  /** `st_value` as a number: exact below 2^53 (always for BPF objects and user-space code). */
  readonly value: number;
  /** `st_value`, exact. */
  readonly value64: bigint;
  readonly size: number;
  /** See STT. */
  readonly type: number;
  /** See STB. */
  readonly bind: number;
  /** See STV. */
  readonly visibility: number;
  /** `st_shndx`: the section the symbol is defined in, or SHN.UNDEF/ABS/COMMON. */
  readonly sectionIndex: number;
}

/** One relocation entry of a SHT_REL or SHT_RELA section. */
export interface ElfRelocation {
  /** Offset in the target section. */
  readonly offset: number;
  /** Relocation type (machine-specific; for BPF: 1 = R_BPF_64_64, 10 = R_BPF_64_32, 2/3 = ABS64/ABS32). */
  readonly type: number;
  readonly symbolIndex: number;
  /** The symbol, from the symbol table the relocation section links to. */
  readonly symbol: ElfSymbol;
  /** Addend (0 for SHT_REL). */
  readonly addend: number;
}

/** One program header (segment). */
export interface ElfSegment {
  readonly type: number;
  readonly flags: number;
  readonly offset: number;
  readonly vaddr: number;
  readonly filesz: number;
  readonly memsz: number;
}

/** A parsed ELF file. */
export interface ElfFile {
  readonly class: 32 | 64;
  readonly byteOrder: ByteOrder;
  /** `e_type`: 1 = relocatable, 2 = executable, 3 = shared object. */
  readonly type: number;
  /** `e_machine` (see EM). */
  readonly machine: number;
  readonly osabi: number;
  readonly sections: readonly ElfSection[];
  readonly segments: readonly ElfSegment[];
  /** `.symtab` entries (empty when there is none); decoded on first use. */
  readonly symbols: readonly ElfSymbol[];
  /** The first section with this name. */
  sectionByName(name: string): ElfSection | undefined;
  /**
   * Relocations of a SHT_REL/SHT_RELA section, or, given any other section, of every
   * relocation section that applies to it (in table order). Throws ParseError.
   */
  relocations(section: ElfSection): readonly ElfRelocation[];
}


/**
 * Parse an ELF file. Keeps views into `bytes` (no copy), so don't modify it afterwards.
 * Throws ParseError (with the byte offset of the problem) for anything malformed; never
 * another exception.
 */
export function parseElf(bytes: Uint8Array): ElfFile {
  if (!(bytes instanceof Uint8Array)) throw new ParseError("ELF: input is not a Uint8Array");
  if (bytes.length < 16) throw new ParseError(`ELF: file too short (${bytes.length} bytes) for an ELF identification`, { offset: 0 });
  if (bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c || bytes[3] !== 0x46) {
    throw new ParseError("ELF: bad magic (not an ELF file)", { offset: 0 });
  }
  const cls = bytes[4];
  if (cls !== 1 && cls !== 2) throw new ParseError(`ELF: bad class ${cls} (want 1 = ELF32 or 2 = ELF64)`, { offset: 4 });
  const data = bytes[5];
  if (data !== 1 && data !== 2) throw new ParseError(`ELF: bad byte order ${data} (want 1 = little or 2 = big)`, { offset: 5 });
  const is64 = cls === 2;
  const le = data === 1;
  const ehsize = is64 ? 64 : 52;
  if (bytes.length < ehsize) throw new ParseError(`ELF: file too short (${bytes.length} bytes) for the ELF header`, { offset: 0 });
  const r = new Reader(bytes, le);

  const type = r.u16(16);
  const machine = r.u16(18);
  const phoff = is64 ? r.u64n(32, "e_phoff") : r.u32(28);
  const shoff = is64 ? r.u64n(40, "e_shoff") : r.u32(32);
  const o = is64 ? 52 : 40;
  const phentsize = r.u16(o + 2);
  const phnum = r.u16(o + 4);
  const shentsize = r.u16(o + 6);
  const shnum = r.u16(o + 8);
  const shstrndx = r.u16(o + 10);

  // Program headers (executables and shared objects have them).
  const phMin = is64 ? 56 : 32;
  const hasPh = phoff !== 0 && phnum !== 0;
  if (hasPh) {
    if (phentsize < phMin) throw new ParseError(`ELF: e_phentsize ${phentsize} is smaller than ${phMin}`, { offset: o + 2 });
    if (phoff + phnum * phentsize > bytes.length) {
      throw new ParseError(`ELF: program header table (${phnum} × ${phentsize} at ${phoff}) runs past the end of the file`, { offset: phoff });
    }
  }

  // Section headers.
  const shMin = is64 ? 64 : 40;
  if (shoff === 0 || shnum === 0) {
    if (shoff !== 0) {
      throw new ParseError("ELF: extended section numbering (e_shnum = 0) is not supported", { offset: o + 8 });
    }
    // No sections at all, so no name table.
    return finish(bytes, r, { is64, le, type, machine, sections: [], segments: hasPh ? readSegments(r, phoff, phnum, phentsize, is64, bytes.length) : [] });
  }
  if (shentsize < shMin) throw new ParseError(`ELF: e_shentsize ${shentsize} is smaller than ${shMin}`, { offset: o + 6 });
  if (shoff + shnum * shentsize > bytes.length) {
    throw new ParseError(`ELF: section header table (${shnum} × ${shentsize} at ${shoff}) runs past the end of the file`, { offset: shoff });
  }
  if (shstrndx === SHN.XINDEX) throw new ParseError("ELF: extended section name index (SHN_XINDEX) is not supported", { offset: o + 10 });
  if (shstrndx >= shnum) throw new ParseError(`ELF: e_shstrndx ${shstrndx} is not below e_shnum ${shnum}`, { offset: o + 10 });

  // Raw fields, each checked against the file's length.
  const raw: RawSection[] = new Array(shnum);
  for (let i = 0; i < shnum; i++) {
    const at = shoff + i * shentsize;
    const s: RawSection = is64
      ? {
          name: r.u32(at),
          type: r.u32(at + 4),
          flags: r.u32(at + (le ? 8 : 12)),
          addr: r.u64n(at + 16, "sh_addr", true),
          offset: r.u64n(at + 24, "sh_offset"),
          size: r.u64n(at + 32, "sh_size"),
          link: r.u32(at + 40),
          info: r.u32(at + 44),
          addralign: r.u64n(at + 48, "sh_addralign", true),
          entsize: r.u64n(at + 56, "sh_entsize", true),
        }
      : {
          name: r.u32(at),
          type: r.u32(at + 4),
          flags: r.u32(at + 8),
          addr: r.u32(at + 12),
          offset: r.u32(at + 16),
          size: r.u32(at + 20),
          link: r.u32(at + 24),
          info: r.u32(at + 28),
          addralign: r.u32(at + 32),
          entsize: r.u32(at + 36),
        };
    if (s.type !== SHT.NOBITS && s.type !== SHT.NULL && s.offset + s.size > bytes.length) {
      throw new ParseError(`ELF: section ${i} (${s.size} bytes at ${s.offset}) runs past the end of the file (${bytes.length} bytes)`, {
        offset: at,
      });
    }
    raw[i] = s;
  }
  if (raw[shstrndx].type !== SHT.STRTAB) {
    throw new ParseError(`ELF: section name table (section ${shstrndx}) has type ${raw[shstrndx].type}, not SHT_STRTAB`, {
      offset: shoff + shstrndx * shentsize,
    });
  }

  // Section names, read from the name table in place.
  const shstr = raw[shstrndx];
  const names = new Uint8Array(bytes.buffer, bytes.byteOffset + shstr.offset, shstr.size);
  const nameTable = stringTable(names);

  const empty = new Uint8Array(0);
  const sections: ElfSection[] = new Array(shnum);
  for (let i = 0; i < shnum; i++) {
    const s = raw[i];
    const dataBytes =
      s.type === SHT.NOBITS || s.type === SHT.NULL
        ? empty
        : new Uint8Array(bytes.buffer, bytes.byteOffset + s.offset, s.size);
    sections[i] = {
      index: i,
      name: sectionName(names, nameTable, s.name),
      type: s.type,
      flags: s.flags,
      addr: s.addr,
      offset: s.offset,
      size: s.size,
      link: s.link,
      info: s.info,
      entsize: s.entsize,
      addralign: s.addralign,
      data: dataBytes,
    };
  }
  const segments = hasPh ? readSegments(r, phoff, phnum, phentsize, is64, bytes.length) : [];
  return finish(bytes, r, { is64, le, type, machine, sections, segments });
}

interface RawSection {
  name: number;
  type: number;
  flags: number;
  addr: number;
  offset: number;
  size: number;
  link: number;
  info: number;
  addralign: number;
  entsize: number;
}

function readSegments(r: Reader, phoff: number, phnum: number, phentsize: number, is64: boolean, _len: number): ElfSegment[] {
  const out: ElfSegment[] = [];
  for (let i = 0; i < phnum; i++) {
    const at = phoff + i * phentsize;
    out.push(
      is64
        ? {
            type: r.u32(at),
            flags: r.u32(at + 4),
            offset: r.u64n(at + 8, "p_offset", true),
            vaddr: r.u64n(at + 16, "p_vaddr", true),
            filesz: r.u64n(at + 32, "p_filesz", true),
            memsz: r.u64n(at + 40, "p_memsz", true),
          }
        : {
            type: r.u32(at),
            offset: r.u32(at + 4),
            vaddr: r.u32(at + 8),
            filesz: r.u32(at + 16),
            memsz: r.u32(at + 20),
            flags: r.u32(at + 24),
          },
    );
  }
  return out;
}

function finish(
  bytes: Uint8Array,
  r: Reader,
  p: { is64: boolean; le: boolean; type: number; machine: number; sections: ElfSection[]; segments: ElfSegment[] },
): ElfFile {
  const { sections, is64 } = p;
  const byName = new Map<string, ElfSection>();
  for (const s of sections) if (!byName.has(s.name)) byName.set(s.name, s);
  const symtabCache = new Map<number, ElfSymbol[]>();

  function symbolsOf(tab: ElfSection): ElfSymbol[] {
    const cached = symtabCache.get(tab.index);
    if (cached) return cached;
    const entsize = is64 ? 24 : 16;
    if (tab.size % entsize !== 0) {
      throw new ParseError(`ELF: symbol table "${tab.name}" size ${tab.size} is not a multiple of ${entsize}`, { offset: tab.offset });
    }
    if (tab.link >= sections.length || sections[tab.link].type !== SHT.STRTAB) {
      throw new ParseError(`ELF: symbol table "${tab.name}" links to section ${tab.link}, which is not a string table`, {
        offset: tab.offset,
      });
    }
    const strtab = sections[tab.link];
    const strings = stringTable(strtab.data);
    const count = tab.size / entsize;
    const out: ElfSymbol[] = new Array(count);
    for (let i = 0; i < count; i++) {
      const at = tab.offset + i * entsize;
      let nameOff: number, info: number, other: number, shndx: number, value: number, size: number;
      let exact: bigint | undefined;
      if (is64) {
        nameOff = r.u32(at);
        info = bytes[at + 4];
        other = bytes[at + 5];
        shndx = r.u16(at + 6);
        value = r.u64n(at + 8, "st_value", true);
        if (value > Number.MAX_SAFE_INTEGER) exact = r.u64(at + 8);
        size = r.u64n(at + 16, "st_size", true);
      } else {
        nameOff = r.u32(at);
        value = r.u32(at + 4);
        size = r.u32(at + 8);
        info = bytes[at + 12];
        other = bytes[at + 13];
        shndx = r.u16(at + 14);
      }
      out[i] = new Symbol_(i, cString(strtab, strings, nameOff, at), value, exact, size, info, other, shndx);
    }
    symtabCache.set(tab.index, out);
    return out;
  }

  let symtab: ElfSymbol[] | undefined;
  const relCache = new Map<number, ElfRelocation[]>();

  function relocationsOf(rel: ElfSection): ElfRelocation[] {
    const cached = relCache.get(rel.index);
    if (cached) return cached;
    const rela = rel.type === SHT.RELA;
    const entsize = is64 ? (rela ? 24 : 16) : rela ? 12 : 8;
    if (rel.size % entsize !== 0) {
      throw new ParseError(`ELF: relocation section "${rel.name}" size ${rel.size} is not a multiple of ${entsize}`, { offset: rel.offset });
    }
    if (rel.link >= sections.length || (sections[rel.link].type !== SHT.SYMTAB && sections[rel.link].type !== SHT.DYNSYM)) {
      throw new ParseError(`ELF: relocation section "${rel.name}" links to section ${rel.link}, which is not a symbol table`, {
        offset: rel.offset,
      });
    }
    const syms = symbolsOf(sections[rel.link]);
    const count = rel.size / entsize;
    const out: ElfRelocation[] = new Array(count);
    for (let i = 0; i < count; i++) {
      const at = rel.offset + i * entsize;
      let offset: number, symIdx: number, type: number, addend = 0;
      if (is64) {
        offset = r.u64n(at, "r_offset");
        // r_info: symbol in the high 32 bits, type in the low 32.
        const lo = r.u32(at + (p.le ? 8 : 12));
        const hi = r.u32(at + (p.le ? 12 : 8));
        symIdx = hi;
        type = lo;
        if (rela) {
          // Signed 64-bit addend as a number (addends of BPF and user code are small).
          const lo = r.u32(at + (p.le ? 16 : 20));
          const hi = r.i32(at + (p.le ? 20 : 16));
          addend = hi * 0x100000000 + lo;
        }
      } else {
        offset = r.u32(at);
        const info = r.u32(at + 4);
        symIdx = info >>> 8;
        type = info & 0xff;
        if (rela) addend = r.i32(at + 8);
      }
      if (symIdx >= syms.length) {
        throw new ParseError(`ELF: relocation ${i} of "${rel.name}" names symbol ${symIdx}, past the ${syms.length} symbols`, { offset: at });
      }
      out[i] = { offset, type, symbolIndex: symIdx, symbol: syms[symIdx], addend };
    }
    relCache.set(rel.index, out);
    return out;
  }

  // `symbols` stays an own enumerable accessor, but with a getter shared by every file (see
  // hidden-slot.ts: a getter in this literal kept each parsed file alive through young GCs).
  const file: { -readonly [K in keyof ElfFile]?: ElfFile[K] } = {
    class: is64 ? 64 : 32,
    byteOrder: p.le ? "little" : "big",
    type: p.type,
    machine: p.machine,
    osabi: bytes[7],
    sections,
    segments: p.segments,
  };
  SYMBOLS_OF.attach(file, () => {
    if (!symtab) {
      const tab = sections.find((s) => s.type === SHT.SYMTAB);
      symtab = tab ? symbolsOf(tab) : [];
    }
    return symtab;
  });
  Object.defineProperty(file, "symbols", SYMBOLS);
  const sectionByName = (name: string): ElfSection | undefined => byName.get(name);
  const relocations = (section: ElfSection): readonly ElfRelocation[] => {
    if (section.type === SHT.REL || section.type === SHT.RELA) return relocationsOf(section);
    const out: ElfRelocation[] = [];
    for (const s of sections) {
      if ((s.type === SHT.REL || s.type === SHT.RELA) && s.info === section.index) out.push(...relocationsOf(s));
    }
    return out;
  };
  file.sectionByName = sectionByName;
  file.relocations = relocations;
  return file as ElfFile;
}

/** Each file's symbol table reader (decodes on first call). */
const SYMBOLS_OF = hiddenSlot<() => readonly ElfSymbol[]>();
const SYMBOLS: PropertyDescriptor = {
  get(this: ElfFile): readonly ElfSymbol[] {
    return SYMBOLS_OF.get(this)();
  },
  enumerable: true,
  configurable: true,
};

/** ElfSymbol with `value64` computed on demand (most callers never need the BigInt). */
class Symbol_ implements ElfSymbol {
  readonly type: number;
  readonly bind: number;
  readonly visibility: number;
  readonly #exact: bigint | undefined;
  constructor(
    readonly index: number,
    readonly name: string,
    readonly value: number,
    exact: bigint | undefined,
    readonly size: number,
    info: number,
    other: number,
    readonly sectionIndex: number,
  ) {
    this.#exact = exact;
    this.type = info & 0xf;
    this.bind = info >> 4;
    this.visibility = other & 3;
  }
  get value64(): bigint {
    return this.#exact ?? BigInt(this.value);
  }
}

/** A string table decoded once: latin1 text (one char per byte) and whether it is all ASCII. */
interface StringTable {
  readonly text: string;
  readonly ascii: boolean;
}
/**
 * Decode a string table once; names are then slices of it (cheap in V8). The caller keeps it
 * for the table's lookups (no global WeakMap: its ephemeron entries kept every opened file
 * alive through young-generation collections, which then promoted them all).
 */
function stringTable(d: Uint8Array): StringTable {
  let ascii = true;
  for (let i = 0; i < d.length; i++) {
    if (d[i] >= 0x80) {
      ascii = false;
      break;
    }
  }
  return { text: Buffer.from(d.buffer, d.byteOffset, d.byteLength).toString("latin1"), ascii };
}

/**
 * A section name: as lenient as elfy's reader was (an offset past the table is "", a name
 * without its NUL runs to the table's end), since a bad name alone breaks nothing.
 */
function sectionName(d: Uint8Array, t: StringTable, off: number): string {
  if (off >= d.length) return "";
  let end = t.text.indexOf("\0", off);
  if (end < 0) end = d.length;
  if (t.ascii) return t.text.slice(off, end);
  return new TextDecoder().decode(d.subarray(off, end));
}

/** A NUL-terminated string at `off` in a string table (`t` is its decoded text). */
function cString(strtab: ElfSection, t: StringTable, off: number, where: number): string {
  const d = strtab.data;
  if (off >= d.length) {
    if (off === 0) return "";
    throw new ParseError(`ELF: string offset ${off} is past the end of "${strtab.name}" (${d.length} bytes)`, { offset: where });
  }
  const end = t.text.indexOf("\0", off);
  if (end < 0) throw new ParseError(`ELF: string at ${off} in "${strtab.name}" is not NUL-terminated`, { offset: where });
  if (t.ascii) return t.text.slice(off, end);
  return new TextDecoder().decode(d.subarray(off, end));
}

/** Bounds-checked integer reads in the file's byte order. */
class Reader {
  readonly #view: DataView;
  readonly #le: boolean;
  constructor(bytes: Uint8Array, le: boolean) {
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.#le = le;
  }
  #check(at: number, n: number): void {
    if (at < 0 || at + n > this.#view.byteLength) {
      throw new ParseError(`ELF: read of ${n} bytes at ${at} is past the end of the file (${this.#view.byteLength} bytes)`, { offset: at });
    }
  }
  u16(at: number): number {
    this.#check(at, 2);
    return this.#view.getUint16(at, this.#le);
  }
  u32(at: number): number {
    this.#check(at, 4);
    return this.#view.getUint32(at, this.#le);
  }
  i32(at: number): number {
    this.#check(at, 4);
    return this.#view.getInt32(at, this.#le);
  }
  u64(at: number): bigint {
    this.#check(at, 8);
    return this.#view.getBigUint64(at, this.#le);
  }
  i64(at: number): bigint {
    this.#check(at, 8);
    return this.#view.getBigInt64(at, this.#le);
  }
  /**
   * A u64 as a number. Offsets and sizes above 2^53 cannot fit any file: ParseError, unless
   * `lossy` (addresses/alignments, kept approximately).
   */
  u64n(at: number, what: string, lossy = false): number {
    // Two u32 reads: no BigInt allocation on the common path.
    this.#check(at, 8);
    const lo = this.#view.getUint32(this.#le ? at : at + 4, this.#le);
    const hi = this.#view.getUint32(this.#le ? at + 4 : at, this.#le);
    if (hi >= 0x200000 && !lossy) throw new ParseError(`ELF: ${what} ${this.u64(at)} is too large`, { offset: at });
    return hi * 0x100000000 + lo;
  }
}
