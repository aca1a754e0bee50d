/**
 * What this kernel was built without (config options), with the reason and the exact error
 * seen here. These change only with the kernel; what the sandbox refuses changes by policy and
 * is probed at run time instead (test/helpers/probes.ts).
 */
export const KNOWN_LIMITS = {
  kprobes: {
    reason: "CONFIG_KPROBES is off on this kernel: no kprobe PMU, no kprobe_events",
  },
  kprobeMulti: {
    reason: "CONFIG_KPROBES is off: BPF_LINK_CREATE of kprobe_multi gives EOPNOTSUPP",
    errno: "EOPNOTSUPP",
  },
  netkit: {
    reason: "CONFIG_NETKIT is off on this kernel: creating a netkit device gives EOPNOTSUPP (\"Unknown device type\")",
    errno: "EOPNOTSUPP",
  },
  ksymVariables: {
    reason:
      "CONFIG_KALLSYMS_ALL is off: kernel variables are not in kallsyms, so an ld_imm64 of a variable by BTF id (__ksym) fails at BPF_PROG_LOAD with ENOENT (\"ldimm64 failed to find the address for kernel symbol\")",
    errno: "ENOENT",
  },
} as const;
