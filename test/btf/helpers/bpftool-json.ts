/**
 * Converts tsbpf's BTF type objects to the JSON that `bpftool btf dump file X -j` prints, so
 * tests can compare the parser with libbpf's reading of the same blob.
 */
import { execFileSync } from "node:child_process";
import type { BtfType } from "../../../src/btf/types.js";
import { rawTypeJson } from "../../../src/btf/raw-dump.js";
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

/**
 * The bpftool JSON object for one type: the library's own `btf dump --json` mapping (which the
 * CLI test compares with bpftool on every object), with bpftool's enum quirk below applied.
 */
export function toBpftool(t: BtfType): BpftoolType {
  const json = rawTypeJson(t) as BpftoolType;
  if (t.kind === "enum" || t.kind === "enum64") {
    json.values = t.values.map((v) => ({ name: v.name, val: bpftoolEnumValue(t.kind, t.signed, v.value) }));
  }
  return json;
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
