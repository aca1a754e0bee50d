/**
 * Fixes an object's `.BTF` for `BPF_BTF_LOAD` in a copy of the blob, in place: DATASEC sizes
 * and VAR offsets that clang leaves at 0 (from the ELF sections and symbols), `.kconfig` laid
 * out as the loader laid out its map (extern VARs become allocated globals), extern FUNCs made
 * static (the kernel takes only static/global linkage). Editing in place keeps every type id
 * and string offset, so `.BTF.ext` func/line info records stay valid as they are.
 * Pure: no kernel.
 */
import { ParseError } from "../errors.js";
import type { ElfFile } from "./elf-file.js";
import type { ExternSpec } from "./spec-types.js";

const KIND_VAR = 14;
const KIND_DATASEC = 15;
const KIND_FUNC = 12;

function extraSize(kind: number, vlen: number): number {
  switch (kind) {
    case 1:
    case 14:
    case 17:
      return 4;
    case 3:
      return 12;
    case 4:
    case 5:
    case 15:
    case 19:
      return vlen * 12;
    case 6:
    case 13:
      return vlen * 8;
    default:
      return 0;
  }
}

/** What the fixup needs besides the ELF file. */
export interface ObjectBtfLayout {
  /** Size of the `.kconfig` map value, when there is one. */
  kconfigSize?: number;
  externs: Readonly<Record<string, ExternSpec>>;
}

/** A fixed copy of the object's `.BTF` bytes. Throws ParseError for malformed BTF. */
export function fixupObjectBtf(bytes: Uint8Array, elf: ElfFile, layout: ObjectBtfLayout): Uint8Array {
  const out = bytes.slice();
  const v = new DataView(out.buffer, out.byteOffset, out.byteLength);
  if (out.length < 24) throw new ParseError("BTF: too short", { offset: 0 });
  const le = v.getUint16(0, true) === 0xeb9f;
  const hdrLen = v.getUint32(4, le);
  const typeOff = hdrLen + v.getUint32(8, le);
  const typeEnd = typeOff + v.getUint32(12, le);
  const strOff = hdrLen + v.getUint32(16, le);
  const strEnd = strOff + v.getUint32(20, le);
  if (typeEnd > out.length || strEnd > out.length) throw new ParseError("BTF: sections run past the end", { offset: 8 });
  const str = (off: number): string => {
    const start = strOff + off;
    if (start >= strEnd) throw new ParseError(`BTF: string offset ${off} is outside the string table`);
    let end = start;
    while (end < strEnd && out[end] !== 0) end++;
    return Buffer.from(out.subarray(start, end)).toString("latin1");
  };
  // Frame the records: offsets by id.
  const offsets: number[] = [0];
  for (let p = typeOff; p < typeEnd; ) {
    if (p + 12 > typeEnd) throw new ParseError("BTF: truncated type record", { offset: p });
    const info = v.getUint32(p + 4, le);
    const kind = (info >>> 24) & 0x1f;
    offsets.push(p);
    p += 12 + extraSize(kind, info & 0xffff);
  }
  const kindOf = (id: number) => (id > 0 && id < offsets.length ? (v.getUint32(offsets[id] + 4, le) >>> 24) & 0x1f : -1);
  const nameOf = (id: number) => str(v.getUint32(offsets[id], le));

  let hidden: Set<string> | undefined;
  const hiddenFuncs = (): Set<string> =>
    (hidden ??= new Set(elf.symbols.filter((s) => s.type === 2 /* STT_FUNC */ && (s.visibility === 1 || s.visibility === 2)).map((s) => s.name)));

  const symbolOffsets = new Map<string, Map<string, number>>();
  const symbolsIn = (section: string): Map<string, number> => {
    let m = symbolOffsets.get(section);
    if (!m) {
      m = new Map();
      const sec = elf.sectionByName(section);
      if (sec) for (const s of elf.symbols) if (s.sectionIndex === sec.index && s.name && !m.has(s.name)) m.set(s.name, s.value);
      symbolOffsets.set(section, m);
    }
    return m;
  };

  for (let id = 1; id < offsets.length; id++) {
    const at = offsets[id];
    const info = v.getUint32(at + 4, le);
    const kind = (info >>> 24) & 0x1f;
    const vlen = info & 0xffff;
    if (kind === KIND_FUNC && vlen > 1) {
      // extern func (linkage 2) → static: the kernel refuses extern linkage.
      v.setUint32(at + 4, (info & ~0xffff) >>> 0, le);
      continue;
    }
    if (kind === KIND_FUNC && vlen === 1 && hiddenFuncs().has(nameOf(id))) {
      // A global function with hidden/internal visibility (usdt.bpf.h's __weak __hidden helpers)
      // is verified as static, as libbpf does: the verifier then knows its callers' arguments.
      v.setUint32(at + 4, (info & ~0xffff) >>> 0, le);
      continue;
    }
    if (kind !== KIND_DATASEC) continue;
    const name = nameOf(id);
    const isKconfig = name === ".kconfig";
    if (name === ".ksyms") continue;
    let size: number | undefined;
    if (isKconfig) size = layout.kconfigSize;
    else {
      const sec = elf.sectionByName(name);
      size = sec?.size;
    }
    if (size !== undefined) v.setUint32(at + 8, size, le);
    const entries: [number, number, number][] = [];
    const syms = isKconfig ? undefined : symbolsIn(name);
    for (let i = 0; i < vlen; i++) {
      const e = at + 12 + i * 12;
      const typeId = v.getUint32(e, le);
      let offset = v.getUint32(e + 4, le);
      const sz = v.getUint32(e + 8, le);
      if (kindOf(typeId) === KIND_VAR) {
        const varName = nameOf(typeId);
        const varAt = offsets[typeId];
        if (isKconfig) {
          const ext = layout.externs[varName];
          if (ext?.offset !== undefined) offset = ext.offset;
          v.setUint32(varAt + 12, 1, le); // BTF_VAR_GLOBAL_ALLOCATED
        } else {
          const o = syms!.get(varName);
          if (o !== undefined) offset = o;
          if (v.getUint32(varAt + 12, le) > 1) v.setUint32(varAt + 12, 1, le);
        }
      }
      entries.push([typeId, offset, sz]);
    }
    entries.sort((a, b) => a[1] - b[1]);
    entries.forEach(([t, o, s], i) => {
      const e = at + 12 + i * 12;
      v.setUint32(e, t, le);
      v.setUint32(e + 4, o, le);
      v.setUint32(e + 8, s, le);
    });
  }
  return out;
}
