/**
 * Map definitions in an ELF object: BTF-defined maps in `.maps` (libbpf's `__uint`/`__type`/
 * `__array` encoding, inner map templates, `values` initialisers) and legacy definitions in
 * `maps` (`struct bpf_map_def`, and iproute2's `struct bpf_elf_map`). Pure: no kernel.
 */
import { skipQualifiers, typeSize } from "../btf/query.js";
import type { BtfSpec } from "../btf/spec.js";
import type { BtfStruct } from "../btf/types.js";
import { ParseError } from "../errors.js";
import { mapTypeName } from "../spec/map-type.js";
import { SHN, STT, type ElfFile, type ElfSection, type ElfSymbol } from "./elf-file.js";
import type { MapSlotValue, MapSpec } from "../spec/map-spec.js";

/** libbpf's `LIBBPF_PIN_BY_NAME`. */
const PIN_BY_NAME = 1;
/** iproute2's `PIN_GLOBAL_NS`: pinned under the global namespace by name. */
const IPROUTE2_PIN_GLOBAL_NS = 2;
const PROG_ARRAY = 3;
const ARRAY_OF_MAPS = 12;
const HASH_OF_MAPS = 13;

function mapType(n: number): MapSpec["type"] {
  return mapTypeName(n) ?? n;
}

function mapError(name: string, what: string): ParseError {
  return new ParseError(`map "${name}": ${what}`);
}

/** `__uint(field, N)` is `int (*field)[N]`; `__ulong` uses an enum whose value is N. */
function uintField(btf: BtfSpec, name: string, memberType: number, field: string): number {
  const t = skipQualifiers(btf, memberType);
  if (t.kind === "ptr") {
    const arr = skipQualifiers(btf, t.type);
    if (arr.kind !== "array") throw mapError(name, `${field} is not encoded as __uint (pointer to array)`);
    return arr.nelems;
  }
  if ((t.kind === "enum" || t.kind === "enum64") && t.values.length > 0) return Number(t.values[0].value);
  throw mapError(name, `${field} has an unexpected BTF encoding (${t.kind})`);
}

/** `__type(field, T)` is `T *field`: the id of T. */
function typeField(btf: BtfSpec, name: string, memberType: number, field: string): number {
  const t = skipQualifiers(btf, memberType);
  if (t.kind !== "ptr") throw mapError(name, `${field} is not encoded as __type (a pointer)`);
  return t.type;
}

/** Read one BTF map definition struct. `where` names the map for errors. */
function parseDefinition(btf: BtfSpec, struct: BtfStruct, name: string, section: string, depth: number): MapSpec & { valuesOffset?: number; valuesType?: number } {
  const spec: MapSpec & { valuesOffset?: number; valuesType?: number } = { name, type: 0, section, kind: "btf" };
  let seenType = false;
  for (const m of struct.members) {
    switch (m.name) {
      case "type":
        spec.type = mapType(uintField(btf, name, m.type, m.name));
        seenType = true;
        break;
      case "max_entries":
        spec.maxEntries = uintField(btf, name, m.type, m.name);
        break;
      case "map_flags":
        spec.flags = uintField(btf, name, m.type, m.name);
        break;
      case "numa_node":
        spec.numaNode = uintField(btf, name, m.type, m.name);
        break;
      case "key_size":
        setSize(spec, "keySize", uintField(btf, name, m.type, m.name), name);
        break;
      case "value_size":
        setSize(spec, "valueSize", uintField(btf, name, m.type, m.name), name);
        break;
      case "key": {
        const id = typeField(btf, name, m.type, m.name);
        setSize(spec, "keySize", typeSize(btf, id), name);
        spec.btfKeyTypeId = id;
        break;
      }
      case "value": {
        const id = typeField(btf, name, m.type, m.name);
        setSize(spec, "valueSize", typeSize(btf, id), name);
        spec.btfValueTypeId = id;
        break;
      }
      case "pinning": {
        const p = uintField(btf, name, m.type, m.name);
        if (p !== 0 && p !== PIN_BY_NAME) throw mapError(name, `unsupported pinning ${p} (only LIBBPF_PIN_NONE and LIBBPF_PIN_BY_NAME)`);
        if (p === PIN_BY_NAME) spec.pinning = "by_name";
        break;
      }
      case "map_extra": {
        const t = skipQualifiers(btf, m.type);
        if ((t.kind === "enum" || t.kind === "enum64") && t.values.length > 0) spec.mapExtra = BigInt(t.values[0].value);
        else spec.mapExtra = uintField(btf, name, m.type, m.name);
        break;
      }
      case "values": {
        // __array(values, T) is `T *values[]`: a zero-length array of pointers.
        const arr = skipQualifiers(btf, m.type);
        if (arr.kind !== "array") throw mapError(name, "values is not an array");
        if (m.bitOffset % 8 !== 0) throw mapError(name, "values is not byte-aligned");
        const ptr = skipQualifiers(btf, arr.type);
        if (ptr.kind !== "ptr") throw mapError(name, "values is not an array of pointers");
        spec.valuesOffset = m.bitOffset / 8;
        spec.valuesType = ptr.type;
        break;
      }
      default:
        throw mapError(name, `unknown field "${m.name}" in the map definition`);
    }
  }
  if (!seenType) throw mapError(name, "the definition has no type");
  const t = typeof spec.type === "number" ? spec.type : undefined;
  const isMapOfMaps = spec.type === "array_of_maps" || spec.type === "hash_of_maps" || t === ARRAY_OF_MAPS || t === HASH_OF_MAPS;
  if (spec.valuesType !== undefined) {
    if (isMapOfMaps) {
      if (depth > 0) throw mapError(name, "a map of maps cannot be nested more than one level");
      const inner = skipQualifiers(btf, spec.valuesType);
      if (inner.kind !== "struct") throw mapError(name, "the inner map definition is not a struct");
      const innerSpec = parseDefinition(btf, inner, `${name}.inner`, section, depth + 1);
      delete innerSpec.valuesOffset;
      delete innerSpec.valuesType;
      spec.innerMap = innerSpec;
      spec.valueSize ??= 4;
    } else if (spec.type === "prog_array" || t === PROG_ARRAY) {
      spec.valueSize ??= 4;
    } else {
      throw mapError(name, `values are only allowed for prog arrays and maps of maps, not ${String(spec.type)}`);
    }
  }
  return spec;
}

function setSize(spec: MapSpec, field: "keySize" | "valueSize", size: number, name: string): void {
  if (spec[field] !== undefined && spec[field] !== size) {
    throw mapError(name, `${field === "keySize" ? "key" : "value"} size ${size} disagrees with ${spec[field]} given before`);
  }
  spec[field] = size;
}

/** Symbols defined in `section` that name objects (maps, variables). */
export function objectSymbols(elf: ElfFile, section: ElfSection): ElfSymbol[] {
  return elf.symbols.filter(
    (s) => s.sectionIndex === section.index && s.name !== "" && (s.type === STT.OBJECT || s.type === STT.NOTYPE) && s.sectionIndex !== SHN.UNDEF,
  );
}

/**
 * BTF-defined maps of the `.maps` section. `values` slots are filled from `.rel.maps`:
 * program names for prog arrays, map names for maps of maps.
 */
export function readBtfMaps(elf: ElfFile, section: ElfSection, btf: BtfSpec | undefined): MapSpec[] {
  const syms = objectSymbols(elf, section);
  if (syms.length === 0) return [];
  if (!btf) throw new ParseError(`ELF: section "${section.name}" defines maps but the object has no BTF (compile with -g)`);
  const datasec = btf.typeByName(section.name, "datasec");
  if (!datasec) throw new ParseError(`ELF: BTF has no DATASEC "${section.name}" for the map definitions`);
  const varByName = new Map<string, number>();
  for (const v of datasec.vars) {
    const t = btf.typeById(v.type);
    if (t.kind === "var") varByName.set(t.name, t.type);
  }
  const out: MapSpec[] = [];
  const byOffset: { start: number; end: number; spec: ReturnType<typeof parseDefinition> }[] = [];
  for (const sym of syms) {
    const typeId = varByName.get(sym.name);
    if (typeId === undefined) throw new ParseError(`map "${sym.name}": no BTF variable of that name in "${section.name}"`);
    const struct = skipQualifiers(btf, typeId);
    if (struct.kind !== "struct") throw new ParseError(`map "${sym.name}": its BTF type is a ${struct.kind}, not a struct`);
    const spec = parseDefinition(btf, struct, sym.name, section.name, 0);
    byOffset.push({ start: sym.value, end: sym.value + Math.max(sym.size, struct.size), spec });
    out.push(spec);
  }
  // Initial values: relocations inside the `values` array.
  for (const rel of elf.relocations(section)) {
    const owner = byOffset.find((o) => rel.offset >= o.start && rel.offset < o.end);
    if (!owner || owner.spec.valuesOffset === undefined) {
      throw new ParseError(`ELF: relocation at ${rel.offset} in "${section.name}" is not inside a map's values`, { offset: section.offset });
    }
    const rel0 = rel.offset - owner.start - owner.spec.valuesOffset;
    if (rel0 < 0 || rel0 % 8 !== 0) throw new ParseError(`map "${owner.spec.name}": misaligned values initialiser`, { offset: section.offset + rel.offset });
    const index = rel0 / 8;
    if (owner.spec.maxEntries !== undefined && index >= owner.spec.maxEntries) {
      throw new ParseError(`map "${owner.spec.name}": values[${index}] is beyond max_entries ${owner.spec.maxEntries}`);
    }
    const sym = rel.symbol;
    let value: MapSlotValue;
    if (sym.type === STT.FUNC) value = { kind: "program", name: sym.name };
    else if (sym.sectionIndex === section.index) value = { kind: "map", name: sym.name };
    else throw new ParseError(`map "${owner.spec.name}": values[${index}] refers to "${sym.name}", neither a program nor a map`);
    const isProgArray = owner.spec.type === "prog_array" || owner.spec.type === PROG_ARRAY;
    if (isProgArray !== (value.kind === "program")) {
      throw new ParseError(`map "${owner.spec.name}": values[${index}] is a ${value.kind}, which a ${String(owner.spec.type)} cannot hold`);
    }
    (owner.spec.values ??= new Map()).set(index, value);
  }
  for (const o of byOffset) {
    delete o.spec.valuesOffset;
    delete o.spec.valuesType;
  }
  return out;
}

/**
 * Legacy definitions of the `maps` section: `struct bpf_map_def` (type, key_size, value_size,
 * max_entries, map_flags: 20 bytes) or iproute2's `struct bpf_elf_map` (adds id, pinning,
 * inner_id, inner_idx: 28–36 bytes).
 */
export function readLegacyMaps(elf: ElfFile, section: ElfSection): MapSpec[] {
  const syms = objectSymbols(elf, section).sort((a, b) => a.value - b.value);
  if (syms.length === 0) return [];
  const le = elf.byteOrder === "little";
  const view = new DataView(section.data.buffer, section.data.byteOffset, section.data.byteLength);
  const out: MapSpec[] = [];
  const defSize = syms.every((s) => s.size > 0) ? undefined : Math.floor(section.size / syms.length);
  for (const sym of syms) {
    const size = defSize ?? sym.size;
    if (size < 20 || sym.value + size > section.data.length) {
      throw new ParseError(`map "${sym.name}": legacy definition of ${size} bytes at ${sym.value} does not fit "${section.name}"`, {
        offset: section.offset + sym.value,
      });
    }
    const u32 = (i: number) => view.getUint32(sym.value + i * 4, le);
    const spec: MapSpec = {
      name: sym.name,
      type: mapType(u32(0)),
      keySize: u32(1),
      valueSize: u32(2),
      maxEntries: u32(3),
      flags: u32(4),
      section: section.name,
      kind: "legacy",
    };
    if (size >= 28) {
      // iproute2: id at word 5, pinning at word 6.
      const pinning = u32(6);
      if (pinning === IPROUTE2_PIN_GLOBAL_NS) spec.pinning = "by_name";
    } else if (size > 20) {
      for (let i = 20; i < size; i++) {
        if (section.data[sym.value + i] !== 0) {
          throw new ParseError(`map "${sym.name}": legacy definition has unknown non-zero fields after byte 20`, { offset: section.offset + sym.value + i });
        }
      }
    }
    out.push(spec);
  }
  return out;
}
