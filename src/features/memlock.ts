/**
 * Raising RLIMIT_MEMLOCK where it matters: the kernel is probed for memory-cgroup accounting
 * (Linux 5.11), as libbpf does, instead of trusting `uname -r` (distribution kernels backport,
 * and version strings lie). Only a kernel that still charges the rlimit gets it raised.
 */
import { setMemlockInfinity } from "../sys/rlimit.js";
import { probeMemcgAccounting } from "./misc.js";

let done: { raised: boolean; errno: number } | undefined;

/**
 * Raise RLIMIT_MEMLOCK to infinity, once per process, when the kernel charges BPF memory to it
 * (probeMemcgAccounting says no); does nothing on kernels that charge the memory cgroup.
 * Returns whether the limit was raised. Never throws: without CAP_SYS_RESOURCE the later
 * BPF_MAP_CREATE error (EPERM, with its hint) says what to do.
 */
export function raiseMemlockLimitIfCharged(): boolean {
  if (done) return done.raised;
  if (probeMemcgAccounting().status === "supported") {
    done = { raised: false, errno: 0 };
    return false;
  }
  const e = setMemlockInfinity();
  done = { raised: e === 0, errno: e };
  return done.raised;
}
