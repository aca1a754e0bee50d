/**
 * RLIMIT_MEMLOCK: kernels before 5.11 charge BPF maps and programs to it, and its default (often
 * 64 KiB) makes map creation fail with EPERM/ENOMEM. Whether the running kernel does is a probe
 * (src/features/memlock.ts); this module only reads and sets the limit.
 */
import { errno, NativeMemory, SYS, syscall5 } from "./libc.js";

const RLIMIT_MEMLOCK = 8;
/** RLIM_INFINITY. */
export const RLIM_INFINITY = 0xffffffffffffffffn;

/** The process's RLIMIT_MEMLOCK: `{ soft, hard }` in bytes (RLIM_INFINITY for none). Throws nothing: undefined on failure. */
export function getMemlockLimit(): { soft: bigint; hard: bigint } | undefined {
  const lim = new NativeMemory(16);
  if (syscall5(SYS.prlimit64, 0, RLIMIT_MEMLOCK, 0, lim.address, 0) !== 0) return undefined;
  return { soft: lim.view.getBigUint64(0, true), hard: lim.view.getBigUint64(8, true) };
}

/**
 * Set RLIMIT_MEMLOCK to infinity (soft and hard). Returns 0 or the errno (EPERM without
 * CAP_SYS_RESOURCE); never throws: the later BPF_MAP_CREATE error says what to do.
 */
export function setMemlockInfinity(): number {
  const lim = new NativeMemory(16);
  lim.view.setBigUint64(0, RLIM_INFINITY, true);
  lim.view.setBigUint64(8, RLIM_INFINITY, true);
  return syscall5(SYS.prlimit64, 0, RLIMIT_MEMLOCK, lim.address, 0, 0) === 0 ? 0 : errno();
}
