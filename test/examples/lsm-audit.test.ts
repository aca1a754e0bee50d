import { execFileSync } from "node:child_process";
import { expect } from "vitest";
import { describeKernel, itKernel } from "../helpers/kernel.js";

describeKernel("examples/lsm-audit", () => {
  itKernel("says in one line that this machine refuses LSM programs (EPERM at load) and exits 0", () => {
    const out = execFileSync(process.execPath, ["--import", "tsx", "examples/run.ts", "lsm-audit", "--duration", "1"], { encoding: "utf8" });
    const lines = out.trimEnd().split("\n");
    if (lines[0]!.startsWith("file opens seen:")) {
      expect(Number(lines[0]!.split(": ")[1])).toBeGreaterThan(0);
      return;
    }
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^lsm-audit: this machine refuses LSM programs: program "audit_open": load: EPERM from BPF_PROG_LOAD \(/);
  }, 30_000);
});
