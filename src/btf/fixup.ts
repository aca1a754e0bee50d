/**
 * Fix-ups that object BTF needs before `BPF_BTF_LOAD`, as pure functions over type lists.
 *
 * clang leaves DATASEC sizes and VAR offsets at 0 (the linker, not the compiler, knows them),
 * and older kernels refuse kinds newer than they are. The ELF loader gives the facts from the
 * ELF file (section sizes, symbol values) and the kernel's features; these functions return new
 * type lists and never modify their input. Ids are preserved: every type keeps its id, and a
 * replacement that needs a helper type appends it at the end.
 */
import { ParseError } from "../errors.js";
import { copyType } from "./marshal.js";
import type { BtfType, BtfTypeInit } from "./types.js";

/** What fixupDatasecs needs from the ELF file. */
export interface DatasecLayout {
  /** Size in bytes of the ELF section named `section`, or undefined when there is none. */
  sectionSize(section: string): number | undefined;
  /** Value (offset in its section) of the symbol `variable` in `section`, or undefined. */
  variableOffset(section: string, variable: string): number | undefined;
}

/** Datasecs of extern variables: their layout comes from the loader, not the ELF sections. */
const EXTERN_SECTIONS = new Set([".kconfig", ".ksyms"]);

/**
 * Set each DATASEC's size from its ELF section and each variable's offset from its symbol, then
 * sort the variables by offset (the kernel requires ascending, non-overlapping entries). Extern
 * sections (`.kconfig`, `.ksyms`) and extern variables are left as they are. Throws ParseError
 * naming the datasec or variable when the ELF file lacks the section or symbol.
 */
export function fixupDatasecs(types: readonly BtfType[], layout: DatasecLayout): BtfType[] {
  const byId = new Map<number, BtfType>();
  for (const t of types) byId.set(t.id, t);
  return types.map((t) => {
    if (t.kind !== "datasec" || EXTERN_SECTIONS.has(t.name)) return t;
    const c = copyType(t, t.id) as typeof t;
    if (c.size === 0) {
      const size = layout.sectionSize(c.name);
      if (size === undefined) {
        throw new ParseError(`BTF: datasec "${c.name}" [${c.id}]: the ELF file has no section "${c.name}"`);
      }
      c.size = size;
    }
    for (const v of c.vars) {
      const vt = byId.get(v.type);
      if (!vt || vt.kind !== "var") continue; // funcs in .ksyms and the like
      if (vt.linkage === "extern") continue;
      const off = layout.variableOffset(c.name, vt.name);
      if (off === undefined) {
        throw new ParseError(`BTF: variable "${vt.name}" of datasec "${c.name}": the ELF file has no symbol for it`);
      }
      v.offset = off;
    }
    c.vars.sort((a, b) => a.offset - b.offset);
    return c;
  });
}

/**
 * The BTF features a kernel supports, each with the version that added it. The loader probes
 * them (`probeBtfFeatures` in src/features/btf.ts) and passes them to sanitizeBtf.
 */
export interface BtfFeatures {
  /** FUNC and FUNC_PROTO (4.20/5.0). */
  func: boolean;
  /** FUNC with global linkage (5.6). */
  funcGlobal: boolean;
  /** VAR and DATASEC (5.2). */
  datasec: boolean;
  /** FLOAT (5.13). */
  float: boolean;
  /** DECL_TAG (5.16). */
  declTag: boolean;
  /** TYPE_TAG (5.17). */
  typeTag: boolean;
  /** ENUM64 and signed enums (6.0). */
  enum64: boolean;
}

/** Every feature present (this machine's 6.18 and anything since 6.0). */
export const ALL_BTF_FEATURES: Readonly<BtfFeatures> = Object.freeze({
  func: true,
  funcGlobal: true,
  datasec: true,
  float: true,
  declTag: true,
  typeTag: true,
  enum64: true,
});

/**
 * Replace kinds a kernel lacks with kinds it has, keeping every id and every size, so maps and
 * programs that refer to type ids still line up (libbpf does the same, documented in its
 * "BTF sanitization"): VAR → 1-byte int, DATASEC → struct of its variables, FUNC → typedef,
 * FUNC_PROTO → enum (unnamed parameters get names: enumerators need them), global FUNC → static, FLOAT → empty struct of the same size, DECL_TAG →
 * 1-byte int, TYPE_TAG → const, ENUM64 → union of same-sized ints (an int type is appended).
 * Returns new types; when nothing needs replacing the result equals the input.
 */
export function sanitizeBtf(types: readonly BtfType[], features: BtfFeatures): BtfType[] {
  const out: BtfType[] = [];
  let nextId = types.length ? types[types.length - 1].id + 1 : 1;
  const extra: BtfType[] = [];
  const intOfSize = new Map<number, number>();
  const helperInt = (size: number): number => {
    let id = intOfSize.get(size);
    if (id === undefined) {
      id = nextId++;
      extra.push({ id, kind: "int", name: "", size, signed: false, char: false, bool: false, bitOffset: 0, bits: size * 8 });
      intOfSize.set(size, id);
    }
    return id;
  };
  const byteInt = (t: BtfType, keepName: boolean): BtfType => ({
    id: t.id,
    kind: "int",
    name: keepName ? t.name : "",
    size: 1,
    signed: false,
    char: false,
    bool: false,
    bitOffset: 0,
    bits: 8,
  });
  const byId = new Map(types.map((x) => [x.id, x]));
  for (const t of types) {
    switch (t.kind) {
      case "var":
        out.push(features.datasec ? t : byteInt(t, true));
        break;
      case "datasec":
        if (features.datasec) out.push(t);
        else {
          out.push({
            id: t.id,
            kind: "struct",
            // a datasec name like ".data" is not a C identifier; the kernel checks struct names
            name: t.name.replace(/[^A-Za-z0-9_]/g, "_"),
            size: t.size,
            members: t.vars.map((v) => {
              const vt = byId.get(v.type);
              return { name: vt?.name ?? "", type: v.type, bitOffset: v.offset * 8, bitfieldSize: 0 };
            }),
          });
        }
        break;
      case "func":
        if (!features.func) out.push({ id: t.id, kind: "typedef", name: t.name, type: t.type });
        else if (!features.funcGlobal && t.linkage !== "static") out.push({ ...t, linkage: "static" });
        else out.push(t);
        break;
      case "func_proto":
        out.push(
          features.func
            ? t
            : { id: t.id, kind: "enum", name: "", size: 4, signed: false, values: t.params.map((p, i) => ({ name: p.name || `__param${i}`, value: p.type })) },
        );
        break;
      case "float":
        out.push(features.float ? t : { id: t.id, kind: "struct", name: "", size: t.size, members: [] });
        break;
      case "decl_tag":
        out.push(features.declTag ? t : byteInt(t, false));
        break;
      case "type_tag":
        out.push(features.typeTag ? t : { id: t.id, kind: "const", name: "", type: t.type });
        break;
      case "enum":
        // signed enums (kind_flag) came with enum64
        out.push(features.enum64 || !t.signed ? t : { ...t, signed: false, values: t.values.map((v) => ({ ...v, value: v.value >>> 0 })) });
        break;
      case "enum64":
        if (features.enum64) out.push(t);
        else {
          const intId = helperInt(t.size);
          out.push({
            id: t.id,
            kind: "union",
            name: t.name,
            size: t.size,
            members: t.values.map((v) => ({ name: v.name, type: intId, bitOffset: 0, bitfieldSize: 0 })),
          });
        }
        break;
      default:
        out.push(t);
    }
  }
  return out.concat(extra);
}

/** Copy a list of types (deep), e.g. to edit parsed types without touching a spec's cache. */
export function copyTypes(types: Iterable<BtfTypeInit & { id: number }>): BtfType[] {
  const out: BtfType[] = [];
  for (const t of types) out.push(copyType(t, t.id));
  return out;
}
