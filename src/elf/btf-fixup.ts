/**
 * Fixes an object's `.BTF` for `BPF_BTF_LOAD` in a copy of the blob: DATASEC sizes and VAR
 * offsets that clang leaves at 0 (from the ELF sections and symbols), `.kconfig` laid out as the
 * loader laid out its map (extern VARs become allocated globals), extern FUNCs made static (the
 * kernel takes only static/global linkage), and `.ksyms` made acceptable (see fixupKsyms).
 * Records are edited in place and new types and strings only appended, so every type id and
 * string offset stays, and `.BTF.ext` func/line info records stay valid as they are.
 * Pure: no kernel.
 *
 * Why not `fixupDatasecs`/`sanitizeBtf` (src/btf/fixup.ts): those work on decoded type lists
 * and need a re-marshalled blob, whose string table need not keep the offsets that func/line
 * info and the spec's records use; they also leave `.kconfig`/`.ksyms` and extern FUNCs alone,
 * which this fixup lays out. Only the DATASEC size/offset part overlaps.
 */
import { BTF_MAGIC } from "../btf/spec.js";
import { BTF_KIND } from "../btf/types.js";
import { ParseError } from "../errors.js";
import type { ElfFile } from "./elf-file.js";
import type { ExternSpec } from "../spec/collection-spec.js";

// Module-local copies of the BTF layer's numbers: hot loops read locals, not imports.
const { int: KIND_INT, func: KIND_FUNC, func_proto: KIND_FUNC_PROTO, var: KIND_VAR, datasec: KIND_DATASEC } = BTF_KIND;
const VAR_GLOBAL_ALLOCATED = 1;

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
  const le = v.getUint16(0, true) === BTF_MAGIC;
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

  let ksymsId = 0;
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
    if (name === ".ksyms") {
      ksymsId = id;
      continue;
    }
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
  if (ksymsId === 0) return out;
  return fixupKsyms({ out, v, le, hdrLen, typeOff, typeEnd, strOff, strEnd, offsets, kindOf, ksymsId });
}

interface FramedBtf {
  out: Uint8Array;
  v: DataView;
  le: boolean;
  hdrLen: number;
  typeOff: number;
  typeEnd: number;
  strOff: number;
  strEnd: number;
  offsets: number[];
  kindOf: (id: number) => number;
  ksymsId: number;
}

/**
 * The `.ksyms` DATASEC holds kfuncs (FUNCs) and typed ksyms (extern VARs) at size 0, which the
 * kernel refuses (a DATASEC of size 0, FUNC members, extern VARs). As libbpf does, every member
 * becomes a 4-byte allocated `int` VAR at its own offset (kfuncs share one dummy VAR), and kfunc
 * parameters without names get one (the kernel requires named arguments). The loader resolves
 * these externs by name, not through this BTF. New types and strings are appended, so every
 * existing type id and string offset stays valid.
 */
function fixupKsyms(b: FramedBtf): Uint8Array {
  const { out, v, le, offsets, kindOf, ksymsId } = b;
  const at = offsets[ksymsId];
  const vlen = v.getUint32(at + 4, le) & 0xffff;
  if (vlen === 0) return out;
  const extraTypes: number[] = []; // u32 words
  const extraStrings: string[] = [];
  let nextId = offsets.length;
  let nextStr = b.strEnd - b.strOff;
  const addString = (text: string): number => {
    const off = nextStr;
    extraStrings.push(text);
    nextStr += Buffer.byteLength(text, "latin1") + 1;
    return off;
  };

  // A signed 4-byte int: the one clang emitted, or a new one.
  let intId = 0;
  for (let id = 1; id < offsets.length && !intId; id++) {
    if (kindOf(id) !== KIND_INT || v.getUint32(offsets[id] + 8, le) !== 4) continue;
    if ((v.getUint32(offsets[id] + 12, le) >>> 24) & 1) intId = id; // BTF_INT_SIGNED
  }
  if (!intId) {
    intId = nextId++;
    extraTypes.push(addString("int"), (KIND_INT << 24) >>> 0, 4, ((1 << 24) | 32) >>> 0);
  }
  const firstName = v.getUint32(offsets[v.getUint32(at + 12, le)] ?? 0, le);
  let dummyVar = 0;
  let off = 0;
  for (let i = 0; i < vlen; i++) {
    const e = at + 12 + i * 12;
    const member = v.getUint32(e, le);
    const kind = kindOf(member);
    if (kind === KIND_FUNC) {
      if (!dummyVar) {
        dummyVar = nextId++;
        extraTypes.push(firstName, (KIND_VAR << 24) >>> 0, intId, VAR_GLOBAL_ALLOCATED);
      }
      const proto = v.getUint32(offsets[member] + 8, le);
      if (kindOf(proto) === KIND_FUNC_PROTO) {
        const params = v.getUint32(offsets[proto] + 4, le) & 0xffff;
        for (let p = 0; p < params; p++) {
          const pAt = offsets[proto] + 12 + p * 8;
          if (v.getUint32(pAt, le) === 0 && v.getUint32(pAt + 4, le) !== 0) v.setUint32(pAt, firstName, le);
        }
      }
      v.setUint32(e, dummyVar, le);
    } else if (kind === KIND_VAR) {
      v.setUint32(offsets[member] + 8, intId, le);
      v.setUint32(offsets[member] + 12, VAR_GLOBAL_ALLOCATED, le);
    } else {
      throw new ParseError(`BTF: .ksyms member ${i} is neither a function nor a variable`, { offset: e });
    }
    v.setUint32(e + 4, off, le);
    v.setUint32(e + 8, 4, le);
    off += 4;
  }
  v.setUint32(at + 8, off, le);

  // Lay out: header, old types, new types, old strings, new strings.
  const types = out.subarray(b.typeOff, b.typeEnd);
  const strings = out.subarray(b.strOff, b.strEnd);
  const newStrings = Buffer.from(extraStrings.map((t) => `${t}\0`).join(""), "latin1");
  const typeLen = types.length + extraTypes.length * 4;
  const result = new Uint8Array(b.hdrLen + typeLen + strings.length + newStrings.length);
  const r = new DataView(result.buffer);
  result.set(out.subarray(0, b.hdrLen), 0);
  result.set(types, b.hdrLen);
  extraTypes.forEach((word, i) => r.setUint32(b.hdrLen + types.length + i * 4, word, le));
  result.set(strings, b.hdrLen + typeLen);
  result.set(newStrings, b.hdrLen + typeLen + strings.length);
  r.setUint32(8, 0, le); // type_off
  r.setUint32(12, typeLen, le);
  r.setUint32(16, typeLen, le); // str_off
  r.setUint32(20, strings.length + newStrings.length, le);
  return result;
}
