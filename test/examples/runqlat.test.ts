import { spawn } from "node:child_process";
import { expect } from "vitest";
import { describeKernel, itKernel } from "../helpers/kernel.js";
import { parseLog2Hists, sum } from "./log2-output.js";

/** Runs the example as a user would while a node process wakes every millisecond; its output and exit. */
async function runqlat(args: string[]): Promise<{ out: string; err: string; code: number | null; worker: number }> {
  const worker = spawn(process.execPath, ["-e", "setInterval(() => {}, 1)"], { stdio: "ignore" });
  try {
    const child = spawn(process.execPath, ["--import", "tsx", "examples/run.ts", "runqlat", "--pid", String(worker.pid), "--per-process", ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
    return { out, err, code, worker: worker.pid ?? -1 };
  } finally {
    worker.kill();
  }
}

/** Each interval's histogram, its "pid = " header and its "total:" line agree. */
function checkIntervals(out: string, worker: number, intervals: number): void {
  const hists = parseLog2Hists(out);
  expect(hists).toHaveLength(intervals);
  const totals = [...out.matchAll(/^total: (\d+) waits$/gm)].map((m) => Number(m[1]));
  expect(totals).toEqual(hists.map(sum));
  for (const t of totals) expect(t).toBeGreaterThan(0);
  // --pid with --per-process: one histogram per interval, all of the worker.
  expect([...out.matchAll(/^pid = (\d+)$/gm)].map((m) => Number(m[1]))).toEqual(Array(intervals).fill(worker));
}

describeKernel("examples/runqlat", () => {
  itKernel("prints one log2 histogram of a waking process's run queue waits per interval, says which attach it uses, and ends after --count", async () => {
    const { out, err, code, worker } = await runqlat(["--interval", "1", "--count", "2"]);
    expect(err).toBe("");
    expect(code).toBe(0);
    expect(out.split("\n")[0]).toMatch(/^runqlat: tracing run queue latency with (tp_btf|raw_tp|tracepoint)( \(.*\))?; 2 interval\(s\) of 1 s$/);
    checkIntervals(out, worker, 2);
    expect(out).toMatch(/runqlat: done\n$/);
  }, 30_000);

  for (const kind of ["raw_tp", "tracepoint"]) {
    itKernel(`--attach ${kind}: the same histogram through ${kind} programs`, async () => {
      const { out, err, code, worker } = await runqlat(["--interval", "1", "--count", "1", "--attach", kind]);
      expect(err).toBe("");
      expect(code).toBe(0);
      expect(out.split("\n")[0]).toBe(`runqlat: tracing run queue latency with ${kind}; 1 interval(s) of 1 s`);
      checkIntervals(out, worker, 1);
    }, 30_000);
  }
});
