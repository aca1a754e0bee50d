/**
 * The kernel BTF id a BTF-based program attaches to, from its section name, as libbpf finds it:
 * `tp_btf/<tp>` → typedef `btf_trace_<tp>`, `fentry/fexit/fmod_ret/<fn>` → func `<fn>`,
 * `lsm/<hook>` → func `bpf_lsm_<hook>`, `iter/<name>` → func `bpf_iter_<name>`. Pure given the
 * kernel BTF.
 */
import type { BtfSpec } from "../btf/spec.js";
import { NotSupportedError, TsbpfError } from "../errors.js";
import type { ProgramSpec } from "../spec/program-spec.js";

/** The BTF name and kind that a program's attach target has in the kernel, or undefined when its type has none. */
export function attachBtfName(p: ProgramSpec): { name: string; kind: "typedef" | "func" } | undefined {
  const info = p.sectionInfo;
  if (!info?.attachBtf) return undefined;
  const target = info.targetText;
  const what = `program "${p.name}"`;
  if (!target) throw new TsbpfError(`${what}: section "${p.section}" names no attach target (write it as "${info.def.pattern.replace(/\+$/, "")}/<target>")`);
  switch (info.attachType) {
    case "trace_raw_tp":
      return { name: `btf_trace_${target}`, kind: "typedef" };
    case "trace_fentry":
    case "trace_fexit":
    case "modify_return":
      return { name: target, kind: "func" };
    case "lsm_mac":
    case "lsm_cgroup":
      return { name: `bpf_lsm_${target}`, kind: "func" };
    case "trace_iter":
      return { name: `bpf_iter_${target}`, kind: "func" };
    default:
      // freplace needs the BPF program to replace: the caller sets attachTarget and attachBtfId.
      throw new NotSupportedError(`finding the attach target of ${what} (section "${p.section}")`, {
        detail: "set spec.programs[name].attachTarget and attachBtfId before loading",
      });
  }
}

/** The id of the attach target in `kernel`. Throws TsbpfError naming the program when it is missing. */
export function resolveAttachBtfId(p: ProgramSpec, kernel: () => BtfSpec): number | undefined {
  const want = attachBtfName(p);
  if (!want) return undefined;
  const ids = kernel().idsByName(want.name, want.kind);
  if (ids.length === 0) {
    throw new TsbpfError(`program "${p.name}": attach target ${want.kind} "${want.name}" is not in the kernel's BTF (no such ${want.kind === "typedef" ? "tracepoint" : "function"} in vmlinux; module targets are not searched)`);
  }
  return ids[0];
}
