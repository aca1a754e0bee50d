/**
 * struct_ops maps defined in C, as libbpf reads them: every global variable of a
 * `SEC(".struct_ops")` or `SEC(".struct_ops.link")` section is one struct_ops map named after the
 * variable. Its BTF type (a struct named like the kernel's ops type, e.g. `tcp_congestion_ops`)
 * is the *local* layout; the section bytes are the initial data members, and the relocations of
 * `.rel.struct_ops*` say which program each function-pointer member points at. The kernel layout
 * (value size, member indices, the `bpf_struct_ops_<type>` wrapper) is only known at load time.
 * Pure: no kernel.
 */
import { skipModifiers, skipQualifiers, typeSize } from "../btf/query.js";
import type { BtfSpec } from "../btf/spec.js";
import { ParseError } from "../errors.js";
import { STT, type ElfFile, type ElfSection } from "./elf-file.js";
import { objectSymbols } from "./maps.js";
import type { MapSpec } from "../spec/map-spec.js";
import { MapFlags } from "../spec/map-spec.js";


/**
 * The sections libbpf reads struct_ops variables from, and whether they are registered by link.
 * A leading `?` (libbpf 1.4) makes the maps optional: not created by default.
 */
export function structOpsSectionKind(name: string): "link" | "update" | undefined {
  const n = name.startsWith("?") ? name.slice(1) : name;
  if (n === ".struct_ops") return "update";
  if (n === ".struct_ops.link") return "link";
  return undefined;
}

/** Read the struct_ops maps of one `.struct_ops*` section. Throws ParseError for anything malformed. */
export function readStructOpsMaps(elf: ElfFile, section: ElfSection, btf: BtfSpec | undefined): MapSpec[] {
  const kind = structOpsSectionKind(section.name);
  if (!kind) return [];
  const syms = objectSymbols(elf, section).filter((s) => s.type === STT.OBJECT);
  if (syms.length === 0) return [];
  if (!btf) throw new ParseError(`ELF: section "${section.name}" defines struct_ops maps but the object has no BTF (compile with -g)`);
  const datasec = btf.typeByName(section.name, "datasec");
  if (!datasec) throw new ParseError(`ELF: BTF has no DATASEC "${section.name}" for its struct_ops variables`);
  const varType = new Map<string, number>();
  for (const v of datasec.vars) {
    const t = btf.typeById(v.type);
    if (t.kind === "var") varType.set(t.name, t.type);
  }
  const out: { spec: MapSpec; start: number; end: number; members: readonly { name: string; bitOffset: number; type: number }[] }[] = [];
  for (const sym of syms) {
    const typeId = varType.get(sym.name);
    if (typeId === undefined) throw new ParseError(`struct_ops "${sym.name}": no BTF variable of that name in "${section.name}"`);
    const st = skipQualifiers(btf, typeId);
    if (st.kind !== "struct" || !st.name) throw new ParseError(`struct_ops "${sym.name}": its type must be a named struct (the kernel's ops type), not ${st.kind === "struct" ? "an anonymous struct" : `a ${st.kind}`}`);
    if (sym.value + st.size > section.data.length && section.data.length > 0) {
      throw new ParseError(`struct_ops "${sym.name}": ${st.size} bytes at ${sym.value} do not fit "${section.name}"`, { offset: section.offset + sym.value });
    }
    const data = section.data.length > 0 ? section.data.slice(sym.value, sym.value + st.size) : new Uint8Array(st.size);
    const spec: MapSpec = {
      name: sym.name,
      type: "struct_ops",
      keySize: 4,
      maxEntries: 1,
      section: section.name,
      kind: "struct_ops",
      btfValueTypeId: typeId,
      structOps: { typeName: st.name, data, programs: {} },
    };
    if (kind === "link") spec.flags = MapFlags.LINK; // registered by a bpf_link, not by its update (Linux 6.4)
    if (section.name.startsWith("?")) spec.autocreate = false;
    out.push({ spec, start: sym.value, end: sym.value + st.size, members: st.members });
  }
  // Function-pointer members: the relocation at the member's offset names the program.
  for (const rel of elf.relocations(section)) {
    const owner = out.find((o) => rel.offset >= o.start && rel.offset < o.end);
    if (!owner) throw new ParseError(`ELF: relocation at ${rel.offset} in "${section.name}" is outside every struct_ops variable`, { offset: section.offset });
    const at = (rel.offset - owner.start) * 8;
    const member = owner.members.find((m) => m.bitOffset === at);
    const what = `struct_ops "${owner.spec.name}"`;
    if (!member) throw new ParseError(`${what}: relocation at byte ${rel.offset - owner.start} is not at a member`);
    const mt = skipQualifiers(btf, member.type);
    if (mt.kind !== "ptr" || skipModifiers(btf, mt.type).kind !== "func_proto") {
      throw new ParseError(`${what}: member "${member.name}" is set to a symbol but is not a function pointer`);
    }
    const sym = rel.symbol;
    if (sym.type !== STT.FUNC || !sym.name) throw new ParseError(`${what}: member "${member.name}" points at "${sym.name}", which is not a program (a SEC("struct_ops/...") function)`);
    owner.spec.structOps!.programs[member.name] = sym.name;
    // The slot holds the function's address in the object: meaningless to the kernel.
    owner.spec.structOps!.data.fill(0, at / 8, at / 8 + 8);
  }
  // Member sizes must be known to copy data members by name at load.
  for (const o of out) {
    for (const m of o.members) {
      if (m.bitOffset % 8 !== 0) throw new ParseError(`struct_ops "${o.spec.name}": member "${m.name}" is a bitfield, which struct_ops cannot set`);
      typeSize(btf, m.type);
    }
  }
  return out.map((o) => o.spec);
}
