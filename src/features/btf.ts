/**
 * BTF probes: whether the kernel loads BTF at all, and which kinds it accepts. Each loads one
 * tiny blob (type 1 is always `int`) that only a kernel with the kind accepts. The loader
 * passes probeBtfFeatures() to sanitizeBtf, which replaces the kinds a kernel lacks.
 */
import type { BtfFeatures } from "../btf/fixup.js";
import { marshalBtf } from "../btf/marshal.js";
import type { BtfTypeInit } from "../btf/types.js";
import { isBpfError } from "../errors.js";
import { btfLoad } from "../sys/btf-attr.js";
import { cachedProbe, classifyErrno, requireFeature, supported, type Outcome, type ProbeResult } from "./probe.js";

const INT: BtfTypeInit = { kind: "int", name: "int", size: 4, signed: true, char: false, bool: false, bitOffset: 0, bits: 32 };
const PROTO: BtfTypeInit = { kind: "func_proto", name: "", returnType: 1, params: [] };

/** The blob that probes each BTF feature, its first kernel, and what it is called. */
const BTF_PROBES: Readonly<Record<keyof BtfFeatures, { minKernel: string; name: string; types: BtfTypeInit[] }>> = {
  func: { minKernel: "5.0", name: "BTF FUNC and FUNC_PROTO", types: [INT, PROTO, { kind: "func", name: "f", type: 2, linkage: "static" }] },
  funcGlobal: { minKernel: "5.6", name: "BTF global FUNC linkage", types: [INT, PROTO, { kind: "func", name: "f", type: 2, linkage: "global" }] },
  datasec: {
    minKernel: "5.2",
    name: "BTF VAR and DATASEC",
    types: [INT, { kind: "var", name: "x", type: 1, linkage: "static" }, { kind: "datasec", name: ".data", size: 4, vars: [{ type: 2, offset: 0, size: 4 }] }],
  },
  float: { minKernel: "5.13", name: "BTF FLOAT", types: [INT, { kind: "float", name: "float", size: 4 }] },
  declTag: {
    minKernel: "5.16",
    name: "BTF DECL_TAG",
    types: [INT, { kind: "var", name: "x", type: 1, linkage: "static" }, { kind: "decl_tag", name: "tag", type: 2, componentIdx: -1, attribute: false }],
  },
  typeTag: { minKernel: "5.17", name: "BTF TYPE_TAG", types: [INT, { kind: "type_tag", name: "tag", type: 1, attribute: false }, { kind: "ptr", name: "", type: 2 }] },
  enum64: { minKernel: "6.0", name: "BTF ENUM64", types: [INT, { kind: "enum64", name: "e", size: 8, signed: false, values: [{ name: "A", value: 1n << 40n }] }] },
};

function loadsBtf(types: BtfTypeInit[]): Outcome {
  try {
    btfLoad(marshalBtf(types), { name: "BTF probe", logLevel: 1, logSize: 4096 }).fd.close();
    return supported();
  } catch (e) {
    if (!isBpfError(e)) throw e;
    const c = classifyErrno(e.errno, "BPF_BTF_LOAD");
    if (c) return e.code === "EPERM" ? c : { ...c, detail: `${c.detail}: ${e.message}` };
    throw e;
  }
}

/** Whether the kernel loads BTF at all (BPF_BTF_LOAD of one `int`): Linux 4.18. Cached. */
export const probeBtf: () => ProbeResult = cachedProbe("BTF (BPF_BTF_LOAD)", "4.18", () => loadsBtf([INT]));

const kindProbes = Object.fromEntries(
  Object.entries(BTF_PROBES).map(([k, p]) => [
    k,
    cachedProbe(p.name, p.minKernel, () => {
      // without BTF at all, every kind would say "missing" for the wrong reason
      const base = probeBtf();
      if (base.status !== "supported") return base.status === "refused" ? { status: "refused", errno: 1, detail: base.detail } : { status: "unsupported", detail: "the kernel loads no BTF" };
      return loadsBtf(p.types);
    }),
  ]),
) as Record<keyof BtfFeatures, () => ProbeResult>;

/** Whether the kernel accepts one BTF feature (`"float"`, `"enum64"` …). Cached. */
export function probeBtfKind(feature: keyof BtfFeatures): ProbeResult {
  const p = kindProbes[feature];
  if (!p) throw new TypeError(`no BTF probe named ${JSON.stringify(feature)}: one of ${Object.keys(BTF_PROBES).join(", ")}`);
  return p();
}

/** The names of every BTF feature probe. */
export const BTF_FEATURE_NAMES = Object.keys(BTF_PROBES) as (keyof BtfFeatures)[];

/**
 * Which BTF kinds the running kernel accepts, as sanitizeBtf takes them (each probed once per
 * process). Throws NotSupportedError when the kernel loads no BTF at all, or refuses to.
 */
export function probeBtfFeatures(): BtfFeatures {
  requireFeature(probeBtf());
  const out = {} as BtfFeatures;
  for (const k of BTF_FEATURE_NAMES) out[k] = probeBtfKind(k).status === "supported";
  return out;
}
