/**
 * Every probe at once, in the shape of `bpftool feature probe kernel --json`: the same
 * sections and key names (`program_types.have_xdp_prog_type`, `helpers.xdp_available_helpers`,
 * …), so a tool that parses bpftool's output can read tsbpf's. Types and kinds bpftool's
 * tables do not know yet (netfilter programs, arena maps, ISA v4) appear under keys of the same
 * pattern. The full three-way answers (with "refused") sit beside it in `probeAll()`.
 */
import { checkOptions } from "../errors.js";
import { BpfCmd, bpfCallRaw } from "../sys/bpf.js";
import { availableHelpers, HELPER_PROBE_UNSUPPORTED_TYPES } from "./helpers.js";
import { probeBoundedLoops, probeIsaV2, probeIsaV3, probeIsaV4, probeLargeInsnLimit } from "./isa.js";
import { ALL_MAP_TYPES, probeMapType } from "./map-types.js";
import { cachedProbe, supported, unsupported, type ProbeResult } from "./probe.js";
import { ALL_PROGRAM_TYPES, probeProgramType } from "./program-types.js";
import { bpfSysctls, runningKernelConfig } from "./system.js";

const ENOSYS = 38;

/** Whether the bpf(2) system call exists (anything but ENOSYS): Linux 3.18. Cached. */
export const probeBpfSyscall: () => ProbeResult = cachedProbe("the bpf() system call", "3.18", () => {
  const r = bpfCallRaw(BpfCmd.BPF_PROG_LOAD, 0, 0);
  return -r === ENOSYS ? unsupported(ENOSYS, "ENOSYS: the kernel is built without CONFIG_BPF_SYSCALL") : supported();
});

/** The kernel config options bpftool reports, in its order. */
export const BPFTOOL_CONFIG_OPTIONS = [
  "CONFIG_BPF", "CONFIG_BPF_SYSCALL", "CONFIG_HAVE_EBPF_JIT", "CONFIG_BPF_JIT", "CONFIG_BPF_JIT_ALWAYS_ON",
  "CONFIG_DEBUG_INFO_BTF", "CONFIG_DEBUG_INFO_BTF_MODULES", "CONFIG_CGROUPS", "CONFIG_CGROUP_BPF",
  "CONFIG_CGROUP_NET_CLASSID", "CONFIG_SOCK_CGROUP_DATA", "CONFIG_BPF_EVENTS", "CONFIG_KPROBE_EVENTS",
  "CONFIG_UPROBE_EVENTS", "CONFIG_TRACING", "CONFIG_FTRACE_SYSCALLS", "CONFIG_FUNCTION_ERROR_INJECTION",
  "CONFIG_BPF_KPROBE_OVERRIDE", "CONFIG_NET", "CONFIG_XDP_SOCKETS", "CONFIG_LWTUNNEL_BPF", "CONFIG_NET_ACT_BPF",
  "CONFIG_NET_CLS_BPF", "CONFIG_NET_CLS_ACT", "CONFIG_NET_SCH_INGRESS", "CONFIG_XFRM", "CONFIG_IP_ROUTE_CLASSID",
  "CONFIG_IPV6_SEG6_BPF", "CONFIG_BPF_LIRC_MODE2", "CONFIG_BPF_STREAM_PARSER", "CONFIG_NETFILTER_XT_MATCH_BPF",
  "CONFIG_BPFILTER", "CONFIG_BPFILTER_UMH", "CONFIG_TEST_BPF", "CONFIG_HZ",
] as const;

/** `bpftool feature probe kernel --json`'s document. */
export interface BpftoolFeatureReport {
  system_config: Record<string, number | string | null>;
  syscall_config: { have_bpf_syscall: boolean };
  program_types?: Record<string, boolean>;
  map_types?: Record<string, boolean>;
  helpers?: Record<string, string[]>;
  misc?: Record<string, boolean>;
}

/** Options of bpftoolReport. */
export interface BpftoolReportOptions {
  /** Probe the helpers that warn in the kernel log too (`bpftool feature probe kernel full`). Default false. */
  full?: boolean;
}

/** A kernel config value as bpftool's JSON writes it: null when not set, else the raw text ("y", "250"). */
function configValue(raw: string | undefined): string | null {
  return raw === undefined || raw === "n" ? null : raw;
}

/**
 * Run every probe bpftool runs and answer in its JSON shape (program types, map types, helpers
 * per program type, ISA and misc). A refusal reads `false`, as bpftool reports it; ask the
 * probes themselves for "refused". Each probe is cached, so a second report makes no syscall.
 */
export function bpftoolReport(options: BpftoolReportOptions = {}): BpftoolFeatureReport {
  checkOptions("bpftoolReport", options, ["full"]);
  const s = bpfSysctls();
  const system_config: Record<string, number | string | null> = {
    unprivileged_bpf_disabled: s.unprivilegedBpfDisabled ?? -1,
    bpf_jit_enable: s.jitEnable ?? -1,
    bpf_jit_harden: s.jitHarden ?? -1,
    bpf_jit_kallsyms: s.jitKallsyms ?? -1,
    bpf_jit_limit: s.jitLimit ?? -1,
  };
  const config = runningKernelConfig().config;
  if (config) for (const name of BPFTOOL_CONFIG_OPTIONS) system_config[name] = configValue(config.get(name));
  const report: BpftoolFeatureReport = { system_config, syscall_config: { have_bpf_syscall: probeBpfSyscall().status === "supported" } };
  if (!report.syscall_config.have_bpf_syscall) return report;

  const program_types: Record<string, boolean> = {};
  for (const t of ALL_PROGRAM_TYPES) program_types[`have_${t}_prog_type`] = probeProgramType(t).status === "supported";
  const map_types: Record<string, boolean> = {};
  for (const t of ALL_MAP_TYPES) map_types[`have_${t}_map_type`] = probeMapType(t).status === "supported";
  const helpers: Record<string, string[]> = {};
  for (const t of ALL_PROGRAM_TYPES) {
    const names = probeProgramType(t).status === "supported" && !HELPER_PROBE_UNSUPPORTED_TYPES.has(t) ? availableHelpers(t, { full: options.full }) : [];
    helpers[`${t}_available_helpers`] = names.map((n) => `bpf_${n}`);
  }
  const misc: Record<string, boolean> = {
    have_large_insn_limit: probeLargeInsnLimit().status === "supported",
    have_bounded_loops: probeBoundedLoops().status === "supported",
    have_v2_isa_extension: probeIsaV2().status === "supported",
    have_v3_isa_extension: probeIsaV3().status === "supported",
    have_v4_isa_extension: probeIsaV4().status === "supported",
  };
  return { ...report, program_types, map_types, helpers, misc };
}
