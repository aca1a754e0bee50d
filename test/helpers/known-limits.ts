/**
 * Every feature that this machine's kernel refuses, in one place, with the reason and the exact
 * error seen here (shared/KERNEL.md). Tests for these kinds assert that exact error.
 */
export const KNOWN_LIMITS = {
  kprobes: {
    reason: "CONFIG_KPROBES is off on this kernel: no kprobe PMU, no kprobe_events",
  },
  kprobeMulti: {
    reason: "CONFIG_KPROBES is off: BPF_LINK_CREATE of kprobe_multi gives EOPNOTSUPP",
    errno: "EOPNOTSUPP",
  },
  hardwarePerf: {
    reason: "this VM exposes no CPU PMU: perf_event_open of a hardware event gives ENOENT",
    errno: "ENOENT",
  },
  netkit: {
    reason: "CONFIG_NETKIT is off on this kernel: creating a netkit device gives EOPNOTSUPP (\"Unknown device type\")",
    errno: "EOPNOTSUPP",
  },
  trampolines: {
    reason:
      "this machine's sandbox refuses fentry/fexit/fmod_ret/lsm/lsm_cgroup/freplace at BPF_PROG_LOAD with EPERM and an empty log (the kernel supports them)",
    errno: "EPERM",
  },
  ksymVariables: {
    reason:
      "CONFIG_KALLSYMS_ALL is off: kernel variables are not in kallsyms, so an ld_imm64 of a variable by BTF id (__ksym) fails at BPF_PROG_LOAD with ENOENT (\"ldimm64 failed to find the address for kernel symbol\")",
    errno: "ENOENT",
  },
} as const;
