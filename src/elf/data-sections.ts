/**
 * Global data: `.data`, `.bss`, `.rodata` and their named variants (`.data.foo`,
 * `.rodata.str1.1`) become single-entry array maps, as libbpf makes them (read-only data gets
 * BPF_F_RDONLY_PROG and is frozen after initialisation; sections with a non-static variable are
 * mmapable), their symbols become variables, and `.kconfig` externs get a map of their own.
 * Pure: no kernel.
 */
import { skipQualifiers, typeAlignment, typeSize } from "../btf/query.js";
import type { BtfSpec } from "../btf/spec.js";
import { ParseError } from "../errors.js";
import { hiddenSlot } from "./hidden-slot.js";
import { SHF, SHN, SHT, STB, STT, type ElfFile, type ElfSection } from "./elf-file.js";
import type { ExternSpec, VariableSpec } from "../spec/collection-spec.js";
import type { MapSpec } from "../spec/map-spec.js";

/** `BPF_F_RDONLY_PROG`. */
export const BPF_F_RDONLY_PROG = 1 << 7;
/** `BPF_F_MMAPABLE`. */
export const BPF_F_MMAPABLE = 1 << 10;

/** The kind of global data a section holds, or undefined when it is not global data. */
export function dataSectionKind(s: ElfSection): "data" | "rodata" | "bss" | undefined {
  const n = s.name;
  if (s.type === SHT.NOBITS && (n === ".bss" || n.startsWith(".bss."))) return "bss";
  if (s.type !== SHT.PROGBITS || (s.flags & SHF.ALLOC) === 0 || (s.flags & SHF.EXECINSTR) !== 0) return undefined;
  if (n === ".data" || n.startsWith(".data.")) return "data";
  if (n === ".rodata" || n.startsWith(".rodata.")) return "rodata";
  return undefined;
}

/**
 * The kernel name libbpf gives an internal map: `<object prefix><section>` for `.data`,
 * `.bss`, `.rodata` and `.kconfig`, the section name alone for named variants, cut to 15
 * characters, other characters than [A-Za-z0-9_.] replaced by `_`.
 */
export function internalMapName(objectName: string, section: string): string {
  const sfxLen = Math.max(7, section.length);
  const pfxLen = section.indexOf(".", 1) >= 0 ? 0 : Math.max(0, Math.min(15 - sfxLen, objectName.length));
  const name = `${objectName.slice(0, pfxLen)}${section.slice(0, sfxLen)}`.slice(0, 15);
  return name.replace(/[^A-Za-z0-9_.]/g, "_");
}

/** State of `.bss` contents not allocated yet, by map spec. */
const lazyZeros = hiddenSlot<{ size: number; bytes?: Uint8Array }>();

/**
 * `contents` of a `.bss` map spec: one getter and setter for all specs (fresh closures per
 * spec gave each spec a map of its own, which kept it alive through young GCs: hidden-slot.ts).
 */
const LAZY_ZERO_CONTENTS: PropertyDescriptor = {
  get(this: MapSpec) {
    const state = lazyZeros.get(this);
    return (state.bytes ??= new Uint8Array(state.size));
  },
  set(this: MapSpec, v: Uint8Array | undefined) {
    lazyZeros.get(this).bytes = v;
  },
  enumerable: true,
  configurable: true,
};

/**
 * Give a `.bss` map spec `contents` that are allocated (as zeros) only when first read or
 * replaced: a section that claims gigabytes costs nothing until someone looks at it, and a
 * collection creates it in the kernel (zeroed there) without ever allocating it here.
 */
function lazyZeroContents(m: MapSpec, size: number): void {
  lazyZeros.attach(m, { size });
  Object.defineProperty(m, "contents", LAZY_ZERO_CONTENTS);
}

/**
 * Whether `m` is a `.bss` map whose zero contents nobody has read or replaced: loading it needs
 * no write, as the kernel creates array maps zeroed.
 */
export function zeroContentsUntouched(m: MapSpec): boolean {
  return lazyZeros.has(m) && lazyZeros.get(m).bytes === undefined;
}

/** Global data maps and the variables in them. */
export function readDataSections(
  elf: ElfFile,
  btf: BtfSpec | undefined,
  objectName: string,
): { maps: MapSpec[]; variables: VariableSpec[] } {
  const maps: MapSpec[] = [];
  const variables: VariableSpec[] = [];
  for (const s of elf.sections) {
    const kind = dataSectionKind(s);
    if (!kind || s.size === 0) continue;
    const datasec = btf?.typeByName(s.name, "datasec");
    // BTF of each variable, by name (clang's DATASEC gives var ids; offsets come from symbols).
    const varTypes = new Map<string, { type: number; static: boolean }>();
    if (datasec && btf) {
      for (const v of datasec.vars) {
        const t = btf.typeById(v.type);
        if (t.kind === "var") varTypes.set(t.name, { type: t.type, static: t.linkage === "static" });
      }
    }
    const syms = elf.symbols.filter((x) => x.sectionIndex === s.index && x.type === STT.OBJECT && x.name !== "");
    const hasGlobal = datasec
      ? [...varTypes.values()].some((v) => !v.static)
      : syms.some((x) => x.bind !== STB.LOCAL);
    const readonly = kind === "rodata";
    let flags = readonly ? BPF_F_RDONLY_PROG : 0;
    if (hasGlobal) flags |= BPF_F_MMAPABLE;
    if (s.size > 0xffffffff) throw new ParseError(`ELF: data section "${s.name}" is too large`, { offset: s.offset });
    maps.push({
      name: internalMapName(objectName, s.name),
      type: "array",
      keySize: 4,
      valueSize: s.size,
      maxEntries: 1,
      flags,
      section: s.name,
      kind: "data",
      contents: kind === "bss" ? undefined : s.data.slice(),
      freeze: readonly,
      btfKeyTypeId: 0,
      btfValueTypeId: datasec?.id ?? 0,
    });
    if (kind === "bss") lazyZeroContents(maps[maps.length - 1], s.size);
    for (const sym of syms) {
      if (sym.value + sym.size > s.size) {
        throw new ParseError(`ELF: variable "${sym.name}" (${sym.size} bytes at ${sym.value}) does not fit "${s.name}"`, { offset: s.offset });
      }
      const bt = varTypes.get(sym.name);
      variables.push({
        name: sym.name,
        map: s.name,
        offset: sym.value,
        size: sym.size,
        typeId: bt?.type ?? 0,
        readonly,
        static: bt ? bt.static : sym.bind === STB.LOCAL,
      });
    }
  }
  return { maps, variables };
}

/** Config names libbpf fills without reading the kernel config. */
const SPECIAL_KCONFIG = new Set(["LINUX_KERNEL_VERSION", "LINUX_HAS_BPF_COOKIE", "LINUX_HAS_SYSCALL_WRAPPER"]);

/**
 * `.kconfig` and `__ksym` externs. Kconfig externs are laid out in one `.kconfig` map (in the
 * order of the BTF DATASEC, each aligned to its type), which is read-only and frozen.
 */
export function readExterns(elf: ElfFile, btf: BtfSpec | undefined, objectName: string): { externs: ExternSpec[]; map?: MapSpec } {
  const undef = elf.symbols.filter((s) => s.sectionIndex === SHN.UNDEF && s.name !== "" && s.type !== STT.FILE && s.type !== STT.SECTION);
  if (undef.length === 0) return { externs: [] };
  const kconfigVars = new Map<string, number>();
  const ksymNames = new Set<string>();
  const kconfigOrder: string[] = [];
  if (btf) {
    const kc = btf.typeByName(".kconfig", "datasec");
    for (const v of kc?.vars ?? []) {
      const t = btf.typeById(v.type);
      if (t.kind === "var") {
        kconfigVars.set(t.name, t.type);
        kconfigOrder.push(t.name);
      }
    }
    const ks = btf.typeByName(".ksyms", "datasec");
    for (const v of ks?.vars ?? []) ksymNames.add(btf.nameOf(v.type));
  }
  const externs: ExternSpec[] = [];
  let offset = 0;
  const weakByName = new Map(undef.map((s) => [s.name, s.bind === STB.WEAK]));
  // libbpf's layout: by alignment (largest first), then size (largest first), then name.
  const laid = kconfigOrder
    .filter((name) => weakByName.has(name)) // declared but never used: no symbol
    .map((name) => {
      const typeId = kconfigVars.get(name)!;
      return { name, typeId, size: typeSize(btf!, typeId), align: Math.min(8, typeAlignment(btf!, typeId)) };
    })
    .sort((a, b) => b.align - a.align || b.size - a.size || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const k of laid) {
    offset = Math.ceil(offset / k.align) * k.align;
    externs.push({ name: k.name, kind: "kconfig", weak: weakByName.get(k.name)!, offset, size: k.size, typeId: k.typeId });
    offset += k.size;
  }
  for (const s of undef) {
    if (kconfigVars.has(s.name)) continue;
    if (ksymNames.has(s.name) || s.type === STT.FUNC || s.type === STT.NOTYPE || s.type === STT.OBJECT) {
      if (!btf && (s.name.startsWith("CONFIG_") || SPECIAL_KCONFIG.has(s.name))) {
        throw new ParseError(`extern "${s.name}": .kconfig externs need the object's BTF (compile with -g)`);
      }
      externs.push({ name: s.name, kind: "ksym", weak: s.bind === STB.WEAK, typeId: btf ? btf.idsByName(s.name)[0] ?? 0 : 0 });
    }
  }
  const kconfig = externs.filter((e) => e.kind === "kconfig");
  if (kconfig.length === 0) return { externs };
  const size = offset;
  const kc = btf!.typeByName(".kconfig", "datasec");
  return {
    externs,
    map: {
      name: internalMapName(objectName, ".kconfig"),
      type: "array",
      keySize: 4,
      valueSize: size,
      maxEntries: 1,
      flags: BPF_F_RDONLY_PROG | BPF_F_MMAPABLE,
      section: ".kconfig",
      kind: "kconfig",
      contents: new Uint8Array(size),
      freeze: true,
      btfKeyTypeId: 0,
      btfValueTypeId: kc?.id ?? 0,
    },
  };
}

/** Whether a kconfig extern's BTF type is a bool, a char (tristate), or an integer, and its signedness. */
export function kconfigValueKind(btf: BtfSpec, typeId: number): { kind: "bool" | "char" | "int" | "enum" | "array"; signed: boolean; size: number } {
  const t = skipQualifiers(btf, typeId);
  const size = typeSize(btf, typeId);
  if (t.kind === "int") return { kind: t.bool ? "bool" : t.char ? "char" : "int", signed: t.signed, size };
  if (t.kind === "enum" || t.kind === "enum64") return { kind: "enum", signed: t.signed, size };
  if (t.kind === "array") return { kind: "array", signed: false, size };
  throw new ParseError(`.kconfig extern has an unsupported type (${t.kind})`);
}
