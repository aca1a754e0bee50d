/**
 * Puts the object's `.BTF.ext` records (func_info, line_info, CO-RE relocations), which are
 * kept per ELF section with byte offsets, onto each program's linked instruction list: records
 * of the program's own function and of every appended subprogram, rebased to instruction
 * slots of the final list. Pure: no kernel.
 *
 * Why not `parseBtfExt` (src/btf/ext.ts): that reader resolves strings (file, line text, access
 * string) and counts instructions, while the spec keeps the raw string offsets, which the loader
 * passes to BPF_PROG_LOAD as they are (the loaded BTF is the object's own string table). Using
 * it here would mean mapping strings back to offsets (tail-merged strings have no offset of
 * their own) and decoding every line's text. Once the BTF layer's records also carry the raw
 * offsets, readBtfExt below can go.
 */
import { BTF_MAGIC, type BtfSpec } from "../btf/spec.js";
import { ParseError } from "../errors.js";
import type { ElfFunc } from "./programs.js";
import type { ProgramCoreRelocation, ProgramFuncInfo, ProgramLineInfo } from "../spec/program-spec.js";

/** The records of `.BTF.ext`, by section name, with byte offsets (`insnOff`) into the section. */
export interface BtfExtRecords {
  funcInfo: Map<string, ProgramFuncInfo[]>;
  lineInfo: Map<string, ProgramLineInfo[]>;
  coreRelos: Map<string, ProgramCoreRelocation[]>;
}

/**
 * Read `.BTF.ext`: header, then per-section blocks of func_info, line_info and CO-RE records.
 * Section names are BTF string offsets. Throws ParseError with the byte offset.
 */
export function readBtfExt(bytes: Uint8Array, btf: BtfSpec): BtfExtRecords {
  if (bytes.length < 24) throw new ParseError(`.BTF.ext: ${bytes.length} bytes is too short for its header`, { offset: 0 });
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let le: boolean;
  if (view.getUint16(0, true) === BTF_MAGIC) le = true;
  else if (view.getUint16(0, false) === BTF_MAGIC) le = false;
  else throw new ParseError(".BTF.ext: bad magic", { offset: 0 });
  if (bytes[2] !== 1) throw new ParseError(`.BTF.ext: unsupported version ${bytes[2]}`, { offset: 2 });
  const hdrLen = view.getUint32(4, le);
  if (hdrLen < 24 || hdrLen > bytes.length) throw new ParseError(`.BTF.ext: bad header length ${hdrLen}`, { offset: 4 });
  const u32 = (at: number) => {
    if (at < 0 || at + 4 > bytes.length) throw new ParseError(`.BTF.ext: read past the end at ${at}`, { offset: at });
    return view.getUint32(at, le);
  };
  const out: BtfExtRecords = { funcInfo: new Map(), lineInfo: new Map(), coreRelos: new Map() };
  const blocks = <T>(off: number, len: number, minRec: number, what: string, read: (at: number) => T, into: Map<string, T[]>) => {
    if (len === 0) return;
    const start = hdrLen + off;
    const end = start + len;
    if (start < hdrLen || end > bytes.length || len < 4) throw new ParseError(`.BTF.ext: ${what} [${off}, +${len}) is outside the data`, { offset: start });
    const recSize = u32(start);
    if (recSize < minRec || recSize % 4 !== 0) throw new ParseError(`.BTF.ext: ${what} record size ${recSize} is invalid`, { offset: start });
    let at = start + 4;
    while (at < end) {
      const secName = btf.string(u32(at));
      const n = u32(at + 4);
      at += 8;
      if (n === 0 || n > (end - at) / recSize) throw new ParseError(`.BTF.ext: ${what} of "${secName}" has a bad count ${n}`, { offset: at - 4 });
      const list = into.get(secName) ?? [];
      for (let i = 0; i < n; i++, at += recSize) list.push(read(at));
      into.set(secName, list);
    }
  };
  blocks(u32(8), u32(12), 8, "func_info", (at) => ({ insnOff: u32(at), typeId: u32(at + 4) }), out.funcInfo);
  blocks(
    u32(16),
    u32(20),
    16,
    "line_info",
    (at) => ({ insnOff: u32(at), fileNameOff: u32(at + 4), lineOff: u32(at + 8), lineCol: u32(at + 12) }),
    out.lineInfo,
  );
  if (hdrLen >= 32) {
    blocks(
      u32(24),
      u32(28),
      16,
      "core_relo",
      (at) => ({ insnOff: u32(at), typeId: u32(at + 4), accessStrOff: u32(at + 8), kind: u32(at + 12) }),
      out.coreRelos,
    );
  }
  return out;
}

/** One program's records, rebased to its linked instruction list. */
export interface ProgramBtfExt {
  funcInfos?: ProgramFuncInfo[];
  lineInfos?: ProgramLineInfo[];
  coreRelocations?: ProgramCoreRelocation[];
}

/**
 * A lookup of each program's records (own function plus subprograms, rebased to final
 * slots). `.BTF.ext` is read on the first lookup, so opening an object stays cheap; that
 * lookup throws ParseError for a malformed `.BTF.ext`.
 */
export function btfExtLookup(
  btf: BtfSpec,
  bytes: Uint8Array,
  orders: ReadonlyMap<string, readonly ElfFunc[]>,
): (program: string) => ProgramBtfExt {
  let all: Map<string, ProgramBtfExt> | undefined;
  return (program) => (all ??= rebaseAll(btf, bytes, orders)).get(program) ?? {};
}

function rebaseAll(btf: BtfSpec, bytes: Uint8Array, orders: ReadonlyMap<string, readonly ElfFunc[]>): Map<string, ProgramBtfExt> {
  const recs = readBtfExt(bytes, btf);
  // Records of each function, relative to its first slot: one pass over each section's records.
  const perFunc = new Map<ElfFunc, { fi: ProgramFuncInfo[]; li: ProgramLineInfo[]; cr: ProgramCoreRelocation[] }>();
  const funcsBySection = new Map<string, ElfFunc[]>();
  for (const order of orders.values()) {
    for (const f of order) {
      if (perFunc.has(f)) continue;
      perFunc.set(f, { fi: [], li: [], cr: [] });
      const l = funcsBySection.get(f.section.name);
      if (l) l.push(f);
      else funcsBySection.set(f.section.name, [f]);
    }
  }
  for (const [secName, fs] of funcsBySection) {
    const slots = fs[0].section.size / 8;
    const owner: (ElfFunc | undefined)[] = new Array(slots);
    for (const f of fs) for (let i = f.startSlot; i < f.startSlot + f.slots && i < slots; i++) owner[i] = f;
    const place = <T extends { insnOff: number }>(list: T[] | undefined, key: "fi" | "li" | "cr") => {
      for (const r of list ?? []) {
        if (r.insnOff % 8 !== 0) throw new ParseError(`.BTF.ext: record at byte ${r.insnOff} of "${secName}" is not instruction-aligned`);
        const slot = r.insnOff / 8;
        const f = owner[slot];
        if (f) (perFunc.get(f)![key] as unknown as T[]).push({ ...r, insnOff: slot - f.startSlot });
      }
    };
    place(recs.funcInfo.get(secName), "fi");
    place(recs.lineInfo.get(secName), "li");
    place(recs.coreRelos.get(secName), "cr");
  }
  const out = new Map<string, ProgramBtfExt>();
  for (const [name, order] of orders) {
    const fi: ProgramFuncInfo[] = [];
    const li: ProgramLineInfo[] = [];
    const cr: ProgramCoreRelocation[] = [];
    let base = 0;
    for (const f of order) {
      const r = perFunc.get(f)!;
      for (const x of r.fi) fi.push(base ? { ...x, insnOff: x.insnOff + base } : x);
      for (const x of r.li) li.push(base ? { ...x, insnOff: x.insnOff + base } : x);
      for (const x of r.cr) cr.push(base ? { ...x, insnOff: x.insnOff + base } : x);
      base += f.slots;
    }
    out.set(name, {
      ...(fi.length ? { funcInfos: fi } : {}),
      ...(li.length ? { lineInfos: li } : {}),
      ...(cr.length ? { coreRelocations: cr } : {}),
    });
  }
  return out;
}
