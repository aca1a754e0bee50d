/**
 * Symbols of user-space ELF binaries and shared libraries for uprobes: read `.symtab` and
 * `.dynsym`, find a function, and turn its virtual address into the file offset the kernel
 * wants (through the PT_LOAD segment that maps it). Pure apart from reading the file.
 */
import { existsSync, readFileSync } from "node:fs";
import { ParseError, TsbpfError } from "../errors.js";
import { parseElf, PT, SHN, SHT, STT, type ElfFile } from "../elf/elf-file.js";

/** One symbol, from .symtab or .dynsym. */
export interface UserSymbol {
  name: string;
  /** Virtual address (st_value). */
  value: bigint;
  size: number;
  type: number;
  sectionIndex: number;
}

/** Parse `.dynsym` (Elf64_Sym, little or big endian) — parseElf only decodes `.symtab`. */
export function dynamicSymbols(elf: ElfFile): UserSymbol[] {
  const sec = elf.sections.find((s) => s.type === SHT.DYNSYM);
  if (!sec || elf.class !== 64) return [];
  const strtab = elf.sections[sec.link];
  if (!strtab) throw new ParseError(".dynsym links to a missing string table");
  const le = elf.byteOrder === "little";
  const d = sec.data;
  const v = new DataView(d.buffer, d.byteOffset, d.byteLength);
  const out: UserSymbol[] = [];
  const dec = new TextDecoder();
  for (let off = 24; off + 24 <= d.length; off += 24) {
    const nameOff = v.getUint32(off, le);
    const info = v.getUint8(off + 4);
    const shndx = v.getUint16(off + 6, le);
    const value = v.getBigUint64(off + 8, le);
    const size = Number(v.getBigUint64(off + 16, le));
    if (nameOff >= strtab.data.length) continue;
    let end = nameOff;
    while (end < strtab.data.length && strtab.data[end] !== 0) end++;
    out.push({ name: dec.decode(strtab.data.subarray(nameOff, end)), value, size, type: info & 0xf, sectionIndex: shndx });
  }
  return out;
}

/** Every defined symbol of the file: .symtab first, then .dynsym. */
export function userSymbols(elf: ElfFile): UserSymbol[] {
  const fromSymtab = elf.symbols.map((s) => ({ name: s.name, value: s.value64, size: s.size, type: s.type, sectionIndex: s.sectionIndex }));
  return [...fromSymtab, ...dynamicSymbols(elf)].filter((s) => s.sectionIndex !== SHN.UNDEF && s.name !== "");
}

/**
 * The file offset of virtual address `vaddr`: through the PT_LOAD segment containing it, or
 * (objects without segments) the section. Throws TsbpfError when nothing maps it.
 */
export function vaddrToFileOffset(elf: ElfFile, vaddr: bigint, what: string): number {
  const a = Number(vaddr);
  for (const seg of elf.segments) {
    if (seg.type === PT.LOAD && a >= seg.vaddr && a < seg.vaddr + seg.filesz) return a - seg.vaddr + seg.offset;
  }
  for (const sec of elf.sections) {
    if (sec.addr !== 0 && sec.type !== SHT.NOBITS && a >= sec.addr && a < sec.addr + sec.size) return a - sec.addr + sec.offset;
  }
  throw new TsbpfError(`${what}: address 0x${vaddr.toString(16)} is in no loaded segment of the file`);
}

/** Where a library name without a slash is looked for. */
const LIB_DIRS = ["/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib/aarch64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/lib64", "/usr/lib64", "/lib", "/usr/lib"];

/** A binary's path: as given when it contains a slash, else the first match in the library directories. */
export function resolveBinaryPath(path: string): string {
  if (typeof path !== "string" || path.length === 0) throw new TypeError("binary path must be a non-empty string");
  if (path.includes("/")) {
    if (!existsSync(path)) throw new TsbpfError(`binary ${path}: no such file`);
    return path;
  }
  for (const d of LIB_DIRS) if (existsSync(`${d}/${path}`)) return `${d}/${path}`;
  throw new TsbpfError(`binary ${path}: not found in ${LIB_DIRS.join(", ")}`);
}

const cache = new Map<string, { mtimeKey: string; elf: ElfFile }>();

/** Parse a binary (cached per path for the process). Throws ParseError, TsbpfError. */
export function loadBinary(path: string): ElfFile {
  const bytes = readFileSync(path);
  const key = `${bytes.length}:${bytes.subarray(0, 64).toString("hex")}`;
  const hit = cache.get(path);
  if (hit && hit.mtimeKey === key) return hit.elf;
  const elf = parseElf(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  cache.set(path, { mtimeKey: key, elf });
  return elf;
}

/**
 * The file offset of function `symbol` in `elf`. Prefers a FUNC (or IFUNC) symbol; throws
 * TsbpfError naming the binary when there is none (stripped binaries keep only .dynsym).
 */
export function symbolFileOffset(elf: ElfFile, symbol: string, what: string): number {
  const all = userSymbols(elf).filter((s) => s.name === symbol);
  const fn = all.find((s) => s.type === STT.FUNC || s.type === 10 /* STT_GNU_IFUNC */) ?? all[0];
  if (!fn) throw new TsbpfError(`${what}: no symbol ${JSON.stringify(symbol)} in the binary (is it stripped, or is the function inlined?)`);
  if (fn.value === 0n) throw new TsbpfError(`${what}: symbol ${JSON.stringify(symbol)} has no address`);
  return vaddrToFileOffset(elf, fn.value, what);
}
