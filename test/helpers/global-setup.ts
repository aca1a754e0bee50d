/**
 * Runs once around the suite: mounts bpffs and tracefs when they are missing (as root), so
 * kernel tests find them where the kernel documents them; gives the test processes a folder
 * to record what the machine refused (test/helpers/probes.ts), and prints every probed
 * refusal of the run in one summary at the end.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { recordedRefusals, REFUSALS_DIR_ENV } from "./probes.js";

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

export default function setup(): () => void {
  if (process.getuid?.() === 0) {
    ensureMount("/sys/fs/bpf", "bpf");
    ensureMount("/sys/kernel/tracing", "tracefs");
  }
  const dir = mkdtempSync(join(tmpdir(), "tsbpf-refusals-"));
  process.env[REFUSALS_DIR_ENV] = dir;
  return () => {
    const refusals = recordedRefusals(readdirSync(dir).map((f) => join(dir, f)));
    rmSync(dir, { recursive: true, force: true });
    if (refusals.length === 0) return;
    const lines = refusals.map((r) => `  - ${r.feature}: ${r.code} — ${r.reason}\n      (${r.message})`);
    process.stdout.write(`\nThis machine refused ${refusals.length} probed feature(s); their tests asserted the exact refusal:\n${lines.join("\n")}\n`);
  };
}
