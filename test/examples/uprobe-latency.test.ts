import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "vitest";
import { describeKernel, itKernel } from "../helpers/kernel.js";
import { parseLog2Hists, sum } from "./log2-output.js";

describeKernel("examples/uprobe-latency", () => {
  itKernel("times a target's calls of known durations: histogram buckets and p50/p90/p99 where the durations fall", async () => {
    const dir = mkdtempSync(join(tmpdir(), "uprobe-latency-"));
    try {
      const target = join(dir, "target");
      execFileSync("gcc", ["-O1", "-o", target, "examples/uprobe-latency/target.c"]);
      const child = spawn(process.execPath, ["--import", "tsx", "examples/run.ts", "uprobe-latency", `${target}:tsbpf_work`, "--count", "100", "--duration", "20"], { stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      let err = "";
      child.stderr.on("data", (d: Buffer) => (err += d.toString()));
      let ran = "";
      const traced = new Promise<void>((resolve) => {
        child.stdout.on("data", (d: Buffer) => {
          const first = !out.includes("\n");
          out += d.toString();
          // Once attached: 95 calls of 300 us (bucket 256 -> 511) and 5 of 2900 us (2048 -> 4095).
          if (first && out.includes("\n")) {
            ran = execFileSync(target, ["300", "95", "2900", "5"], { encoding: "utf8" });
            resolve();
          }
        });
      });
      const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
      await traced;
      expect(ran).toBe("100 calls\n");
      expect(err).toBe("");
      expect(code).toBe(0);
      expect(out.split("\n")[0]).toBe(`uprobe-latency: tracing tsbpf_work in ${target}; 100 calls, Ctrl-C to end`);
      const [hist, ...more] = parseLog2Hists(out);
      expect(more).toHaveLength(0);
      expect(hist).toBeDefined();
      const rows = hist ?? [];
      expect(sum(rows)).toBe(100);
      // Nothing is faster than asked; a preempted call may land a bucket or two higher.
      expect(sum(rows.filter((r) => r.high < 256))).toBe(0);
      expect(sum(rows.filter((r) => r.low >= 256 && r.high < 1024))).toBeGreaterThanOrEqual(90);
      expect(sum(rows.filter((r) => r.low >= 2048))).toBeGreaterThanOrEqual(5);
      expect(out).toMatch(/^calls: 100$/m);
      const m = /^p50: ([\d.]+) us {2}p90: ([\d.]+) us {2}p99: ([\d.]+) us$/m.exec(out);
      expect(m).not.toBeNull();
      const [p50, p90, p99] = (m ?? []).slice(1).map(Number);
      expect(p50).toBeGreaterThanOrEqual(256);
      expect(p50).toBeLessThan(512);
      expect(p90).toBeGreaterThanOrEqual(256);
      expect(p90).toBeLessThan(512);
      expect(p99).toBeGreaterThanOrEqual(2048);
      expect(p99).toBeLessThan(8192);
      expect(out).toMatch(/stopped; 0 samples dropped\n$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 40_000);

  itKernel("rejects an argument that is not binary:function with a usage line and exit 2", async () => {
    const child = spawn(process.execPath, ["--import", "tsx", "examples/run.ts", "uprobe-latency", "/bin/true"], { stdio: ["ignore", "pipe", "pipe"] });
    let err = "";
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
    expect(code).toBe(2);
    expect(err).toMatch(/^usage: npm run example -- uprobe-latency <binary>:<function>/);
  }, 20_000);
});
