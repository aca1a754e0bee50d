/**
 * `CollectionSpec`: everything an ELF object compiled for BPF holds (programs with their
 * subprograms linked, maps, global variables, externs, license, BTF) as plain data that can be
 * inspected and edited before `Collection.load`. Parsing needs no kernel and no root.
 */
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import type { Reference } from "../asm/instruction.js";
import { parseBtf, type BtfSpec } from "../btf/spec.js";
import { isParseError, ParseError, checkOptions } from "../errors.js";
import { ProgramFlags } from "../spec/program-spec.js";
import { EM, SHN, STT, parseElf, type ElfFile, type ElfSection, type ElfSymbol } from "./elf-file.js";
import { readDataSections, readExterns } from "./data-sections.js";
import { readBtfMaps, readLegacyMaps } from "./maps.js";
import { readStructOpsMaps, structOpsSectionKind } from "./struct-ops.js";
import { instructionWhere, linkInstructions, programFunctions, readFunctions, type ElfFunc } from "./programs.js";
import { parseSectionName } from "../spec/section-names.js";
import type { CollectionSpecData, ExternSpec } from "../spec/collection-spec.js";
import type { MapSpec } from "../spec/map-spec.js";
import type { ProgramSpec } from "../spec/program-spec.js";
import { SpecVariable } from "./variables.js";
import { btfExtLookup, type ProgramBtfExt } from "./btf-ext-records.js";
import { functionsDecodable, functionsRefer, kernelBytes, type KernelBytes } from "./kernel-bytes.js";
import { fixupObjectBtf } from "./btf-fixup.js";

/** Options of `CollectionSpec.fromBytes` / `fromFile`. */
export interface CollectionSpecOptions {
  /**
   * The object's name, used as the prefix of global data map names as libbpf does
   * (`"counter"` → map `counter.data`). Defaults to the file name up to its first dot, or "obj".
   */
  name?: string;
}

const OPTION_KEYS = new Set(["name"]);
const ET_REL = 1;

/**
 * The blueprint of a collection read from an ELF object. Fields are plain data and may be
 * edited: replace a program's instructions, resize a map, change `pinning`, set a variable's
 * `value` (for `.rodata` constants, the only time they can be set).
 */
export class CollectionSpec implements CollectionSpecData {
  programs: Record<string, ProgramSpec>;
  maps: Record<string, MapSpec>;
  variables: Record<string, SpecVariable>;
  externs: Record<string, ExternSpec>;
  license: string;
  version?: number;
  btf?: BtfSpec;
  btfExt?: Uint8Array;
  readonly #byteOrder: "little" | "big";
  objectName: string;
  /** @internal computes the loadable BTF blob. */
  #loadableBtf?: () => Uint8Array;
  #loadableBtfCache?: Uint8Array;

  /** @internal use fromBytes/fromFile. */
  constructor(data: Omit<CollectionSpecData, "variables"> & { variables: Record<string, SpecVariable> }) {
    this.programs = data.programs;
    this.maps = data.maps;
    this.variables = data.variables;
    this.externs = data.externs;
    this.license = data.license;
    this.version = data.version;
    this.btf = data.btf;
    this.btfExt = data.btfExt;
    this.#byteOrder = data.byteOrder;
    this.objectName = data.objectName;
  }

  /**
   * The object's byte order, as its ELF header says. Fixed: every byte of the object (code, BTF,
   * data) is in this order, so an object for the other order must be rebuilt (`-target bpfel`),
   * not relabelled. Setting it throws TypeError.
   */
  get byteOrder(): "little" | "big" {
    return this.#byteOrder;
  }
  set byteOrder(v: "little" | "big") {
    if (v === this.#byteOrder) return;
    throw new TypeError(
      `CollectionSpec "${this.objectName}": byteOrder is the object's own (${this.#byteOrder}-endian): every instruction, BTF record and data byte is in that order, so it cannot be relabelled ${JSON.stringify(v)}; rebuild the object for this machine`,
    );
  }

  /** @internal set by the parser. */
  setLoadableBtf(f: () => Uint8Array): void {
    this.#loadableBtf = f;
  }

  /**
   * The object's `.BTF` fixed for BPF_BTF_LOAD (DATASEC sizes, VAR offsets, `.kconfig` layout,
   * extern linkage), computed on first use; undefined when the object has no BTF. Throws ParseError.
   */
  loadableBtf(): Uint8Array | undefined {
    if (!this.#loadableBtf) return undefined;
    this.#loadableBtfCache ??= this.#loadableBtf();
    return this.#loadableBtfCache;
  }

  /**
   * Read a spec from an ELF object file. Throws ParseError for a malformed or non-BPF object
   * (with the byte offset), and the fs error when the file cannot be read.
   */
  static fromFile(path: string, options?: CollectionSpecOptions): CollectionSpec {
    const bytes = readFileSync(path);
    const name = options?.name ?? (basename(path).split(".")[0] || "obj");
    try {
      return CollectionSpec.fromBytes(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), { ...options, name });
    } catch (e) {
      // Say which file: a tool loading several objects otherwise reports "ELF: bad magic" alone.
      if (isParseError(e) && !e.message.startsWith(`${path}: `)) e.message = `${path}: ${e.message}`;
      throw e;
    }
  }

  /** Read a spec from the bytes of an ELF object. Throws ParseError (never anything untyped for bad bytes). */
  static fromBytes(bytes: Uint8Array, options?: CollectionSpecOptions): CollectionSpec {
    checkOptions("CollectionSpec", options, OPTION_KEYS);
    const name = options?.name ?? "obj";
    try {
      return buildSpec(parseElf(bytes), name);
    } catch (e) {
      // BTF helpers throw TypeError/RangeError for types without a size and the like: in hostile
      // input these are malformed objects, so they become ParseErrors.
      if (e instanceof TypeError || e instanceof RangeError) throw new ParseError(`ELF: malformed object: ${e.message}`, { cause: e });
      throw e;
    }
  }

  /** Names of the programs loaded by default (every program not in a `?` section). */
  get autoloadPrograms(): string[] {
    const out: string[] = [];
    for (const p of Object.values(this.programs)) if (p.autoload) out.push(p.name!);
    return out;
  }
}

/** The lazy fields of one program spec: decoded on first read, replaced by assignment. */
interface LazyProgram {
  /** The name the records are filed under (the spec's `name` may be edited). */
  name: string;
  order: ElfFunc[];
  ext: ((program: string) => ProgramBtfExt) | undefined;
  insns: ProgramSpec["instructions"] | undefined;
  fi: ProgramBtfExt["funcInfos"] | null;
  li: ProgramBtfExt["lineInfos"] | null;
  cr: ProgramBtfExt["coreRelocations"] | null;
  /** The spec whose accessors these are (a `{ ...spec }` copy carries this state too). */
  owner: ProgramSpec | undefined;
  /**
   * Set when user code first reads or assigns one of the fields: from then on it may change
   * them in place, so nothing derived from them may be kept (see `unseenProgram`).
   */
  seen: boolean;
}

const LAZY = Symbol("lazy program fields");
type WithLazy = ProgramSpec & { [LAZY]: LazyProgram };

/**
 * Accessors shared by every program spec. One set of functions for all programs lets V8 give
 * every spec the same hidden class; getters written in an object literal were 8 new closures
 * and a context per program, which made each spec a ~2 KB dictionary-mode object and were the
 * largest single cost of opening bench_many.o (~90 µs of ~400 µs, plus the GC they caused).
 * The state sits in a symbol-keyed property of the literal (a spread copy carries it along,
 * harmlessly: its own fields are plain values).
 */
const LAZY_DESCRIPTORS: PropertyDescriptorMap = {
  instructions: {
    get(this: WithLazy) {
      const s = this[LAZY];
      s.seen = true;
      return (s.insns ??= linkInstructions(s.order));
    },
    set(this: WithLazy, v: ProgramSpec["instructions"]) {
      const s = this[LAZY];
      s.seen = true;
      s.insns = v;
    },
    enumerable: true,
    // Not configurable: replacing an accessor would bypass `seen` (assignment goes through it).
    configurable: false,
  },
  funcInfos: {
    get(this: WithLazy) {
      const s = this[LAZY];
      s.seen = true;
      return s.fi !== null ? s.fi : s.ext?.(s.name).funcInfos;
    },
    set(this: WithLazy, v: ProgramBtfExt["funcInfos"]) {
      const s = this[LAZY];
      s.seen = true;
      s.fi = v;
    },
    enumerable: true,
    configurable: false,
  },
  lineInfos: {
    get(this: WithLazy) {
      const s = this[LAZY];
      s.seen = true;
      return s.li !== null ? s.li : s.ext?.(s.name).lineInfos;
    },
    set(this: WithLazy, v: ProgramBtfExt["lineInfos"]) {
      const s = this[LAZY];
      s.seen = true;
      s.li = v;
    },
    enumerable: true,
    configurable: false,
  },
  coreRelocations: {
    get(this: WithLazy) {
      const s = this[LAZY];
      s.seen = true;
      return s.cr !== null ? s.cr : s.ext?.(s.name).coreRelocations;
    },
    set(this: WithLazy, v: ProgramBtfExt["coreRelocations"]) {
      const s = this[LAZY];
      s.seen = true;
      s.cr = v;
    },
    enumerable: true,
    configurable: false,
  },
};

// One defineProperty per field with a hoisted descriptor: cheaper than defineProperties, which
// reads the descriptor map's own keys and converts each descriptor on every call.
const INSTRUCTIONS = LAZY_DESCRIPTORS.instructions;
const FUNC_INFOS = LAZY_DESCRIPTORS.funcInfos;
const LINE_INFOS = LAZY_DESCRIPTORS.lineInfos;
const CORE_RELOCATIONS = LAZY_DESCRIPTORS.coreRelocations;

type LazyField = "instructions" | "funcInfos" | "lineInfos" | "coreRelocations";

/** The lazy state `p` owns (not a copy's or a prototype's), if it has one. */
function ownState(p: ProgramSpec): LazyProgram | undefined {
  const s = (p as Partial<WithLazy>)[LAZY];
  return s !== undefined && s.owner === p ? s : undefined;
}

/**
 * @internal A program's field as the loader reads it: for a spec opened from ELF, without
 * counting as user code having seen it (so kept bytes stay valid); for any other spec, the
 * property itself.
 */
export function peekProgram<K extends LazyField>(p: ProgramSpec, field: K): ProgramSpec[K] {
  const s = ownState(p);
  if (s === undefined) return p[field];
  switch (field) {
    case "instructions":
      return (s.insns ??= linkInstructions(s.order)) as ProgramSpec[K];
    case "funcInfos":
      return (s.fi !== null ? s.fi : s.ext?.(s.name).funcInfos) as ProgramSpec[K];
    case "lineInfos":
      return (s.li !== null ? s.li : s.ext?.(s.name).lineInfos) as ProgramSpec[K];
    default:
      return (s.cr !== null ? s.cr : s.ext?.(s.name).coreRelocations) as ProgramSpec[K];
  }
}

/**
 * @internal A key for what a loader derives from `p`'s lazy fields (kernel bytes, info
 * records), valid while no user code has read or assigned them: then only the loader has the
 * arrays, and they cannot have changed. Undefined for a spec not opened from ELF, a copy, or one
 * whose fields user code has seen.
 */
export function unseenProgram(p: ProgramSpec): object | undefined {
  return unseenState(p);
}

/** The lazy state `p` owns while no user code has read or assigned its fields. */
function unseenState(p: ProgramSpec): LazyProgram | undefined {
  const s = ownState(p);
  return s !== undefined && !s.seen ? s : undefined;
}

/**
 * @internal The kernel bytes of `p` made from its ELF section bytes without decoding (see
 * kernel-bytes.ts), while no user code has read or assigned its lazy fields; undefined
 * otherwise, or when that path does not apply to its instructions.
 */
export function peekKernelBytes(p: ProgramSpec): KernelBytes | undefined {
  const s = unseenState(p);
  return s !== undefined ? kernelBytes(s.order) : undefined;
}

/**
 * @internal Whether `p`'s instructions would decode (so reading them cannot throw), answered
 * without decoding for an ELF program no user code has touched; undefined when that cannot be
 * answered so (the caller then reads the instructions).
 */
export function peekDecodable(p: ProgramSpec): boolean | undefined {
  const s = unseenState(p);
  return s !== undefined ? functionsDecodable(s.order) : undefined;
}

/** @internal Whether `p`'s instructions hold a reference of `kind`, answered from the ELF patches when user code has not touched them. */
export function peekRefers(p: ProgramSpec, kind: Reference["kind"]): boolean {
  const s = unseenState(p);
  if (s !== undefined && s.insns === undefined) return functionsRefer(s.order, kind);
  return peekProgram(p, "instructions").some((i) => i.reference?.kind === kind);
}

/** @internal The loader handed `p`'s fields to user code (in an error): nothing kept for it stays valid. */
export function markSeen(p: ProgramSpec): void {
  const s = ownState(p);
  if (s !== undefined) s.seen = true;
}

function cString(bytes: Uint8Array): string {
  const end = bytes.indexOf(0);
  return Buffer.from(bytes.subarray(0, end < 0 ? bytes.length : end)).toString("utf8");
}

/** The labels of `order` but its first (a program's subprograms). */
function labelsAfterFirst(order: readonly ElfFunc[]): string[] {
  const out: string[] = [];
  for (let i = 1; i < order.length; i++) out.push(order[i].label);
  return out;
}

function buildSpec(elf: ElfFile, objectName: string): CollectionSpec {
  if (elf.machine !== EM.BPF) throw new ParseError(`ELF: not a BPF object (e_machine ${elf.machine}, want ${EM.BPF} = EM_BPF)`, { offset: 18 });
  if (elf.type !== ET_REL) throw new ParseError(`ELF: not a relocatable object (e_type ${elf.type}); BPF objects are compiled with -c`, { offset: 16 });
  if (elf.class !== 64) throw new ParseError(`ELF: a BPF object is ELF64, but this one says ELFCLASS32 (byte 4 is 1): a corrupt or non-BPF file`, { offset: 4 });
  if (elf.sections.length === 0) {
    throw new ParseError("ELF: the object has no section header table (e_shoff or e_shnum is 0), so no code, maps or license: a truncated or stripped file", { offset: 40 });
  }

  const licenseSec = elf.sectionByName("license");
  const license = licenseSec ? cString(licenseSec.data) : "";
  const versionSec = elf.sectionByName("version");
  let version: number | undefined;
  if (versionSec) {
    if (versionSec.data.length !== 4) throw new ParseError(`ELF: "version" section is ${versionSec.data.length} bytes, want 4`, { offset: versionSec.offset });
    version = new DataView(versionSec.data.buffer, versionSec.data.byteOffset, 4).getUint32(0, elf.byteOrder === "little");
  }

  const btfSec = elf.sectionByName(".BTF");
  // Lazy: types are decoded when a map definition or variable asks for them.
  const btf = btfSec ? parseBtf(btfSec.data, { lazy: true }) : undefined;
  const btfExtSec = elf.sectionByName(".BTF.ext");

  // Maps: BTF-defined, legacy, global data, kconfig.
  const maps: Record<string, MapSpec> = {};
  const mapSectionIndex = new Map<number, "btf" | "legacy">();
  // Whether any map has slots or struct_ops members to check below (most objects: none, and
  // Object.values over the record, in dictionary mode past a dozen maps, is not free).
  let slotsToCheck = false;
  const addMap = (key: string, m: MapSpec) => {
    if (Object.hasOwn(maps, key)) throw new ParseError(`ELF: two maps named "${key}"`);
    maps[key] = m;
    if (m.values !== undefined || m.structOps !== undefined) slotsToCheck = true;
  };
  for (const s of elf.sections) {
    if (s.name === ".maps") {
      mapSectionIndex.set(s.index, "btf");
      for (const m of readBtfMaps(elf, s, btf)) addMap(m.name!, m);
    } else if (s.name === "maps") {
      mapSectionIndex.set(s.index, "legacy");
      for (const m of readLegacyMaps(elf, s)) addMap(m.name!, m);
    } else if (structOpsSectionKind(s.name)) {
      for (const m of readStructOpsMaps(elf, s, btf)) addMap(m.name!, m);
    }
  }
  const data = readDataSections(elf, btf, objectName);
  const dataSections = new Map<number, string>();
  for (const m of data.maps) {
    addMap(m.section!, m);
    dataSections.set(elf.sectionByName(m.section!)!.index, m.section!);
  }
  const ext = readExterns(elf, btf, objectName);
  if (ext.map) addMap(".kconfig", ext.map);
  const externs: Record<string, ExternSpec> = {};
  for (const e of ext.externs) externs[e.name] = e;

  // Relocations against data become references by name.
  const mapSymbolsAt = new Map<number, ElfSymbol[]>();
  const resolver = {
    resolve(sym: ElfSymbol, imm: number, atSection: ElfSection, slot: number): Reference | undefined {
      const kind = mapSectionIndex.get(sym.sectionIndex);
      if (kind) {
        if (sym.type !== STT.SECTION && sym.name) {
          if (!Object.hasOwn(maps, sym.name)) throw new ParseError(`ELF: ${instructionWhere(atSection, slot)}: map "${sym.name}" has no definition`);
          return { kind: "map", name: sym.name };
        }
        // A static map: the section symbol plus an offset.
        let list = mapSymbolsAt.get(sym.sectionIndex);
        if (!list) {
          list = elf.symbols.filter((s) => s.sectionIndex === sym.sectionIndex && s.type !== STT.SECTION && s.name);
          mapSymbolsAt.set(sym.sectionIndex, list);
        }
        const m = list.find((s) => s.value === sym.value + imm);
        if (!m) throw new ParseError(`ELF: ${instructionWhere(atSection, slot)}: no map at offset ${sym.value + imm} of the map section`);
        return { kind: "map", name: m.name };
      }
      const section = dataSections.get(sym.sectionIndex);
      if (section !== undefined) {
        const offset = (sym.type === STT.SECTION ? 0 : sym.value) + imm;
        const size = maps[section].valueSize ?? 0;
        if (offset < 0 || offset > size) throw new ParseError(`ELF: ${instructionWhere(atSection, slot)}: offset ${offset} is outside "${section}" (${size} bytes)`);
        return { kind: "map", name: section, value: true, offset };
      }
      if (sym.sectionIndex === SHN.UNDEF && sym.name) {
        const e = externs[sym.name];
        if (e?.kind === "kconfig") return { kind: "map", name: ".kconfig", value: true, offset: (e.offset ?? 0) + imm };
        if (e?.kind === "ksym") return { kind: "ksym", name: sym.name };
        return { kind: "extern", name: sym.name, offset: imm };
      }
      const sec = elf.sections[sym.sectionIndex];
      if (sec && (sec.name === ".rodata" || sec.name.startsWith(".rodata"))) return undefined;
      return undefined;
    },
  };
  const funcs = readFunctions(elf, resolver);

  // Programs: every function outside .text.
  const programs: Record<string, ProgramSpec> = {};
  const textIndex = elf.sectionByName(".text")?.index;
  const entries: ElfFunc[] = [];
  for (const f of funcs.values()) {
    if (f.section.index === textIndex) continue;
    entries.push(f);
  }
  const orders = new Map<string, ElfFunc[]>();
  const extRecords = btf && btfExtSec ? btfExtLookup(btf, btfExtSec.data, orders) : undefined;
  const infos = new Map<string, ReturnType<typeof parseSectionName>>();
  let anyStructOps = false;
  for (const f of entries) {
    if (!infos.has(f.section.name)) infos.set(f.section.name, parseSectionName(f.section.name));
    const info = infos.get(f.section.name);
    const order = programFunctions(f, funcs);
    let flags = 0;
    if (info?.sleepable) flags |= ProgramFlags.sleepable;
    if (info?.xdpFrags) flags |= ProgramFlags.xdpHasFrags;
    // Instructions are decoded on first use (opening stays cheap), and so are the .BTF.ext
    // records; assigning any of them replaces it. They are own enumerable accessors (so
    // `{ ...spec }` copies their values) shared by every program (see LAZY_FIELDS).
    const spec = {
      name: f.name,
      type: info?.type ?? 0,
      license,
      section: info?.name ?? f.section.name.replace(/^\?/, ""),
      autoload: info ? info.autoload : !f.section.name.startsWith("?"),
      subprograms: labelsAfterFirst(order),
      [LAZY]: { name: f.name, order, ext: extRecords, insns: undefined, fi: null, li: null, cr: null, owner: undefined, seen: false } satisfies LazyProgram,
    } as WithLazy;
    spec[LAZY].owner = spec;
    Object.defineProperty(spec, "instructions", INSTRUCTIONS);
    Object.defineProperty(spec, "funcInfos", FUNC_INFOS);
    Object.defineProperty(spec, "lineInfos", LINE_INFOS);
    Object.defineProperty(spec, "coreRelocations", CORE_RELOCATIONS);
    if (info) spec.sectionInfo = info;
    if (info?.attachType) spec.expectedAttachType = info.attachType;
    if (flags) spec.flags = flags;
    if (version !== undefined) spec.kernelVersion = version;
    // orders holds every name stored so far: most names skip the lookup in the record
    if (orders.has(f.name) && Object.hasOwn(programs, f.name)) throw new ParseError(`ELF: two programs named "${f.name}"`);
    if (spec.type === "struct_ops") anyStructOps = true;
    programs[f.name] = spec;
    orders.set(f.name, order);
  }

  // Map slots naming programs must name programs of this object.
  for (const m of slotsToCheck ? Object.values(maps) : []) {
    for (const [i, v] of m.values ?? []) {
      if (v.kind === "program" && !Object.hasOwn(programs, v.name)) {
        throw new ParseError(`map "${m.name}": values[${i}] names "${v.name}", which is not a program of this object`);
      }
      if (v.kind === "map" && !Object.hasOwn(maps, v.name)) {
        throw new ParseError(`map "${m.name}": values[${i}] names "${v.name}", which is not a map of this object`);
      }
    }
  }

  // struct_ops members must name programs of this object; a struct_ops program no (created by
  // default) struct_ops map uses has no member to be loaded for, so it is not loaded by default
  // (as libbpf does).
  const usedByStructOps = new Set<string>();
  for (const m of slotsToCheck ? Object.values(maps) : []) {
    for (const [member, prog] of Object.entries(m.structOps?.programs ?? {})) {
      const p = programs[prog];
      if (!p) throw new ParseError(`struct_ops "${m.name}": member "${member}" points at "${prog}", which is not a program of this object`);
      if (p.type !== "struct_ops") throw new ParseError(`struct_ops "${m.name}": member "${member}" points at "${prog}" in section "${p.section}", not a SEC("struct_ops/...") program`);
      if (m.autocreate !== false) usedByStructOps.add(prog);
    }
  }
  for (const p of anyStructOps ? Object.values(programs) : []) {
    if (p.type === "struct_ops" && !usedByStructOps.has(p.name!)) p.autoload = false;
  }

  const variables: Record<string, SpecVariable> = {};
  for (const v of data.variables) {
    if (Object.hasOwn(variables, v.name)) continue; // a name shadowed in another section: first wins
    variables[v.name] = new SpecVariable(v, maps, btf, elf.byteOrder === "little");
  }

  const spec = new CollectionSpec({
    programs,
    maps,
    variables,
    externs,
    license,
    version,
    btf,
    btfExt: btfExtSec ? btfExtSec.data : undefined,
    byteOrder: elf.byteOrder,
    objectName,
  });
  if (btfSec) {
    const kconfigSize = ext.map?.valueSize;
    spec.setLoadableBtf(() => fixupObjectBtf(btfSec.data, elf, { kconfigSize, externs }));
  }
  return spec;
}
