/**
 * BTF as text, one type per line with its members indented, in the layout of
 * `bpftool btf dump file … format raw` (so the two can be diffed). Pure.
 */
import type { BtfSpec } from "./spec.js";
import type { BtfType } from "./types.js";

const anon = (s: string) => `'${s === "" ? "(anon)" : s}'`;

/** One type in bpftool's raw format (`[1] INT 'int' size=4 bits_offset=0 nr_bits=32 encoding=SIGNED`). */
export function formatRawType(spec: BtfSpec, t: BtfType): string {
  const head = `[${t.id}] ${t.kind.toUpperCase()} ${anon(t.name)}`;
  switch (t.kind) {
    case "void":
      return head;
    case "int":
      return `${head} size=${t.size} bits_offset=${t.bitOffset} nr_bits=${t.bits} encoding=${t.signed ? "SIGNED" : t.char ? "CHAR" : t.bool ? "BOOL" : "(none)"}`;
    case "ptr":
    case "typedef":
    case "volatile":
    case "const":
    case "restrict":
    case "type_tag":
      return `${head} type_id=${t.type}`;
    case "array":
      return `${head} type_id=${t.type} index_type_id=${t.indexType} nr_elems=${t.nelems}`;
    case "struct":
    case "union":
      return [
        `${head} size=${t.size} vlen=${t.members.length}`,
        ...t.members.map(
          (m) => `\t${anon(m.name)} type_id=${m.type} bits_offset=${m.bitOffset}${m.bitfieldSize ? ` bitfield_size=${m.bitfieldSize}` : ""}`,
        ),
      ].join("\n");
    case "enum":
    case "enum64":
      return [
        `${head} encoding=${t.signed ? "SIGNED" : "UNSIGNED"} size=${t.size} vlen=${t.values.length}`,
        ...t.values.map((v) => `\t'${v.name}' val=${v.value}${t.kind === "enum64" ? (t.signed ? "LL" : "ULL") : ""}`),
      ].join("\n");
    case "fwd":
      return `${head} fwd_kind=${t.union ? "union" : "struct"}`;
    case "func":
      return `${head} type_id=${t.type} linkage=${t.linkage}`;
    case "func_proto":
      return [
        `${head} ret_type_id=${t.returnType} vlen=${t.params.length}`,
        ...t.params.map((p) => `\t${anon(p.name)} type_id=${p.type}`),
      ].join("\n");
    case "var":
      return `${head} type_id=${t.type}, linkage=${t.linkage}`;
    case "datasec":
      return [
        `${head} size=${t.size} vlen=${t.vars.length}`,
        ...t.vars.map((v) => {
          const vt = spec.has(v.type) ? spec.typeById(v.type) : undefined;
          const what = vt ? ` (${vt.kind.toUpperCase()} '${vt.name}')` : "";
          return `\ttype_id=${v.type} offset=${v.offset} size=${v.size}${what}`;
        }),
      ].join("\n");
    case "float":
      return `${head} size=${t.size}`;
    case "decl_tag":
      return `${head} type_id=${t.type} component_idx=${t.componentIdx}`;
  }
}

/** Every own type of `spec` in bpftool's raw format, one type (and its members) per line. */
export function dumpRaw(spec: BtfSpec): string {
  const out: string[] = [];
  for (const t of spec) out.push(formatRawType(spec, t));
  return out.length ? `${out.join("\n")}\n` : "";
}

/** A name as bpftool's JSON gives it: `(anon)` for none. */
const jsonName = (s: string) => (s === "" ? "(anon)" : s);

/**
 * One type as `bpftool -j btf dump … format raw` prints it: the raw text's facts under its
 * field names (`type_id`, `bits_offset`, `members`, `values`, `vars`…). Enum64 values are
 * bigints (printed as bare integers).
 */
export function rawTypeJson(t: BtfType): Record<string, unknown> {
  const head = { id: t.id, kind: t.kind.toUpperCase(), name: jsonName(t.name) };
  switch (t.kind) {
    case "void":
      return head;
    case "int":
      return { ...head, size: t.size, bits_offset: t.bitOffset, nr_bits: t.bits, encoding: t.signed ? "SIGNED" : t.char ? "CHAR" : t.bool ? "BOOL" : "(none)" };
    case "ptr":
    case "typedef":
    case "volatile":
    case "const":
    case "restrict":
    case "type_tag":
      return { ...head, type_id: t.type };
    case "array":
      return { ...head, type_id: t.type, index_type_id: t.indexType, nr_elems: t.nelems };
    case "struct":
    case "union":
      return {
        ...head,
        size: t.size,
        vlen: t.members.length,
        members: t.members.map((m) => ({ name: jsonName(m.name), type_id: m.type, bits_offset: m.bitOffset, ...(m.bitfieldSize ? { bitfield_size: m.bitfieldSize } : {}) })),
      };
    case "enum":
    case "enum64":
      return { ...head, encoding: t.signed ? "SIGNED" : "UNSIGNED", size: t.size, vlen: t.values.length, values: t.values.map((v) => ({ name: v.name, val: v.value })) };
    case "fwd":
      return { ...head, fwd_kind: t.union ? "union" : "struct" };
    case "func":
      return { ...head, type_id: t.type, linkage: t.linkage };
    case "func_proto":
      return { ...head, ret_type_id: t.returnType, vlen: t.params.length, params: t.params.map((p) => ({ name: jsonName(p.name), type_id: p.type })) };
    case "var":
      return { ...head, type_id: t.type, linkage: t.linkage };
    case "datasec":
      return { ...head, size: t.size, vlen: t.vars.length, vars: t.vars.map((v) => ({ type_id: v.type, offset: v.offset, size: v.size })) };
    case "float":
      return { ...head, size: t.size };
    case "decl_tag":
      return { ...head, type_id: t.type, component_idx: t.componentIdx };
  }
}

/** Every own type of `spec` as `bpftool -j btf dump` prints them: `{ types: [...] }`. */
export function dumpRawJson(spec: BtfSpec): { types: Record<string, unknown>[] } {
  return { types: Array.from(spec, (t) => rawTypeJson(t)) };
}
