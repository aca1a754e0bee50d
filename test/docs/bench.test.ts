/**
 * docs/bench.md runs as written: its TypeScript examples print what their comments promise, and
 * its `tsbpf bench` commands give the verdict and tables the page shows (timings differ from
 * run to run; the shape, the verdict, the return values and the verifier's counts do not).
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "vitest";
import { promisedOutput, repoRoot, runExample, tsBlocks } from "../helpers/docs.js";
import { describeKernel, itKernel } from "../helpers/kernel.js";

const page = "docs/bench.md";
const blocks = tsBlocks(page);
const doc = readFileSync(join(repoRoot, page), "utf8");
const shellCommands = [...doc.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1].trim());
const textBlocks = [...doc.matchAll(/```text\n([\s\S]*?)```/g)].map((m) => m[1]);

function tsbpf(command: string): string {
  const args = command.replace(/^tsbpf /, "").split(/\s+/);
  return execFileSync(join(repoRoot, "node_modules/.bin/tsx"), [join(repoRoot, "src/cli/main.ts"), ...args], { encoding: "utf8", cwd: repoRoot, stdio: ["ignore", "pipe", "pipe"] });
}

describeKernel(page, () => {
  itKernel("has its examples and commands", () => {
    expect(blocks).toHaveLength(4);
    for (const code of blocks) expect(promisedOutput(code).length).toBeGreaterThan(0);
    expect(shellCommands).toHaveLength(3);
  });

  itKernel.each(blocks.map((code, i) => ({ name: `example ${i + 1}`, code })))("$name prints what it promises", ({ code }) => {
    expect(runExample(code).trim().split("\n")).toEqual(promisedOutput(code));
  }, 120_000);

  itKernel("`tsbpf bench … --vs … --pcap` says B is faster, with the same return values, as the page shows", () => {
    runExample(blocks[0]); // writes the capture
    const out = tsbpf(shellCommands[0]);
    const shown = textBlocks[0];
    for (const line of ["A = bpf/bench/blocklist_v1.o:filter", "B = bpf/bench/blocklist_v2.o:filter", "return values per input: A 2,2,1,2; B 2,2,1,2 (the same)"]) {
      expect(shown).toContain(line);
      expect(out).toContain(line);
    }
    expect(out).toMatch(/^program +median ns\/run +CI +p5 +p95 +MAD +rounds +outliers +repeat×inputs$/m);
    expect(out).toMatch(/over 31 interleaved pairs: B is faster than A$/m);
  }, 120_000);

  itKernel("`tsbpf bench --cost` prints the verifier's counts the page shows", () => {
    const out = tsbpf(shellCommands[1]).trim().split("\n");
    const shown = textBlocks[1].trim().split("\n");
    expect(out[0]).toBe(shown[0]);
    // name, instructions, verified, processed, peak and total states: fixed for this kernel and object.
    const firstColumns = (line: string) => line.trim().split(/\s+/).slice(0, 6);
    expect(firstColumns(out[1])).toEqual(firstColumns(shown[1]));
  }, 60_000);
});
