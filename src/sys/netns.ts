/**
 * Network namespaces: run a synchronous function with the calling thread inside another
 * network namespace (setns(2)), then return it to its own.
 */
import { SyscallError } from "../errors.js";
import { openPath } from "./fd.js";
import { errno, SYS, syscall3 } from "./libc.js";
import { netnsPath } from "./netns-path.js";

const CLONE_NEWNET = 0x40000000;

/** A network namespace given as an absolute path (`/var/run/netns/x`, `/proc/123/ns/net`) or a name under `/var/run/netns` (see netnsPath). */
export type NetnsRef = string;

/**
 * Run `fn` with the calling thread inside network namespace `ns`, then return the thread to
 * its own namespace (even when `fn` throws). Sockets, links and attachments made inside stay
 * in `ns`. `fn` must be synchronous: the thread leaves `ns` when it returns. Throws
 * SyscallError from setns(2) (needs CAP_SYS_ADMIN).
 */
export function withNetns<T>(ns: NetnsRef, fn: () => T): T {
  using self = openPath("/proc/thread-self/ns/net");
  using target = openPath(netnsPath(ns));
  if (syscall3(SYS.setns, target.value, CLONE_NEWNET, 0) < 0) {
    throw new SyscallError("setns", "setns(CLONE_NEWNET)", errno(), { context: `enter network namespace ${ns}` });
  }
  try {
    return fn();
  } finally {
    if (syscall3(SYS.setns, self.value, CLONE_NEWNET, 0) < 0) {
      // The thread would now run in the wrong namespace: nothing sane can continue.
      throw new SyscallError("setns", "setns(CLONE_NEWNET)", errno(), { context: `return from network namespace ${ns}` });
    }
  }
}
