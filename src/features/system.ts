/**
 * What the system around the kernel says: the process's capabilities, the BPF sysctls (JIT,
 * `unprivileged_bpf_disabled`) and the kernel's build config. File reads only, each once per
 * process.
 */
import { readFileSync } from "node:fs";
import { release } from "node:os";
import { createRequire } from "node:module";
import { parseKconfig, type KconfigFacts } from "../elf/kconfig.js";
import { holdsBpfPrivilege } from "../errors.js";

/**
 * node:zlib, loaded on first use: an import of tsbpf that never needs it does not pay for it.
 * process.getBuiltinModule is Node >= 20.16; require from any path finds a builtin before that.
 */
function zlib(): typeof import("node:zlib") {
  return (process.getBuiltinModule?.("node:zlib") ?? createRequire(process.execPath)("node:zlib")) as typeof import("node:zlib");
}

/** Linux capability names by number (`capability.h`, Linux 6.18). */
export const CAP_NAMES = [
  "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
  "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
  "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
  "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT",
  "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME",
  "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL",
  "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
  "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
] as const;

/** A capability name (`"CAP_BPF"`). */
export type CapabilityName = (typeof CAP_NAMES)[number];

/** The capabilities BPF cares about, and what each allows. */
export const BPF_CAPABILITIES: Readonly<Partial<Record<CapabilityName, string>>> = {
  CAP_BPF: "create maps, load most programs, BTF (Linux 5.8; before that CAP_SYS_ADMIN)",
  CAP_PERFMON: "tracing programs, pointer arithmetic, perf events (Linux 5.8)",
  CAP_NET_ADMIN: "networking programs and their attachments (XDP, tc, cgroup skb)",
  CAP_SYS_ADMIN: "everything BPF before Linux 5.8; iterating ids, some attach kinds since",
  CAP_SYS_RESOURCE: "raising RLIMIT_MEMLOCK (needed before Linux 5.11)",
};

/** The process's effective, permitted and bounding capability sets. */
export interface Capabilities {
  readonly effective: ReadonlySet<CapabilityName>;
  readonly permitted: ReadonlySet<CapabilityName>;
  readonly bounding: ReadonlySet<CapabilityName>;
}

/** Parse a capability mask (`CapEff:\t000001ffffffffff`) into names. Pure. */
export function parseCapabilityMask(hex: string): Set<CapabilityName> {
  const mask = BigInt(`0x${hex.trim()}`);
  const out = new Set<CapabilityName>();
  CAP_NAMES.forEach((name, i) => {
    if ((mask >> BigInt(i)) & 1n) out.add(name);
  });
  return out;
}

let caps: Capabilities | undefined;

/** The capabilities this process holds, from /proc/self/status (read once). */
export function capabilities(): Capabilities {
  if (caps) return caps;
  const status = readFileSync("/proc/self/status", "utf8");
  const field = (name: string): Set<CapabilityName> => {
    const m = new RegExp(`^${name}:\\s*([0-9a-fA-F]+)$`, "m").exec(status);
    return m ? parseCapabilityMask(m[1]) : new Set();
  };
  caps = Object.freeze({ effective: field("CapEff"), permitted: field("CapPrm"), bounding: field("CapBnd") });
  return caps;
}

/**
 * Whether the process may use BPF by its capabilities (CAP_BPF, or CAP_SYS_ADMIN before 5.8).
 * One answer with the EPERM hints of errors.ts, which read the same CapEff bits.
 */
export function hasBpfPrivilege(): boolean {
  return holdsBpfPrivilege();
}

/** Why the kernel answered EPERM, judged by what this process holds. */
export function refusalReason(): string {
  return hasBpfPrivilege()
    ? "refused although this process holds CAP_BPF/CAP_SYS_ADMIN: a sandbox or LSM policy (seccomp, SELinux, the BPF LSM) forbids it"
    : "this process lacks CAP_BPF (and CAP_SYS_ADMIN): run as root or grant the capabilities";
}

/** The BPF sysctls bpftool reports; each is undefined when unreadable. */
export interface BpfSysctls {
  /** `kernel.unprivileged_bpf_disabled`: 0 allowed, 1 disabled for good, 2 disabled (admin can change). */
  readonly unprivilegedBpfDisabled?: number;
  /** `net.core.bpf_jit_enable`: 0 interpreter, 1 JIT, 2 JIT with debug output. */
  readonly jitEnable?: number;
  /** `net.core.bpf_jit_harden`: 0 off, 1 for unprivileged users, 2 for everyone. */
  readonly jitHarden?: number;
  /** `net.core.bpf_jit_kallsyms`: whether JITed programs appear in /proc/kallsyms for root. */
  readonly jitKallsyms?: number;
  /** `net.core.bpf_jit_limit`: bytes of JIT memory unprivileged users may use. */
  readonly jitLimit?: number;
}

function readSysctl(path: string): number | undefined {
  try {
    const text = readFileSync(path, "utf8");
    return /^-?\d+\n?$/.test(text) ? Number(text.trim()) : undefined;
  } catch {
    return undefined;
  }
}

let sysctls: BpfSysctls | undefined;

/** The BPF sysctls, read once from /proc/sys. */
export function bpfSysctls(): BpfSysctls {
  sysctls ??= Object.freeze({
    unprivilegedBpfDisabled: readSysctl("/proc/sys/kernel/unprivileged_bpf_disabled"),
    jitEnable: readSysctl("/proc/sys/net/core/bpf_jit_enable"),
    jitHarden: readSysctl("/proc/sys/net/core/bpf_jit_harden"),
    jitKallsyms: readSysctl("/proc/sys/net/core/bpf_jit_kallsyms"),
    jitLimit: readSysctl("/proc/sys/net/core/bpf_jit_limit"),
  });
  return sysctls;
}

let kernelConfig: KconfigFacts | undefined;

/**
 * The running kernel's build config and release: `/proc/config.gz`, else
 * `/boot/config-$(uname -r)`; `config` is undefined when neither is readable. Read once.
 */
export function runningKernelConfig(): KconfigFacts {
  if (kernelConfig) return kernelConfig;
  const rel = release();
  let text: string | undefined;
  try {
    text = zlib().gunzipSync(readFileSync("/proc/config.gz")).toString("utf8");
  } catch {
    try {
      text = readFileSync(`/boot/config-${rel}`, "utf8");
    } catch {
      text = undefined;
    }
  }
  kernelConfig = { release: rel, config: text === undefined ? undefined : parseKconfig(text) };
  return kernelConfig;
}
