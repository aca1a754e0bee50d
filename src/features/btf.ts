/**
 * BTF feature probes: which BTF kinds the running kernel accepts (func, datasec, float,
 * decl_tag, type_tag, enum64…), found by loading one tiny blob per kind and cached per process.
 * `sanitizeBtf` (src/btf/fixup.ts) takes the answer.
 */
import type { BtfFeatures } from "../btf/fixup.js";
import { marshalBtf } from "../btf/marshal.js";
import type { BtfTypeInit } from "../btf/types.js";
import { btfLoad, btfLoadQuiet } from "../sys/btf-attr.js";

const INT: BtfTypeInit = { kind: "int", name: "int", size: 4, signed: true, char: false, bool: false, bitOffset: 0, bits: 32 };

/** Tiny BTF blobs that only a kernel with the feature accepts (type 1 is always `int`). */
const PROBES: Record<keyof BtfFeatures, BtfTypeInit[]> = {
  func: [INT, { kind: "func_proto", name: "", returnType: 1, params: [] }, { kind: "func", name: "f", type: 2, linkage: "static" }],
  funcGlobal: [INT, { kind: "func_proto", name: "", returnType: 1, params: [] }, { kind: "func", name: "f", type: 2, linkage: "global" }],
  datasec: [
    INT,
    { kind: "var", name: "x", type: 1, linkage: "static" },
    { kind: "datasec", name: ".data", size: 4, vars: [{ type: 2, offset: 0, size: 4 }] },
  ],
  float: [INT, { kind: "float", name: "float", size: 4 }],
  declTag: [INT, { kind: "var", name: "x", type: 1, linkage: "static" }, { kind: "decl_tag", name: "tag", type: 2, componentIdx: -1, attribute: false }],
  typeTag: [INT, { kind: "type_tag", name: "tag", type: 1, attribute: false }, { kind: "ptr", name: "", type: 2 }],
  enum64: [INT, { kind: "enum64", name: "e", size: 8, signed: false, values: [{ name: "A", value: 1n << 40n }] }],
};

let probed: BtfFeatures | undefined;

/**
 * Which BTF kinds the running kernel accepts, found by loading one tiny blob per feature (once
 * per process; the result is cached). Needs the privilege to load BTF; throws BpfError when
 * even plain BTF cannot be loaded (EPERM without root).
 */
export function probeBtfFeatures(): BtfFeatures {
  if (probed) return probed;
  // plain BTF must load, or the probes below would all say "missing" for the wrong reason
  btfLoad(marshalBtf([INT]), { name: "BTF probe" }).fd.close();
  const out = {} as BtfFeatures;
  for (const [k, types] of Object.entries(PROBES) as [keyof BtfFeatures, BtfTypeInit[]][]) {
    const r = btfLoadQuiet(marshalBtf(types));
    if (typeof r !== "number") r.close();
    out[k] = typeof r !== "number";
  }
  probed = Object.freeze(out);
  return probed;
}
