/**
 * What the loader changes in an object for an older kernel, decided by probes (src/features),
 * never by version numbers: BTF kinds the kernel lacks are replaced (libbpf's "BTF
 * sanitization"), and map flags it does not know are dropped where the map works without them.
 * The loader asks for these only after the kernel refused the object's BTF or a map as declared,
 * so a kernel that has everything runs none of the probes.
 */
import { sanitizeBtf } from "../btf/fixup.js";
import { marshalBtf } from "../btf/marshal.js";
import { parseBtf } from "../btf/spec.js";
import { BTF_FEATURE_NAMES, probeBtf, probeBtfKind } from "../features/btf.js";
import { probeMapFlag, type ProbedMapFlag } from "../features/map-types.js";
import { MapFlags } from "../spec/map-spec.js";

/**
 * The object's BTF as this kernel can load it: unchanged when the kernel has every kind it
 * uses, sanitized when it lacks some, undefined when it loads no BTF at all (maps and programs
 * then go without, as libbpf does). A refusal (EPERM) is left to the load to report.
 */
export function btfForKernel(blob: Uint8Array): Uint8Array | undefined {
  const base = probeBtf();
  if (base.status === "unsupported") return undefined;
  if (base.status === "refused") return blob;
  const features = Object.fromEntries(BTF_FEATURE_NAMES.map((k) => [k, probeBtfKind(k).status === "supported"])) as Record<(typeof BTF_FEATURE_NAMES)[number], boolean>;
  if (Object.values(features).every(Boolean)) return blob;
  return marshalBtf(sanitizeBtf([...parseBtf(blob)], features));
}

/** Flags a map keeps working without: mmap (then read by syscalls), and the program-side access limits. */
const DROPPABLE: readonly ProbedMapFlag[] = ["MMAPABLE", "RDONLY_PROG", "WRONLY_PROG"];

/** `flags` without the droppable flags this kernel does not know (each probed once). */
export function mapFlagsForKernel(flags: number): number {
  let out = flags;
  for (const f of DROPPABLE) {
    if ((out & MapFlags[f]) !== 0 && probeMapFlag(f).status === "unsupported") out &= ~MapFlags[f];
  }
  return out;
}
