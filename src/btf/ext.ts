/**
 * `.BTF.ext`: per-section function info, line info and CO-RE relocation records that clang
 * writes beside `.BTF`, and the marshalling of func/line info for `BPF_PROG_LOAD`.
 *
 * In the ELF file an instruction offset is a byte offset into its section; here it is given as
 * an instruction index (`insn`, byte offset / 8) because that is what the kernel and the
 * Instruction arrays of tsbpf count in. Names and source lines are resolved from the `.BTF`
 * string table. Pure.
 */
import type { ByteOrder } from "../asm/instruction.js";
import { ParseError } from "../errors.js";
import { BTF_MAGIC, type BtfSpec } from "./spec.js";

/** `struct bpf_func_info`: the function whose BTF (a `func` type) starts at instruction `insn`. */
export interface BtfFuncInfo {
  insn: number;
  typeId: number;
}

/** `struct bpf_line_info`: the source line that instruction `insn` comes from. */
export interface BtfLineInfo {
  insn: number;
  /** Source file name. */
  file: string;
  /** Source text of the line. */
  text: string;
  /** Line number (1-based; 22 bits). */
  line: number;
  /** Column (10 bits). */
  column: number;
}

/** CO-RE relocation kinds (UAPI `enum bpf_core_relo_kind`), named as in libbpf's docs. */
export const CORE_RELO_KINDS = [
  "field_byte_offset",
  "field_byte_size",
  "field_exists",
  "field_signed",
  "field_lshift_u64",
  "field_rshift_u64",
  "type_id_local",
  "type_id_target",
  "type_exists",
  "type_size",
  "enumval_exists",
  "enumval_value",
  "type_matches",
] as const;
export type CoreReloKind = (typeof CORE_RELO_KINDS)[number];

/** `struct bpf_core_relo`: one CO-RE relocation against instruction `insn`. */
export interface BtfCoreRelo {
  insn: number;
  /** The local (object BTF) root type id. */
  typeId: number;
  /** The access string, e.g. "0:1:2" (member indexes), from the string table. */
  accessString: string;
  kind: CoreReloKind;
}

/** Parsed `.BTF.ext`: records grouped by ELF section name, in file order. */
export interface BtfExt {
  funcInfo: Map<string, BtfFuncInfo[]>;
  lineInfo: Map<string, BtfLineInfo[]>;
  coreRelos: Map<string, BtfCoreRelo[]>;
}

/** Minimum record sizes (the UAPI structs); larger records from newer compilers are accepted. */
const MIN_REC = { func: 8, line: 16, core: 16 } as const;

/**
 * Parse a `.BTF.ext` blob. `btf` is the object's parsed `.BTF` (its string table names sections
 * and holds the source lines; its type count bounds the type ids). Throws ParseError with the
 * byte offset for a bad header, a subsection or record group running past the data, record
 * sizes below the UAPI minimum, a string offset outside the string table, an instruction
 * offset not a multiple of 8, an unknown CO-RE kind, or a type id that `btf` does not have.
 */
export function parseBtfExt(bytes: Uint8Array, btf: BtfSpec): BtfExt {
  if (bytes.length < 8) throw new ParseError(`BTF.ext: ${bytes.length} bytes is too short for a header`, { offset: 0 });
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let le: boolean;
  if (v.getUint16(0, true) === BTF_MAGIC) le = true;
  else if (v.getUint16(0, false) === BTF_MAGIC) le = false;
  else throw new ParseError(`BTF.ext: bad magic 0x${v.getUint16(0, true).toString(16)}`, { offset: 0 });
  if ((le ? "little" : "big") !== btf.byteOrder) {
    throw new ParseError(`BTF.ext: byte order (${le ? "little" : "big"}) differs from the .BTF's (${btf.byteOrder})`, {
      offset: 0,
    });
  }
  if (bytes[2] !== 1) throw new ParseError(`BTF.ext: unsupported version ${bytes[2]}`, { offset: 2 });
  const hdrLen = v.getUint32(4, le);
  if (hdrLen < 24 || hdrLen > bytes.length) {
    throw new ParseError(`BTF.ext: header length ${hdrLen} is invalid for ${bytes.length} bytes`, { offset: 4 });
  }
  const u32 = (at: number) => v.getUint32(at, le);
  const str = (off: number, at: number) => {
    try {
      return btf.string(off);
    } catch (e) {
      throw new ParseError(`BTF.ext: string offset ${off} is outside the .BTF string table`, { offset: at, cause: e });
    }
  };
  const insnOf = (off: number, at: number) => {
    if (off % 8 !== 0) throw new ParseError(`BTF.ext: instruction offset ${off} is not a multiple of 8`, { offset: at });
    return off / 8;
  };
  const typeOf = (id: number, at: number) => {
    if (!btf.has(id)) throw new ParseError(`BTF.ext: type id ${id} does not exist in .BTF (last is ${btf.nextId - 1})`, { offset: at });
    return id;
  };

  /** Walk one subsection; `read` decodes one record at an absolute offset. */
  function subsection<T>(off: number, len: number, what: keyof typeof MIN_REC, read: (at: number) => T): Map<string, T[]> {
    const out = new Map<string, T[]>();
    if (len === 0) return out;
    const start = hdrLen + off;
    if (off > bytes.length - hdrLen || len > bytes.length - start) {
      throw new ParseError(`BTF.ext: ${what} info [${off}, +${len}) runs past the end (${bytes.length - hdrLen} bytes)`, {
        offset: hdrLen,
      });
    }
    const end = start + len;
    if (len < 4) throw new ParseError(`BTF.ext: ${what} info is too short for its record size`, { offset: start });
    const recSize = u32(start);
    if (recSize < MIN_REC[what] || recSize % 4 !== 0 || recSize > 1024) {
      throw new ParseError(`BTF.ext: ${what} info record size ${recSize} is invalid (at least ${MIN_REC[what]})`, {
        offset: start,
      });
    }
    let p = start + 4;
    while (p < end) {
      if (end - p < 8) throw new ParseError(`BTF.ext: ${what} info group header is truncated`, { offset: p });
      const secName = str(u32(p), p);
      const n = u32(p + 4);
      if (n === 0) throw new ParseError(`BTF.ext: ${what} info group for "${secName}" has no records`, { offset: p + 4 });
      if (n > (end - p - 8) / recSize) {
        throw new ParseError(`BTF.ext: ${what} info group for "${secName}" claims ${n} records, more than fit`, {
          offset: p + 4,
        });
      }
      p += 8;
      let list = out.get(secName);
      if (!list) out.set(secName, (list = []));
      for (let i = 0; i < n; i++, p += recSize) list.push(read(p));
    }
    return out;
  }

  const funcInfo = subsection(u32(8), u32(12), "func", (at) => ({ insn: insnOf(u32(at), at), typeId: typeOf(u32(at + 4), at + 4) }));
  const lineInfo = subsection(u32(16), u32(20), "line", (at) => {
    const lc = u32(at + 12);
    return {
      insn: insnOf(u32(at), at),
      file: str(u32(at + 4), at + 4),
      text: str(u32(at + 8), at + 8),
      line: lc >>> 10,
      column: lc & 0x3ff,
    };
  });
  let coreRelos = new Map<string, BtfCoreRelo[]>();
  if (hdrLen >= 32) {
    coreRelos = subsection(u32(24), u32(28), "core", (at) => {
      const kind = u32(at + 12);
      if (kind >= CORE_RELO_KINDS.length) throw new ParseError(`BTF.ext: unknown CO-RE relocation kind ${kind}`, { offset: at + 12 });
      return {
        insn: insnOf(u32(at), at),
        typeId: typeOf(u32(at + 4), at + 4),
        accessString: str(u32(at + 8), at + 8),
        kind: CORE_RELO_KINDS[kind],
      };
    });
  }
  return { funcInfo, lineInfo, coreRelos };
}

/** Size of one `struct bpf_func_info` as tsbpf writes it (`func_info_rec_size`). */
export const FUNC_INFO_SIZE = 8;
/** Size of one `struct bpf_line_info` as tsbpf writes it (`line_info_rec_size`). */
export const LINE_INFO_SIZE = 16;

/**
 * Marshal func info for `BPF_PROG_LOAD` (`func_info`, rec size 8): instruction indexes relative
 * to the program's first instruction, type ids of `func` types in the BTF being loaded.
 * Throws RangeError for a negative or non-integer field.
 */
export function marshalFuncInfo(infos: readonly BtfFuncInfo[], byteOrder: ByteOrder = "little"): Uint8Array {
  const out = new Uint8Array(infos.length * FUNC_INFO_SIZE);
  const v = new DataView(out.buffer);
  const le = byteOrder === "little";
  infos.forEach((f, i) => {
    v.setUint32(i * 8, checkU32(f.insn, "func info insn"), le);
    v.setUint32(i * 8 + 4, checkU32(f.typeId, "func info type id"), le);
  });
  return out;
}

/**
 * Marshal line info for `BPF_PROG_LOAD` (`line_info`, rec size 16). `stringOffset` gives the
 * offset of a string in the string table of the BTF being loaded (`BtfBuilder.addString`).
 */
export function marshalLineInfo(
  infos: readonly BtfLineInfo[],
  stringOffset: (s: string) => number,
  byteOrder: ByteOrder = "little",
): Uint8Array {
  const out = new Uint8Array(infos.length * LINE_INFO_SIZE);
  const v = new DataView(out.buffer);
  const le = byteOrder === "little";
  infos.forEach((l, i) => {
    const at = i * 16;
    if (!Number.isInteger(l.line) || l.line < 0 || l.line >= 1 << 22) throw new RangeError(`line info: line ${l.line} does not fit 22 bits`);
    if (!Number.isInteger(l.column) || l.column < 0 || l.column >= 1 << 10) throw new RangeError(`line info: column ${l.column} does not fit 10 bits`);
    v.setUint32(at, checkU32(l.insn, "line info insn"), le);
    v.setUint32(at + 4, stringOffset(l.file), le);
    v.setUint32(at + 8, stringOffset(l.text), le);
    v.setUint32(at + 12, ((l.line << 10) | l.column) >>> 0, le);
  });
  return out;
}

function checkU32(x: number, what: string): number {
  if (!Number.isInteger(x) || x < 0 || x > 0xffffffff) throw new RangeError(`${what} ${x} is not a u32`);
  return x;
}
