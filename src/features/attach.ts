/**
 * Attach probes: link kinds asked with a target that cannot exist (a kernel with the kind
 * answers "no such device" or "bad file", one without it EINVAL), and tracing attach types
 * (fentry, fexit, fmod_ret, lsm, iter, tp_btf) loaded at a real BTF target, because a sandbox
 * or LSM may allow one target and refuse another (this machine loads `iter/task` but refuses
 * `iter/bpf_map_elem`).
 */
import { exit, mov64 } from "../asm/builder.js";
import { kernelBtf } from "./kernel-btf.js";
import { isBpfError, isNotSupportedError } from "../errors.js";
import { ATTACH_TYPES, PROGRAM_TYPES } from "../spec/program-type.js";
import { NativeMemory } from "../sys/libc.js";
import { linkCreate, type LinkCreateTarget } from "../sys/link-attr.js";
import { loadKept, tryLoad, type ProbeProgram } from "./calls.js";
import { cachedProbe, classifyErrno, ProbeCache, supported, unsupported, type Outcome, type ProbeResult } from "./probe.js";

const EBADF = 9;
const ENODEV = 19;
const ENXIO = 6;

/**
 * Load `prog`, then BPF_LINK_CREATE it with `attr`; `yes` lists the errnos that mean the kind
 * exists. A link that is made (a real target) is closed at once.
 */
function linkProbe(prog: ProbeProgram, target: number, attachType: number, extra: LinkCreateTarget, yes: readonly number[]): Outcome {
  const p = loadKept(prog);
  if (!("fd" in p)) return classifyErrno(p.errno, "BPF_PROG_LOAD") ?? unsupported(p.errno);
  try {
    linkCreate({ progFd: p.fd.value, target, attachType, flags: 0, extra }, "link probe").close();
    return supported();
  } catch (e) {
    if (!isBpfError(e)) throw e;
    if (yes.includes(e.errno)) return supported(`${e.code} for a target that cannot exist: the kind exists`);
    return classifyErrno(e.errno, "BPF_LINK_CREATE") ?? unsupported(e.errno, e.message);
  } finally {
    p.fd.close();
  }
}

const R0_EXIT = [mov64("r0", 0), exit()];

/** Link kinds that can be probed, with the first kernel of each. */
export const LINK_KIND_MIN_KERNEL = {
  tcx: "6.6",
  netkit: "6.7",
  uprobe_multi: "6.6",
  kprobe_multi: "5.18",
  perf_event: "5.15",
} as const;

/** A link kind probeLinkKind can ask about. */
export type ProbedLinkKind = keyof typeof LINK_KIND_MIN_KERNEL;

const LINK_PROBES: Record<ProbedLinkKind, () => Outcome> = {
  // ifindex 0 is never a device: ENODEV from a kernel with tcx links, EINVAL without
  tcx: () =>
    linkProbe({ progType: PROGRAM_TYPES.sched_cls, expectedAttachType: ATTACH_TYPES.tcx_ingress, insns: R0_EXIT }, 0, ATTACH_TYPES.tcx_ingress, { kind: "mprog", relative: 0, expectedRevision: 0n }, [ENODEV]),
  // the same for netkit; a kernel built without CONFIG_NETKIT answers EINVAL
  netkit: () =>
    linkProbe({ progType: PROGRAM_TYPES.sched_cls, expectedAttachType: ATTACH_TYPES.netkit_primary, insns: R0_EXIT }, 0, ATTACH_TYPES.netkit_primary, { kind: "mprog", relative: 0, expectedRevision: 0n }, [ENODEV, ENXIO]),
  // "/" is not a regular file: EBADF from a kernel with uprobe_multi links
  uprobe_multi: () => {
    const path = new NativeMemory(2);
    path.bytes[0] = 0x2f;
    const offsets = new NativeMemory(8);
    return linkProbe(
      { progType: PROGRAM_TYPES.kprobe, expectedAttachType: ATTACH_TYPES.trace_uprobe_multi, insns: R0_EXIT },
      0,
      ATTACH_TYPES.trace_uprobe_multi,
      { kind: "uprobe_multi", path: path.address, offsets: offsets.address, refCtrOffsets: 0, cookies: 0, count: 1, flags: 0, pid: 0 },
      [EBADF],
    );
  },
  // fd -1 is no perf event: EBADF from a kernel with perf_event links, EINVAL before 5.15
  perf_event: () =>
    linkProbe({ progType: PROGRAM_TYPES.tracepoint, insns: R0_EXIT }, 0xffffffff, ATTACH_TYPES.perf_event, { kind: "perf_event", cookie: 0n }, [EBADF]),
  // a real attach to vprintk, closed at once; EOPNOTSUPP without CONFIG_FPROBE
  kprobe_multi: () => {
    const name = Buffer.from("vprintk\0");
    const str = new NativeMemory(name.length);
    str.bytes.set(name);
    const syms = new NativeMemory(8);
    syms.view.setBigUint64(0, BigInt(str.address), true);
    return linkProbe(
      { progType: PROGRAM_TYPES.kprobe, expectedAttachType: ATTACH_TYPES.trace_kprobe_multi, insns: R0_EXIT },
      0,
      ATTACH_TYPES.trace_kprobe_multi,
      { kind: "kprobe_multi", flags: 0, count: 1, syms: syms.address, addrs: 0, cookies: 0 },
      [],
    );
  },
};

const linkCache = new ProbeCache<ProbedLinkKind>((kind) => ({
  feature: `${kind} links`,
  minKernel: LINK_KIND_MIN_KERNEL[kind],
  outcome: LINK_PROBES[kind],
}));

/** Whether the kernel makes links of `kind` (BPF_LINK_CREATE). Cached per process. */
export function probeLinkKind(kind: ProbedLinkKind): ProbeResult {
  if (!Object.hasOwn(LINK_PROBES, kind)) throw new TypeError(`no probe for link kind ${JSON.stringify(kind)}: one of ${Object.keys(LINK_PROBES).join(", ")}`);
  return linkCache.get(kind);
}

/** Tracing attach types probed at a BTF target, with the first kernel and the default target. */
export const TRACING_ATTACH = {
  trace_fentry: { minKernel: "5.5", progType: "tracing", target: "bpf_fentry_test1", btfName: (t: string) => t, kind: "func" },
  trace_fexit: { minKernel: "5.5", progType: "tracing", target: "bpf_fentry_test1", btfName: (t: string) => t, kind: "func" },
  modify_return: { minKernel: "5.7", progType: "tracing", target: "bpf_modify_return_test", btfName: (t: string) => t, kind: "func" },
  lsm_mac: { minKernel: "5.7", progType: "lsm", target: "file_open", btfName: (t: string) => `bpf_lsm_${t}`, kind: "func" },
  trace_iter: { minKernel: "5.8", progType: "tracing", target: "task", btfName: (t: string) => `bpf_iter_${t}`, kind: "func" },
  trace_raw_tp: { minKernel: "5.5", progType: "tracing", target: "sched_switch", btfName: (t: string) => `btf_trace_${t}`, kind: "typedef" },
} as const;

/** A tracing attach type probeTracingAttach can ask about. */
export type ProbedTracingAttach = keyof typeof TRACING_ATTACH;

const tracingCache = new ProbeCache<`${ProbedTracingAttach}:${string}`>((key) => {
  const sep = key.indexOf(":");
  const attach = key.slice(0, sep) as ProbedTracingAttach;
  const target = key.slice(sep + 1);
  const t = TRACING_ATTACH[attach];
  return {
    feature: `${attach} programs at ${target}`,
    minKernel: t.minKernel,
    outcome: () => {
      let id: number | undefined;
      try {
        id = kernelBtf().typeByName(t.btfName(target), t.kind)?.id;
      } catch (e) {
        if (!isNotSupportedError(e)) throw e;
        return unsupported(undefined, "the kernel exposes no BTF (/sys/kernel/btf/vmlinux), which tracing programs need");
      }
      if (id === undefined) return unsupported(undefined, `kernel BTF has no ${t.kind} ${t.btfName(target)}`);
      const r = tryLoad({ progType: PROGRAM_TYPES[t.progType], expectedAttachType: ATTACH_TYPES[attach], attachBtfId: id, insns: R0_EXIT }, true);
      if (r.errno === 0) return supported();
      if (r.errno === 1) {
        const c = classifyErrno(1, "BPF_PROG_LOAD")!;
        const tail = r.log.trim().split("\n").pop();
        return { ...c, detail: `${c.detail}${tail ? ` (verifier log: ${tail})` : " (empty verifier log)"}` };
      }
      return classifyErrno(r.errno, "BPF_PROG_LOAD") ?? unsupported(r.errno, r.log.trim().split("\n").pop());
    },
  };
});

/**
 * Whether a tracing program of `attach` type loads at `target` (a function for fentry/fexit/
 * fmod_ret, an LSM hook without `bpf_lsm_` for lsm, an iterator name for iter, a tracepoint for
 * tp_btf; default TRACING_ATTACH[attach].target). Cached per (type, target).
 */
export function probeTracingAttach(attach: ProbedTracingAttach, target?: string): ProbeResult {
  const t = TRACING_ATTACH[attach];
  if (!t) throw new TypeError(`no probe for attach type ${JSON.stringify(attach)}: one of ${Object.keys(TRACING_ATTACH).join(", ")}`);
  const name = target ?? t.target;
  if (typeof name !== "string" || !/^[A-Za-z0-9_]+$/.test(name)) throw new TypeError(`probeTracingAttach: bad target ${JSON.stringify(target)}`);
  return tracingCache.get(`${attach}:${name}`);
}

/** Whether BPF links exist at all (a cgroup link; Linux 5.7). Cached. */
export const probeBpfLinks: () => ProbeResult = cachedProbe("BPF links (BPF_LINK_CREATE)", "5.7", () =>
  // target fd -1 is no cgroup: EBADF from a kernel with cgroup links
  linkProbe({ progType: PROGRAM_TYPES.cgroup_skb, expectedAttachType: ATTACH_TYPES.cgroup_inet_ingress, insns: R0_EXIT }, 0xffffffff, ATTACH_TYPES.cgroup_inet_ingress, { kind: "none" }, [EBADF]),
);
