/**
 * Probes of single features: BPF cookies, bpf_loop, ring buffers, kfuncs, BPF tokens, arenas,
 * sleepable programs, BPF_F_TEST_RUN_ON_CPU, memory-cgroup accounting, and whether programs
 * are JIT-compiled. Each asks the kernel the smallest question that only a kernel with the
 * feature answers the right way.
 */
import { callKfunc, exit, jeq, mov64 } from "../asm/builder.js";
import { kernelBtf } from "./kernel-btf.js";
import { isNotSupportedError, isSyscallError } from "../errors.js";
import { PROGRAM_TYPES } from "../spec/program-type.js";
import { BpfCmd, bpfCallRaw } from "../sys/bpf.js";
import { NativeMemory } from "../sys/libc.js";
import { objGetInfoByFd } from "../sys/obj.js";
import { perfEventOpen } from "../sys/perf-event.js";
import { BPF_F_SLEEPABLE, BPF_F_TEST_RUN_ON_CPU, PROG_INFO, TestRunAttr } from "../sys/prog-attr.js";
import { loadKept, tryLoad } from "./calls.js";
import { probeHelper } from "./helpers.js";
import { probeMapType } from "./map-types.js";
import { probeProgramType } from "./program-types.js";
import { cachedProbe, classifyErrno, supported, unsupported, type Outcome, type ProbeResult } from "./probe.js";

const EBADF = 9;

/** The outcome of another probe, re-labelled (its status, errno and detail). */
function as(r: ProbeResult): Outcome {
  if (r.status === "supported") return supported(r.detail);
  if (r.status === "refused") return { status: "refused", errno: 1, detail: `${r.feature}: ${r.detail ?? "refused"}` };
  return unsupported(undefined, `${r.feature} is not supported${r.detail ? ` (${r.detail})` : ""}`);
}

/** BPF cookies (`bpf_get_attach_cookie`, a u64 given at attach time): Linux 5.15. Cached. */
export const probeBpfCookie: () => ProbeResult = cachedProbe("BPF cookies (bpf_get_attach_cookie)", "5.15", () =>
  as(probeHelper("tracepoint", "get_attach_cookie")),
);

/** The `bpf_loop` helper: Linux 5.17. Cached. */
export const probeBpfLoop: () => ProbeResult = cachedProbe("bpf_loop", "5.17", () => as(probeHelper("socket_filter", "loop")));

/** Ring buffers (BPF_MAP_TYPE_RINGBUF): Linux 5.8. Cached. */
export const probeRingBuffer: () => ProbeResult = cachedProbe("ring buffers (BPF_MAP_TYPE_RINGBUF)", "5.8", () => as(probeMapType("ringbuf")));

/** User ring buffers (BPF_MAP_TYPE_USER_RINGBUF): Linux 6.1. Cached. */
export const probeUserRingBuffer: () => ProbeResult = cachedProbe("user ring buffers (BPF_MAP_TYPE_USER_RINGBUF)", "6.1", () =>
  as(probeMapType("user_ringbuf")),
);

/** Arenas (BPF_MAP_TYPE_ARENA): Linux 6.9. Cached. */
export const probeArena: () => ProbeResult = cachedProbe("arenas (BPF_MAP_TYPE_ARENA)", "6.9", () => as(probeMapType("arena")));

/**
 * kfunc calls (BPF_PSEUDO_KFUNC_CALL): a syscall program that calls `bpf_task_from_pid(1)` and
 * releases the task. Needs kernel BTF. Linux 5.13 (these two kfuncs: 6.2). Cached.
 */
export const probeKfuncs: () => ProbeResult = cachedProbe("kfunc calls", "5.13", () => {
  let from: number | undefined;
  let release: number | undefined;
  try {
    const btf = kernelBtf();
    from = btf.typeByName("bpf_task_from_pid", "func")?.id;
    release = btf.typeByName("bpf_task_release", "func")?.id;
  } catch (e) {
    if (!isNotSupportedError(e)) throw e;
    return unsupported(undefined, "the kernel exposes no BTF (/sys/kernel/btf/vmlinux), which kfunc calls need");
  }
  if (from === undefined || release === undefined) return unsupported(undefined, "kernel BTF has no bpf_task_from_pid/bpf_task_release kfuncs (Linux 6.2)");
  const r = tryLoad({
    progType: PROGRAM_TYPES.syscall,
    progFlags: BPF_F_SLEEPABLE,
    insns: [mov64("r1", 1), callKfunc(from), jeq("r0", 0, 2), mov64("r1", "r0"), callKfunc(release), mov64("r0", 0), exit()],
  }, true);
  if (r.errno === 0) return supported();
  const c = classifyErrno(r.errno, "BPF_PROG_LOAD");
  if (c && c.status === "unsupported") return { ...c, detail: `${c.detail}: ${r.log.trim().split("\n").slice(-2, -1)[0] ?? ""}` };
  return c ?? unsupported(r.errno, r.log.trim().split("\n").slice(-2, -1)[0]);
});

/**
 * BPF tokens (BPF_TOKEN_CREATE, delegated BPF in user namespaces): asked with no bpffs fd, a
 * kernel with the command answers EBADF. Linux 6.9. Cached.
 */
export const probeTokens: () => ProbeResult = cachedProbe("BPF tokens (BPF_TOKEN_CREATE)", "6.9", () => {
  const attr = new NativeMemory(8);
  attr.view.setInt32(4, -1, true); // bpffs_fd
  const r = bpfCallRaw(BpfCmd.BPF_TOKEN_CREATE, attr.address, 8);
  if (r >= 0) return supported(); // cannot happen with fd -1; the fd is ours to close
  if (-r === EBADF) return supported("EBADF for bpffs fd -1: the command exists");
  return classifyErrno(-r, "BPF_TOKEN_CREATE") ?? unsupported(-r);
});

/**
 * Sleepable programs (BPF_F_SLEEPABLE): a socket filter asking to sleep is refused with a
 * message only a kernel that knows the flag writes. Linux 5.10. Cached.
 */
export const probeSleepable: () => ProbeResult = cachedProbe("sleepable programs (BPF_F_SLEEPABLE)", "5.10", () => {
  const r = tryLoad({ progType: PROGRAM_TYPES.socket_filter, progFlags: BPF_F_SLEEPABLE, insns: [mov64("r0", 0), exit()] }, true);
  if (r.errno === 0 || /can be sleepable/.test(r.log)) return supported("the verifier knows BPF_F_SLEEPABLE");
  return classifyErrno(r.errno, "BPF_PROG_LOAD") ?? unsupported(r.errno);
});

/**
 * BPF_F_TEST_RUN_ON_CPU: a raw tracepoint program test-run on CPU 0. Linux 5.10. Cached.
 */
export const probeTestRunOnCpu: () => ProbeResult = cachedProbe("BPF_PROG_TEST_RUN on a chosen CPU (BPF_F_TEST_RUN_ON_CPU)", "5.10", () => {
  const p = loadKept({ progType: PROGRAM_TYPES.raw_tracepoint, insns: [mov64("r0", 0), exit()] });
  if (!("fd" in p)) return classifyErrno(p.errno, "BPF_PROG_LOAD (raw_tracepoint)") ?? unsupported(p.errno);
  try {
    const t = new TestRunAttr();
    t.set(p.fd.value, 0, 0, 0, 0, 0, 0, 0, 0, 0, BPF_F_TEST_RUN_ON_CPU, 0, 0);
    const r = t.call();
    if (r === 0) return supported();
    return classifyErrno(-r, "BPF_PROG_TEST_RUN") ?? unsupported(-r);
  } finally {
    p.fd.close();
  }
});

/**
 * Whether the kernel charges BPF memory to the memory cgroup instead of RLIMIT_MEMLOCK (Linux
 * 5.11). Probed as libbpf does, by a helper of the same release: `bpf_ktime_get_coarse_ns` in
 * a socket filter. Cached.
 */
export const probeMemcgAccounting: () => ProbeResult = cachedProbe("memory-cgroup accounting of BPF memory", "5.11", () => {
  const r = tryLoad({ progType: PROGRAM_TYPES.socket_filter, insns: [{ opcode: 0x85, dst: 0, src: 0, offset: 0, imm: 160 }, exit()] }, true);
  if (r.errno === 0) return supported("bpf_ktime_get_coarse_ns (added with memcg accounting) loads");
  if (/invalid func|unknown func|cannot use helper/.test(r.log)) return unsupported(r.errno, "no bpf_ktime_get_coarse_ns: a kernel before 5.11 charges RLIMIT_MEMLOCK");
  return classifyErrno(r.errno, "BPF_PROG_LOAD") ?? unsupported(r.errno);
});

/**
 * Whether programs run JIT-compiled: a socket filter is loaded and its `jited_prog_len` read.
 * Linux 3.16 (x86_64 JIT). Cached.
 */
export const probeJit: () => ProbeResult = cachedProbe("JIT compilation", "3.16", () => {
  const p = loadKept({ progType: PROGRAM_TYPES.socket_filter, insns: [mov64("r0", 0), exit()] });
  if (!("fd" in p)) return classifyErrno(p.errno, "BPF_PROG_LOAD") ?? unsupported(p.errno);
  try {
    const info = new NativeMemory(PROG_INFO.size);
    objGetInfoByFd(p.fd, info, "JIT probe program");
    const len = info.view.getUint32(PROG_INFO.jited_prog_len, true);
    return len > 0 ? supported(`a 2-instruction program JITs to ${len} bytes`) : unsupported(undefined, "programs run in the interpreter (net.core.bpf_jit_enable=0)");
  } finally {
    p.fd.close();
  }
});

/**
 * Netfilter programs and links (BPF_PROG_TYPE_NETFILTER, BPF_LINK_TYPE_NETFILTER came in one
 * release): probed by the program type, since a link probe would hook the caller's netns.
 * Linux 6.4. Cached.
 */
export const probeNetfilter: () => ProbeResult = cachedProbe("netfilter programs and links", "6.4", () => as(probeProgramType("netfilter")));

/**
 * Hardware performance counters (a CPU cycles event by perf_event_open): virtual machines
 * often expose no CPU PMU, and the kernel answers ENOENT. Linux 2.6.31. Cached.
 */
export const probeHardwarePerfEvents: () => ProbeResult = cachedProbe("hardware performance counters", "2.6.31", () => {
  try {
    perfEventOpen({ type: 0 /* PERF_TYPE_HARDWARE */, config: 0n /* cycles */, samplePeriod: 100000n, disabled: true }, -1, 0, "hardware PMU probe").close();
    return supported();
  } catch (e) {
    if (!isSyscallError(e)) throw e;
    if (e.code === "ENOENT" || e.code === "EOPNOTSUPP") return unsupported(e.errno, `${e.code} from perf_event_open: this machine exposes no CPU PMU (common in virtual machines)`);
    if (e.code === "EPERM" || e.code === "EACCES") return { status: "refused", errno: e.errno, detail: `${e.code} from perf_event_open: needs CAP_PERFMON (or a lower kernel.perf_event_paranoid)` };
    throw e;
  }
});
