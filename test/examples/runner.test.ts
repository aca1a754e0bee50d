/** examples/run.ts: `npm run example -- <name>` passes Ctrl-C on and outlives the example, so its cleanup runs. */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { expect } from "vitest";
import { describeKernel, itKernel } from "../helpers/kernel.js";

describeKernel("examples/run.ts", () => {
  itKernel("SIGINT sent to the runner alone stops the example cleanly, and the runner exits with it", async () => {
    // A pid that opens nothing: opensnoop streams until stopped.
    const runner = spawn(process.execPath, ["--import", "tsx", "examples/run.ts", "opensnoop", "--pid", "999999999"], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    runner.stderr.on("data", (d: Buffer) => (err += d.toString()));
    await new Promise<void>((resolve, reject) => {
      runner.stdout.on("data", (d: Buffer) => {
        out += d.toString();
        if (out.includes("FILE")) resolve();
      });
      runner.on("exit", () => reject(new Error(`the example ended before its header: ${out}${err}`)));
    });
    // The example's pid, to stop it should the runner fail to (an orphan would keep tracing).
    const examplePids = readFileSync(`/proc/${runner.pid}/task/${runner.pid}/children`, "utf8").trim().split(/\s+/).map(Number);
    try {
      runner.kill("SIGINT"); // only the runner, as a supervisor (not a terminal's process group) would
      const code = await new Promise<number | null>((resolve) => runner.on("close", resolve));
      expect(err).toBe("");
      expect(out).toMatch(/stopped; 0 events dropped\n$/); // printed by the example after the runner got the signal
      expect(code).toBe(0);
    } finally {
      for (const pid of examplePids) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // already gone: the expected case
        }
      }
    }
  }, 30_000);
});
