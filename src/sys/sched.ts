/**
 * CPU affinity of the calling thread (sched_getaffinity(2), sched_setaffinity(2), getcpu(2)):
 * a benchmark pins the thread that makes BPF_PROG_TEST_RUN calls, since most program types
 * run on the caller's CPU.
 */
import { SyscallError } from "../errors.js";
import { errno, NativeMemory, SYS, syscall3 } from "./libc.js";

/** Bytes of the CPU mask passed to the kernel: room for 8192 CPUs. */
const MASK_BYTES = 1024;

/** The CPU the calling thread is running on now. Throws SyscallError. */
export function currentCpu(): number {
  const cpu = new NativeMemory(4);
  if (syscall3(SYS.getcpu, cpu.address, 0, 0) < 0) throw new SyscallError("getcpu", "getcpu", errno());
  return cpu.view.getUint32(0, true);
}

/** The CPUs the calling thread may run on, ascending. Throws SyscallError. */
export function threadAffinity(): number[] {
  const mask = new NativeMemory(MASK_BYTES);
  const r = syscall3(SYS.sched_getaffinity, 0, MASK_BYTES, mask.address);
  if (r < 0) throw new SyscallError("sched_getaffinity", "sched_getaffinity", errno());
  const cpus: number[] = [];
  for (let byte = 0; byte < r; byte++) {
    const b = mask.bytes[byte];
    for (let bit = 0; bit < 8; bit++) if (b & (1 << bit)) cpus.push(byte * 8 + bit);
  }
  return cpus;
}

/**
 * Let the calling thread run only on `cpus` (sched_setaffinity). Throws RangeError for a CPU
 * number out of range, SyscallError (EINVAL when none of the CPUs is online or allowed).
 */
export function setThreadAffinity(cpus: readonly number[]): void {
  const mask = new NativeMemory(MASK_BYTES);
  for (const cpu of cpus) {
    if (!Number.isInteger(cpu) || cpu < 0 || cpu >= MASK_BYTES * 8) throw new RangeError(`CPU ${cpu} is out of range`);
    mask.bytes[cpu >> 3] |= 1 << (cpu & 7);
  }
  if (syscall3(SYS.sched_setaffinity, 0, MASK_BYTES, mask.address) < 0) {
    throw new SyscallError("sched_setaffinity", "sched_setaffinity", errno(), { context: `pin to CPU ${cpus.join(",")}` });
  }
}
