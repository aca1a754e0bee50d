/**
 * Program type probes: load `r0 = 0; exit` as each type, with what the type needs to load at
 * all (an expected attach type, the sleepable flag). The trampoline types (tracing, lsm, ext)
 * are probed as bpftool probes them: a load aimed at BTF id 1 that a kernel with the type
 * refuses with a known message.
 */
import { exit, mov64 } from "../asm/builder.js";
import { kernelVersionCode } from "../elf/kconfig.js";
import { ATTACH_TYPES, PROGRAM_TYPES, type ProgramTypeName } from "../spec/program-type.js";
import { BPF_F_SLEEPABLE } from "../sys/prog-attr.js";
import { release } from "node:os";
import { tryLoad, type ProbeProgram } from "./calls.js";
import { classifyErrno, ProbeCache, supported, type Outcome, type ProbeResult } from "./probe.js";

/** The first mainline kernel of each program type. */
export const PROGRAM_TYPE_MIN_KERNEL: Readonly<Record<ProgramTypeName, string>> = {
  socket_filter: "3.19",
  kprobe: "4.1",
  sched_cls: "4.1",
  sched_act: "4.1",
  tracepoint: "4.7",
  xdp: "4.8",
  perf_event: "4.9",
  cgroup_skb: "4.10",
  cgroup_sock: "4.10",
  lwt_in: "4.10",
  lwt_out: "4.10",
  lwt_xmit: "4.10",
  sock_ops: "4.13",
  sk_skb: "4.14",
  cgroup_device: "4.15",
  sk_msg: "4.17",
  raw_tracepoint: "4.17",
  cgroup_sock_addr: "4.17",
  lwt_seg6local: "4.18",
  lirc_mode2: "4.18",
  sk_reuseport: "4.19",
  flow_dissector: "4.20",
  cgroup_sysctl: "5.2",
  raw_tracepoint_writable: "5.2",
  cgroup_sockopt: "5.3",
  tracing: "5.5",
  struct_ops: "5.6",
  ext: "5.6",
  lsm: "5.7",
  sk_lookup: "5.9",
  syscall: "5.14",
  netfilter: "6.4",
};

const ENOTSUPP = 524;
const EINVAL = 22;

/**
 * What a program of `type` needs to load (besides its instructions): the fields bpftool and
 * libbpf set for their probes. Shared with the helper probes.
 */
export function probeProgramBase(type: ProgramTypeName): Omit<ProbeProgram, "insns"> {
  const base: Omit<ProbeProgram, "insns"> = { progType: PROGRAM_TYPES[type] };
  switch (type) {
    case "cgroup_sock_addr":
      return { ...base, expectedAttachType: ATTACH_TYPES.cgroup_inet4_connect };
    case "cgroup_sockopt":
      return { ...base, expectedAttachType: ATTACH_TYPES.cgroup_getsockopt };
    case "sk_lookup":
      return { ...base, expectedAttachType: ATTACH_TYPES.sk_lookup };
    case "lirc_mode2":
      return { ...base, expectedAttachType: ATTACH_TYPES.lirc_mode2 };
    case "netfilter":
      return { ...base, expectedAttachType: ATTACH_TYPES.netfilter };
    case "syscall":
      return { ...base, progFlags: BPF_F_SLEEPABLE };
    case "kprobe":
      // Kernels before 5.0 check kern_version against their own.
      return { ...base, kernVersion: safeVersionCode() };
    case "tracing":
      return { ...base, expectedAttachType: ATTACH_TYPES.trace_fentry, attachBtfId: 1 };
    case "lsm":
      return { ...base, expectedAttachType: ATTACH_TYPES.lsm_mac, attachBtfId: 1 };
    case "ext":
      return { ...base, attachBtfId: 1 };
    default:
      return base;
  }
}

function safeVersionCode(): number {
  try {
    return kernelVersionCode(release());
  } catch {
    return 0;
  }
}

/** What a kernel that has the type says when a trampoline-type probe aims at BTF id 1. */
const EXPECTED_REFUSAL: Partial<Record<ProgramTypeName, { errno: number; message?: string }>> = {
  tracing: { errno: EINVAL, message: "attach_btf_id 1 is not a function" },
  lsm: { errno: EINVAL, message: "attach_btf_id 1 is not a function" },
  ext: { errno: EINVAL, message: "Cannot replace kernel functions" },
  // A struct_ops program needs a struct_ops map's member: without one the kernel says ENOTSUPP.
  struct_ops: { errno: ENOTSUPP },
};

function runProgramTypeProbe(type: ProgramTypeName): Outcome {
  const expected = EXPECTED_REFUSAL[type];
  const r = tryLoad({ ...probeProgramBase(type), insns: [mov64("r0", 0), exit()] }, expected?.message !== undefined);
  if (r.errno === 0) return supported();
  if (expected && r.errno === expected.errno && (expected.message === undefined || r.log.includes(expected.message))) {
    return supported(`the kernel knows the type (${expected.message ?? "ENOTSUPP without a struct_ops map"})`);
  }
  const c = classifyErrno(r.errno, "BPF_PROG_LOAD");
  if (c) return c;
  // The verifier looked at the program (EACCES and the like): the type exists.
  return supported(`the verifier answered errno ${r.errno}, so the type exists`);
}

const cache = new ProbeCache<ProgramTypeName>((type) => ({
  feature: `program type ${type}`,
  minKernel: PROGRAM_TYPE_MIN_KERNEL[type],
  outcome: () => runProgramTypeProbe(type),
}));

/**
 * Whether the running kernel can load programs of `type` (BPF_PROG_LOAD of a two-instruction
 * program). Cached per process. Min kernel: PROGRAM_TYPE_MIN_KERNEL[type].
 */
export function probeProgramType(type: ProgramTypeName): ProbeResult {
  if (!Object.hasOwn(PROGRAM_TYPES, type)) throw new TypeError(`unknown program type ${JSON.stringify(type)}`);
  return cache.get(type);
}

/** Every program type this table knows, in UAPI order. */
export const ALL_PROGRAM_TYPES = Object.keys(PROGRAM_TYPES) as ProgramTypeName[];
