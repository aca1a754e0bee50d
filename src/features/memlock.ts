/**
 * Raising RLIMIT_MEMLOCK where it matters: after a refusal (EPERM), the kernel is probed for
 * memory-cgroup accounting (Linux 5.11), as libbpf does before its first load, instead of
 * trusting `uname -r` (distribution kernels backport, and version strings lie). Only a kernel
 * that still charges the rlimit gets it raised.
 */
import { setMemlockInfinity } from "../sys/rlimit.js";
import { probeMemcgAccounting } from "./misc.js";

/** Set once the question was answered (probed, and the limit raised or not): never asked again. */
let answered = false;

/**
 * Raise RLIMIT_MEMLOCK to infinity when the kernel charges BPF memory to it
 * (probeMemcgAccounting says no); does nothing on kernels that charge the memory cgroup. Asked
 * by map creation and program loads after an EPERM, so a kernel that accounts to the memory
 * cgroup (5.11+) runs no probe at all. Returns true only from the call that raised the limit (a
 * refused call is then worth retrying once). Never throws: without CAP_SYS_RESOURCE the
 * retried call's EPERM, with its hint, says what to do.
 */
export function raiseMemlockLimitIfCharged(): boolean {
  if (answered) return false;
  if (probeMemcgAccounting().status === "supported") {
    answered = true;
    return false;
  }
  answered = true;
  return setMemlockInfinity() === 0;
}
