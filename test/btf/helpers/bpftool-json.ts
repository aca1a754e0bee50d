/**
 * Converts tsbpf's BTF type objects to the JSON that `bpftool btf dump file X -j` prints, so
 * tests can compare the parser with libbpf's reading of the same blob.
 */
import { execFileSync } from "node:child_process";
import type { BtfType } from "../../../src/btf/types.js";
import { hasTool } from "../../helpers/kernel.js";

export interface BpftoolType {
  id: number;
  kind: string;
  name: string;
  [k: string]: unknown;
}

/** Run bpftool on a BTF file (or a blob written to a temp file) and return its types. */
export function bpftoolTypes(file: string): BpftoolType[] {
  const out = execFileSync("bpftool", ["btf", "dump", "file", file, "-j"], { maxBuffer: 1 << 30 });
  return (JSON.parse(out.toString()) as { types: BpftoolType[] }).types;
}

export const hasBpftool = hasTool("bpftool", ["version"]);

const anon = (s: string) => (s === "" ? "(anon)" : s);

/** The bpftool JSON object for one type. */
export function toBpftool(t: BtfType): BpftoolType {
  const base = { id: t.id, kind: t.kind.toUpperCase(), name: anon(t.name) };
  switch (t.kind) {
    case "void":
      return base;
    case "int":
      return {
        ...base,
        size: t.size,
        bits_offset: t.bitOffset,
        nr_bits: t.bits,
        encoding: t.signed ? "SIGNED" : t.char ? "CHAR" : t.bool ? "BOOL" : "(none)",
      };
    case "ptr":
    case "typedef":
    case "volatile":
    case "const":
    case "restrict":
    case "type_tag":
      return { ...base, type_id: t.type };
    case "array":
      return { ...base, type_id: t.type, index_type_id: t.indexType, nr_elems: t.nelems };
    case "struct":
    case "union":
      return {
        ...base,
        size: t.size,
        vlen: t.members.length,
        members: t.members.map((m) => ({
          name: anon(m.name),
          type_id: m.type,
          bits_offset: m.bitOffset,
          ...(m.bitfieldSize ? { bitfield_size: m.bitfieldSize } : {}),
        })),
      };
    case "enum":
    case "enum64":
      return {
        ...base,
        encoding: t.signed ? "SIGNED" : "UNSIGNED",
        size: t.size,
        vlen: t.values.length,
        values: t.values.map((v) => ({ name: v.name, val: bpftoolEnumValue(t.kind, t.signed, v.value) })),
      };
    case "fwd":
      return { ...base, fwd_kind: t.union ? "union" : "struct" };
    case "func":
      return { ...base, type_id: t.type, linkage: t.linkage };
    case "func_proto":
      return {
        ...base,
        ret_type_id: t.returnType,
        vlen: t.params.length,
        params: t.params.map((p) => ({ name: anon(p.name), type_id: p.type })),
      };
    case "var":
      return { ...base, type_id: t.type, linkage: t.linkage };
    case "datasec":
      return {
        ...base,
        size: t.size,
        vlen: t.vars.length,
        vars: t.vars.map((v) => ({ type_id: v.type, offset: v.offset, size: v.size })),
      };
    case "float":
      return { ...base, size: t.size };
    case "decl_tag":
      return { ...base, type_id: t.type, component_idx: t.componentIdx };
  }
}

/**
 * bpftool prints an unsigned 32-bit enumerator of 2^31 or more sign-extended to 64 bits
 * (0xefffffff as 18446744073441116000); mirror that quirk so the rest compares exactly.
 */
function bpftoolEnumValue(kind: string, signed: boolean, value: number | bigint): number {
  if (kind === "enum" && !signed && typeof value === "number" && value >= 0x80000000) {
    return Number(BigInt.asUintN(64, BigInt(value - 0x100000000)));
  }
  return Number(value);
}
