/** Builds test/fixtures/link/probe-target.c with gcc into a temp dir (once per test file). */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export class ProbeBinary implements Disposable {
  readonly dir: string;
  readonly path: string;
  constructor() {
    this.dir = mkdtempSync(join(tmpdir(), "tsbpf-probe-"));
    this.path = join(this.dir, "probe-target");
    execFileSync("gcc", ["-O2", "-g", "-o", this.path, join(import.meta.dirname, "../fixtures/link/probe-target.c")]);
  }
  /** Run the loop `n` times; returns the printed sum. */
  run(n: number): number {
    return Number(execFileSync(this.path, [String(n)], { encoding: "utf8" }).trim());
  }
  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
  [Symbol.dispose](): void {
    this.remove();
  }
}
