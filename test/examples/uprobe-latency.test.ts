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
      // The target's own view of each call (ns, caller side): a traced duration lies between
      // what the call was told to spin and what its caller measured, whatever the machine's load.
      const [calls, line] = ran.split("\n");
      expect(calls).toBe("100 calls");
      const told = [...Array<number>(95).fill(300_000), ...Array<number>(5).fill(2_900_000)];
      const seen = (line ?? "").split(" ").map(Number);
      expect(seen).toHaveLength(100);
      expect(err).toBe("");
      expect(code).toBe(0);
      expect(out.split("\n")[0]).toBe(`uprobe-latency: tracing tsbpf_work in ${target}; 100 calls, Ctrl-C to end`);
      const [hist, ...more] = parseLog2Hists(out);
      expect(more).toHaveLength(0);
      expect(hist).toBeDefined();
      const rows = hist ?? [];
      expect(sum(rows)).toBe(100);
      // Per bucket boundary: calls at or above it, between the told and the caller-seen counts.
      const atLeast = (ns: number[], usecs: number): number => ns.filter((d) => Math.floor(d / 1000) >= usecs).length;
      for (const r of rows) {
        const traced = sum(rows.filter((x) => x.low >= r.low));
        expect([r.low, traced]).toEqual([r.low, expect.any(Number)]);
        expect(traced, `calls at or above ${r.low} us`).toBeGreaterThanOrEqual(atLeast(told, r.low));
        expect(traced, `calls at or above ${r.low} us`).toBeLessThanOrEqual(atLeast(seen, r.low));
      }
      expect(sum(rows.filter((r) => r.high < 256))).toBe(0); // nothing is faster than told
      expect(out).toMatch(/^calls: 100$/m);
      const m = /^p50: ([\d.]+) us {2}p90: ([\d.]+) us {2}p99: ([\d.]+) us$/m.exec(out);
      expect(m).not.toBeNull();
      // Nearest-rank percentiles: each lies between the same rank of the told and the seen durations.
      const rank = (ns: number[], p: number): number => [...ns].sort((a, b) => a - b)[Math.ceil((p / 100) * ns.length) - 1] ?? NaN;
      (m ?? []).slice(1).map(Number).forEach((value, i) => {
        const p = [50, 90, 99][i] ?? 0;
        expect(value, `p${p}`).toBeGreaterThanOrEqual(rank(told, p) / 1000 - 0.05);
        expect(value, `p${p}`).toBeLessThanOrEqual(rank(seen, p) / 1000 + 0.05);
      });
      expect(Number(m?.[3])).toBeGreaterThanOrEqual(2900 - 0.05); // p99 is one of the long calls
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
