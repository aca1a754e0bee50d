/**
 * Runs once before the suite: mounts bpffs and tracefs when they are missing (as root), so
 * kernel tests find them where the kernel documents them.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

function mounted(path: string, fstype: string): boolean {
  return readFileSync("/proc/mounts", "utf8")
    .split("\n")
    .some((l) => {
      const [, mnt, type] = l.split(" ");
      return mnt === path && type === fstype;
    });
}

function ensureMount(path: string, fstype: string): void {
  if (mounted(path, fstype)) return;
  try {
    execFileSync("mount", ["-t", fstype, fstype, path], { stdio: "ignore" });
  } catch {
    // Not root, or not allowed: kernel tests that need it say so when they run.
  }
}

export default function setup(): void {
  if (process.getuid?.() !== 0) return;
  ensureMount("/sys/fs/bpf", "bpf");
  ensureMount("/sys/kernel/tracing", "tracefs");
}
