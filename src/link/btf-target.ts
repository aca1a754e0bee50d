/**
 * Attach targets in kernel BTF: the BTF type id a tracing program (fentry, fexit, fmod_ret,
 * LSM, tp_btf, iter) or a struct_ops map must name at load, found in the kernel's BTF
 * (src/features/kernel-btf.ts: read once per process, decoded lazily).
 */
import { TsbpfError } from "../errors.js";
import { kernelBtf as sharedKernelBtf } from "../features/kernel-btf.js";
import type { BtfSpec } from "../btf/spec.js";

/** The running kernel's BTF (shared with the rest of tsbpf). Throws NotSupportedError without CONFIG_DEBUG_INFO_BTF. */
export function kernelBtf(): BtfSpec {
  return sharedKernelBtf();
}

/** The kinds of BTF attach target. */
export type BtfTargetKind = "fentry" | "fexit" | "fmod_ret" | "lsm" | "tp_btf" | "iter" | "struct_ops";

/**
 * The BTF name and kind a target is found under (pure): functions for fentry/fexit/fmod_ret,
 * `bpf_lsm_<hook>` for LSM, the `btf_trace_<tp>` typedef for tp_btf, `bpf_iter_<target>` for
 * iterators, and the struct itself for struct_ops.
 */
export function btfTargetName(kind: BtfTargetKind, target: string): { name: string; btfKind: "func" | "typedef" | "struct" } {
  if (typeof target !== "string" || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(target)) throw new TypeError(`${kind} target ${JSON.stringify(target)} is not a C identifier`);
  switch (kind) {
    case "fentry":
    case "fexit":
    case "fmod_ret":
      return { name: target, btfKind: "func" };
    case "lsm":
      return { name: target.startsWith("bpf_lsm_") ? target : `bpf_lsm_${target}`, btfKind: "func" };
    case "tp_btf":
      return { name: target.startsWith("btf_trace_") ? target : `btf_trace_${target}`, btfKind: "typedef" };
    case "iter":
      return { name: target.startsWith("bpf_iter_") ? target : `bpf_iter_${target}`, btfKind: "func" };
    case "struct_ops":
      return { name: target, btfKind: "struct" };
    default:
      throw new TypeError(`unknown BTF target kind ${JSON.stringify(kind)}`);
  }
}

/**
 * The vmlinux BTF id of a target, e.g. `kernelBtfTarget("tp_btf", "sys_enter")`, to pass as
 * `attachBtfId` (programs) or `btfVmlinuxValueTypeId` (struct_ops maps). Throws TsbpfError
 * when vmlinux BTF has no such target (module targets need the module's BTF).
 */
export function kernelBtfTarget(kind: BtfTargetKind, target: string, btf: BtfSpec = kernelBtf()): number {
  const { name, btfKind } = btfTargetName(kind, target);
  const ids = btf.idsByName(name, btfKind);
  if (ids.length === 0) throw new TsbpfError(`${kind} target ${target}: no ${btfKind} named ${name} in the kernel's BTF`);
  return ids[0]!;
}
