/**
 * RLIMIT_MEMLOCK: kernels before 5.11 charge BPF maps and programs to it, and its default (often
 * 64 KiB) makes map creation fail with EPERM/ENOMEM. Newer kernels charge the memory cgroup, so
 * tsbpf leaves the limit alone there.
 */
import { release } from "node:os";
import { errno, NativeMemory, SYS, syscall5 } from "./libc.js";

const RLIMIT_MEMLOCK = 8;
const RLIM_INFINITY = 0xffffffffffffffffn;

/** `[major, minor]` of a `uname -r` string such as "6.18.44-fc"; [0, 0] when unreadable. */
export function parseKernelRelease(text: string): [number, number] {
  const m = /^(\d+)\.(\d+)/.exec(text);
  return m ? [Number(m[1]), Number(m[2])] : [0, 0];
}

/** Whether a kernel of this release charges BPF memory to RLIMIT_MEMLOCK (before 5.11). */
export function chargesMemlock(kernelRelease: string = release()): boolean {
  const [major, minor] = parseKernelRelease(kernelRelease);
  if (major === 0) return false;
  return major < 5 || (major === 5 && minor < 11);
}

let done: { raised: boolean; errno: number } | undefined;

/**
 * Raise RLIMIT_MEMLOCK to infinity, once per process, on kernels before 5.11; does nothing on
 * newer ones. Returns whether the limit was raised. Never throws: without CAP_SYS_RESOURCE the
 * later BPF_MAP_CREATE error (EPERM, with its hint) says what to do.
 */
export function raiseMemlockLimit(): boolean {
  if (done) return done.raised;
  if (!chargesMemlock()) {
    done = { raised: false, errno: 0 };
    return false;
  }
  const lim = new NativeMemory(16);
  lim.view.setBigUint64(0, RLIM_INFINITY, true);
  lim.view.setBigUint64(8, RLIM_INFINITY, true);
  const r = syscall5(SYS.prlimit64, 0, RLIMIT_MEMLOCK, lim.address, 0, 0);
  done = r === 0 ? { raised: true, errno: 0 } : { raised: false, errno: errno() };
  return done.raised;
}
