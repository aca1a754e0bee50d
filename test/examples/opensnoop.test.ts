import { spawn } from "node:child_process";
import { closeSync, openSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "vitest";
import { describeKernel, itKernel, uniqueName } from "../helpers/kernel.js";

describeKernel("examples/opensnoop", () => {
  itKernel("prints the pid, comm, flags and name of a file this test opens, filtered by --pid, and stops at --duration", async () => {
    const file = join(tmpdir(), uniqueName("opensnoop"));
    writeFileSync(file, "x");
    try {
      const child = spawn(process.execPath, ["--import", "tsx", "examples/run.ts", "opensnoop", "--pid", String(process.pid), "--duration", "3"], { stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      let err = "";
      child.stderr.on("data", (d: Buffer) => (err += d.toString()));
      const opened = new Promise<void>((resolve) => {
        child.stdout.on("data", (d: Buffer) => {
          const first = !out.includes("FILE");
          out += d.toString();
          if (first && out.includes("FILE")) {
            closeSync(openSync(file, "r"));
            resolve();
          }
        });
      });
      const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
      await opened;
      expect(err).toBe("");
      expect(code).toBe(0);
      const line = out.split("\n").find((l) => l.endsWith(file));
      expect(line).toBeDefined();
      expect(line!.split(/\s+/).slice(0, 3)).toEqual([String(process.pid), "node", "0x80000"]);
      expect(out.split("\n").filter((l) => /^\d/.test(l)).every((l) => l.startsWith(`${process.pid} `))).toBe(true);
      expect(out).toMatch(/stopped; 0 events dropped\n$/);
    } finally {
      rmSync(file, { force: true });
    }
  }, 30_000);
});
