/**
 * Kernel test helpers. A kernel test skips with its reason when not root; under
 * TSBPF_REQUIRE_KERNEL=1 (CI) a skip for lack of privilege is a failure, so CI can never go
 * green by skipping.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { describe, it } from "vitest";
import { SYS, syscall3 } from "../../src/sys/libc.js";

export const isRoot = process.getuid?.() === 0;
export const requireKernel = process.env.TSBPF_REQUIRE_KERNEL === "1";

/** Why kernel tests cannot run here, or undefined when they can. */
export const kernelSkipReason: string | undefined = isRoot ? undefined : "kernel tests need root (bpf(2) is root-only here)";

if (requireKernel && kernelSkipReason) {
  throw new Error(`TSBPF_REQUIRE_KERNEL=1 but ${kernelSkipReason}`);
}

/** `describe` for tests that need the kernel: skipped with the reason when not root. */
export const describeKernel = kernelSkipReason ? describe.skip : describe;
/** `it` for a test that needs the kernel. */
export const itKernel = kernelSkipReason ? it.skip : it;

/**
 * Whether an external tool answers (`cmd ...args` exits 0). Tests that compare with bpftool,
 * clang or llvm skip without them on a developer's machine; under TSBPF_REQUIRE_KERNEL=1 (CI,
 * which installs them) a missing one fails instead, so CI cannot go green by skipping.
 */
export function hasTool(cmd: string, args: readonly string[] = ["--version"]): boolean {
  const ok = spawnSync(cmd, args, { stdio: "ignore" }).status === 0;
  if (!ok && requireKernel) throw new Error(`TSBPF_REQUIRE_KERNEL=1 but ${cmd} does not run (.ci/run installs it)`);
  return ok;
}

/** Whether the kernel's BTF is at /sys/kernel/btf/vmlinux; under TSBPF_REQUIRE_KERNEL=1 it must be. */
export const hasKernelBtf: boolean = (() => {
  const ok = existsSync("/sys/kernel/btf/vmlinux");
  if (!ok && requireKernel) throw new Error("TSBPF_REQUIRE_KERNEL=1 but /sys/kernel/btf/vmlinux is missing");
  return ok;
})();

let counter = 0;
/**
 * A name unique to this test process, safe for bpffs (no dots), netns, interfaces (≤ 15
 * chars with a short prefix) and cgroups.
 */
export function uniqueName(prefix: string): string {
  counter += 1;
  const rand = Math.floor(Math.random() * 0xfff).toString(16);
  return `${prefix}${process.pid.toString(36)}${counter.toString(36)}${rand}`.replace(/[^A-Za-z0-9_-]/g, "_");
}

/**
 * How many fds this process has open now. Reading /proc/self/fd opens one fd itself, which
 * takes the lowest free number, so compare counts, or use isFdOpen() for one number.
 */
export function openFdCount(): number {
  return readdirSync("/proc/self/fd").length;
}

/** Whether fd `n` is open (fcntl F_GETFD answers EBADF for a closed one). */
export function isFdOpen(n: number): boolean {
  return syscall3(SYS.fcntl, n, 1 /* F_GETFD */, 0) >= 0;
}

let collector: (() => void) | undefined;

/**
 * Run a full garbage collection, for finalizer tests. Node exposes `gc` only with --expose-gc,
 * which vitest's forks are not given: turn the flag on at run time and take `gc` from a fresh
 * context, once.
 */
export function gc(): void {
  if (!collector) {
    collector = (globalThis as { gc?: () => void }).gc;
    if (!collector) {
      setFlagsFromString("--expose-gc");
      collector = runInNewContext("gc") as () => void;
    }
  }
  collector();
}
