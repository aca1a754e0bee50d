/**
 * The regression guard: a first run records the baseline, the same program passes against it,
 * a program doing 10× the work under the same key fails with a message that says how to
 * accept it, and an update records the new figure.
 */
import { AssertionError } from "node:assert";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "vitest";
import { asm } from "../../src/asm/assembler.js";
import { checkBaseline, expectNoRegression, readBaseline } from "../../src/bench/baseline.js";
import { isParseError } from "../../src/errors.js";
import { Program } from "../../src/program/program.js";
import { describeKernel, itKernel } from "../helpers/kernel.js";

function loop(n: number): Program {
  return Program.load({ name: `guard${n}`, type: "xdp", instructions: asm`
    r1 = 0
  again:
    r1 += 1
    if r1 < ${n} goto again
    r0 = 2
    exit
  ` });
}

// A generous threshold: baseline and check run at different moments on a machine other tests
// share, so the same program may measure tens of percent apart; 10x the work still fails.
const quick = { rounds: 15, warmup: 1, targetCallNs: 50_000, update: false, threshold: 1 } as const;

describeKernel("checkBaseline", () => {
  itKernel("records, passes, catches a 10x-work slow-down beyond a 100% threshold, and records again on update", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tsbpf-baseline-"));
    try {
      const file = join(dir, "bench-baseline.json");
      using fast = loop(30);
      using slow = loop(300);
      const first = await checkBaseline(fast, { ...quick, file, key: "filter" });
      expect(first.outcome).toBe("recorded");
      expect(readBaseline(file).entries.filter.rounds).toHaveLength(15);

      const again = await expectNoRegression(fast, { ...quick, file, key: "filter" });
      expect(again.outcome).toBe("passed");
      expect(again.current.repeat).toBe(readBaseline(file).entries.filter.repeat); // same work per call as recorded

      let error: unknown;
      try {
        await expectNoRegression(slow, { ...quick, file, key: "filter" });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(AssertionError);
      expect((error as Error).message).toMatch(/filter: \+\d+\.\d% against the baseline .*slower.*--update-baseline/);

      const updated = await checkBaseline(slow, { ...quick, file, key: "filter", update: true });
      expect(updated.outcome).toBe("recorded");
      expect((await checkBaseline(slow, { ...quick, file, key: "filter" })).outcome).toBe("passed");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  itKernel("refuses a malformed baseline file with a ParseError naming it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tsbpf-baseline-"));
    try {
      const file = join(dir, "b.json");
      writeFileSync(file, JSON.stringify({ version: 1, entries: { x: { rounds: [] } } }));
      using prog = loop(3);
      let error: unknown;
      try {
        await checkBaseline(prog, { ...quick, file, key: "x" });
      } catch (e) {
        error = e;
      }
      expect(isParseError(error)).toBe(true);
      expect((error as Error).message).toMatch(/entry "x" has no rounds/);
      expect(readFileSync(file, "utf8")).toContain('"rounds":[]'); // left as it was
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
