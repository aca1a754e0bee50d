/** Running `tsbpf` in tests: in this process (fast), or as a child process (what a user runs). */
import { spawnSync } from "node:child_process";
import { join, resolve } from "node:path";
import { main } from "../../src/cli/main.js";

export const ROOT = resolve(import.meta.dirname, "../..");
export const MAIN = join(ROOT, "src/cli/main.ts");

export interface CliResult {
  code: number;
  out: string;
  err: string;
}

/** Run `tsbpf args…` in this process, capturing what it writes. */
export async function cli(...args: string[]): Promise<CliResult> {
  let out = "";
  let err = "";
  const code = await main(args, { stdout: { write: (t: string) => (out += t) }, stderr: { write: (t: string) => (err += t) } });
  return { code, out, err };
}

/** Run `tsbpf args…` as a child process, as a user would. */
export function spawnCli(...args: string[]): CliResult {
  const r = spawnSync(process.execPath, ["--import", "tsx", MAIN, ...args], { encoding: "utf8", cwd: ROOT, maxBuffer: 64 << 20 });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

/** A stack trace line ("    at f (file:1:2)"). */
export const STACK_LINE = /^\s+at .+(\(.*:\d+:\d+\)|:\d+:\d+)$/m;
