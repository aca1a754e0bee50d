/**
 * Deferring signals around a long synchronous syscall. BPF_PROG_TEST_RUN with `repeat` > 1
 * stops with EINTR when a signal is pending between two repetitions, without saying how many
 * it made, so a retry would run the program more than `repeat` times. Blocking the signals
 * that only report (SIGCHLD, SIGWINCH, SIGUSR1/2, SIGPROF, real-time signals, …) on the calling
 * thread makes the kernel deliver them to another thread, or to this one after the call; the
 * requests to stop (SIGHUP, SIGINT, SIGQUIT, SIGTERM) stay deliverable so Ctrl-C still works.
 */
import { NativeMemory, SYS, syscall5 } from "./libc.js";

const SIG_BLOCK = 0;
const SIG_SETMASK = 2;
const SIGSET_BYTES = 8; // the kernel's sigset_t on x86_64: one bit per signal 1..64

/** Signals left deliverable during a deferred call: the ones that ask the process to stop. */
export const STOP_SIGNALS: readonly number[] = [1 /* SIGHUP */, 2 /* SIGINT */, 3 /* SIGQUIT */, 15 /* SIGTERM */];

const masks = new NativeMemory(2 * SIGSET_BYTES);
(() => {
  // Every bit set but the stop signals' (signal n is bit n-1).
  let lo = 0xffffffff;
  for (const s of STOP_SIGNALS) lo &= ~(1 << (s - 1));
  masks.view.setUint32(0, lo >>> 0, true);
  masks.view.setUint32(4, 0xffffffff, true);
})();

/**
 * Run `call` with every signal but the stop signals blocked on this thread, then restore the
 * mask as it was (signals that arrived meanwhile are delivered then). Two rt_sigprocmask calls.
 */
export function withReportSignalsDeferred<T>(call: () => T): T {
  // Addresses asked here, not at import: asking loads koffi (see koffi() in libc.ts).
  const blockAddress = masks.address;
  const savedAddress = blockAddress + SIGSET_BYTES;
  syscall5(SYS.rt_sigprocmask, SIG_BLOCK, blockAddress, savedAddress, SIGSET_BYTES, 0);
  try {
    return call();
  } finally {
    syscall5(SYS.rt_sigprocmask, SIG_SETMASK, savedAddress, 0, SIGSET_BYTES, 0);
  }
}
