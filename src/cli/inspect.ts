/**
 * `tsbpf inspect <object.o> [--json]`: what an ELF object holds — programs, maps, variables,
 * externs, BTF — read with no kernel and no privileges.
 */
import { skipModifiers } from "../btf/query.js";
import type { BtfSpec } from "../btf/spec.js";
import { countSlots } from "../asm/encoding.js";
import { CollectionSpec } from "../elf/collection-spec.js";
import { readBtfExt } from "../elf/btf-ext-records.js";
import { arg, noMoreArgs, table, type Command } from "./command.js";

/** A C-like name of a BTF type ("struct hist_key", "__u32", "u8[16]"), bounded in depth. */
export function btfTypeName(btf: BtfSpec | undefined, id: number | undefined, depth = 0): string | undefined {
  if (!btf || !id) return undefined;
  if (depth > 8) return "…";
  try {
    const t = skipModifiers(btf, id);
    switch (t.kind) {
      case "struct":
      case "union":
      case "enum":
      case "enum64":
        return `${t.kind === "enum64" ? "enum" : t.kind} ${t.name || "(anon)"}`;
      case "ptr":
        return `${btfTypeName(btf, t.type, depth + 1) ?? "void"} *`;
      case "array":
        return `${btfTypeName(btf, t.type, depth + 1)}[${t.nelems}]`;
      case "datasec":
        return `datasec ${t.name}`;
      default:
        return t.name || t.kind;
    }
  } catch {
    return undefined;
  }
}

/** Everything `inspect` shows, as plain JSON-able data. */
export function describeSpec(spec: CollectionSpec): Record<string, unknown> {
  const btf = spec.btf;
  let ext: { funcInfo: number; lineInfo: number; coreRelos: number } | undefined;
  if (btf && spec.btfExt) {
    try {
      const r = readBtfExt(spec.btfExt, btf);
      const count = (m: Map<string, unknown[]>) => [...m.values()].reduce((n, l) => n + l.length, 0);
      ext = { funcInfo: count(r.funcInfo), lineInfo: count(r.lineInfo), coreRelos: count(r.coreRelos) };
    } catch {
      ext = undefined;
    }
  }
  return {
    object: spec.objectName,
    license: spec.license,
    ...(spec.version !== undefined ? { version: spec.version } : {}),
    byteOrder: spec.byteOrder,
    programs: Object.values(spec.programs).map((p) => ({
      name: p.name,
      section: p.section,
      type: p.type === 0 ? "unknown" : p.type,
      attachType: p.expectedAttachType ?? null,
      ...(p.sectionInfo?.targetText ? { target: p.sectionInfo.targetText } : {}),
      instructions: countSlots(p.instructions),
      autoload: p.autoload,
      ...(p.subprograms?.length ? { subprograms: p.subprograms } : {}),
      license: p.license ?? spec.license,
      flags: p.flags ?? 0,
    })),
    maps: Object.entries(spec.maps).map(([key, m]) => ({
      name: key,
      kernelName: m.name,
      type: m.type,
      keySize: m.keySize ?? 0,
      valueSize: m.valueSize ?? 0,
      ...(btfTypeName(btf, m.btfKeyTypeId) ? { keyType: btfTypeName(btf, m.btfKeyTypeId) } : {}),
      ...(btfTypeName(btf, m.btfValueTypeId) ? { valueType: btfTypeName(btf, m.btfValueTypeId) } : {}),
      maxEntries: m.maxEntries ?? 0,
      flags: m.flags ?? 0,
      pinning: m.pinning ?? "none",
      definedIn: m.section,
      ...(m.innerMap && "type" in m.innerMap ? { innerMap: { type: m.innerMap.type, keySize: m.innerMap.keySize, valueSize: m.innerMap.valueSize, maxEntries: m.innerMap.maxEntries } } : {}),
      ...(m.values ? { values: Object.fromEntries([...m.values].map(([i, v]) => [i, `${v.kind} ${v.name}`])) } : {}),
    })),
    variables: Object.values(spec.variables).map((v) => {
      const value = v.value;
      return {
        name: v.name,
        section: v.map,
        offset: v.offset,
        size: v.size,
        type: btfTypeName(btf, v.typeId) ?? null,
        readonly: v.readonly,
        value: value instanceof Uint8Array ? Buffer.from(value).toString("hex") : typeof value === "bigint" ? value.toString() : value,
      };
    }),
    externs: Object.values(spec.externs).map((e) => ({
      name: e.name,
      kind: e.kind,
      weak: e.weak,
      ...(e.size !== undefined ? { size: e.size } : {}),
      type: btfTypeName(btf, e.typeId) ?? null,
    })),
    btf: btf
      ? { types: btf.typeCount, ...(ext ? { funcInfo: ext.funcInfo, lineInfo: ext.lineInfo, coreRelocations: ext.coreRelos } : {}) }
      : null,
  };
}

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}


/** The human-readable report. */
export function formatSpec(d: ReturnType<typeof describeSpec>): string {
  const out: string[] = [];
  const progs = d.programs as Record<string, unknown>[];
  const maps = d.maps as Record<string, unknown>[];
  const vars = d.variables as Record<string, unknown>[];
  const exts = d.externs as Record<string, unknown>[];
  out.push(`object ${d.object}: license "${d.license}"${d.version !== undefined ? `, version ${hex(d.version as number)}` : ""}, ${d.byteOrder}-endian`);
  out.push("", `programs (${progs.length}):`);
  out.push(
    ...table([
      ["  name", "section", "type", "attach type", "insns", "load"],
      ...progs.map((p) => [`  ${p.name}`, String(p.section), String(p.type), String(p.attachType ?? "-"), String(p.instructions), p.autoload ? "yes" : "no (?)"]),
    ]),
  );
  out.push("", `maps (${maps.length}):`);
  out.push(
    ...table([
      ["  name", "type", "key", "value", "max", "flags", "pinning"],
      ...maps.map((m) => [
        `  ${m.name}`,
        String(m.type),
        `${m.keySize}${m.keyType ? ` (${m.keyType})` : ""}`,
        // A struct_ops value is the kernel's struct: its size is known only at load.
        `${m.type === "struct_ops" && !m.valueSize ? "at load" : m.valueSize}${m.valueType ? ` (${m.valueType})` : ""}`,
        String(m.maxEntries),
        hex(m.flags as number),
        String(m.pinning),
      ]),
    ]),
  );
  if (vars.length) {
    out.push("", `variables (${vars.length}):`);
    out.push(
      ...table([
        ["  name", "section", "offset", "size", "type", "value"],
        ...vars.map((v) => [`  ${v.name}`, String(v.section), String(v.offset), String(v.size), String(v.type ?? "-"), String(v.value)]),
      ]),
    );
  }
  if (exts.length) {
    out.push("", `externs (${exts.length}):`);
    out.push(...table([["  name", "kind", "weak"], ...exts.map((e) => [`  ${e.name}`, String(e.kind), e.weak ? "yes" : "no"])]));
  }
  const btf = d.btf as Record<string, number> | null;
  out.push(
    "",
    btf
      ? `BTF: ${btf.types} types${btf.funcInfo !== undefined ? `, ${btf.funcInfo} func info, ${btf.lineInfo} line info, ${btf.coreRelocations} CO-RE relocations` : ""}`
      : "BTF: none",
  );
  return out.join("\n");
}

/** The `inspect` command. */
export const command: Command = {
  summary: "show the programs, maps, variables, externs and BTF of a BPF object (no kernel needed)",
  args: "<object.o>",
  run(ctx) {
    const file = arg(ctx, 0, "<object.o>");
    noMoreArgs(ctx, 1);
    const d = describeSpec(CollectionSpec.fromFile(file));
    if (ctx.json) ctx.printJson(d);
    else ctx.out(formatSpec(d));
  },
};
