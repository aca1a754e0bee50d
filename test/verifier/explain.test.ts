/**
 * Every deliberately wrong program of bpf/verifier/ is really rejected by this kernel, and the
 * explanation names the right catalogue entry, the source line marked `// REJECTED`, the fix,
 * and shows them in the error's message before the log tail. The golden file holds what each
 * explanation must say (category, location, fix); refresh it with TSBPF_UPDATE_GOLDEN=1 and
 * review the diff.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CATALOGUE, explainVerifierLog, parseVerifierLog } from "../../src/index.js";
import { describeKernel, itKernel } from "../helpers/kernel.js";
import { markedLine, rejectionOf, WRONG_PROGRAMS } from "./rejections.js";

const GOLDEN = join(import.meta.dirname, "golden/explanations.json");
const update = process.env.TSBPF_UPDATE_GOLDEN === "1";
interface Golden { category: string; location: string; fix: string }
const golden: Record<string, Golden> = existsSync(GOLDEN) ? JSON.parse(readFileSync(GOLDEN, "utf8")) : {};
const seen: Record<string, Golden> = {};

// Programs the verifier walks a million instructions of take seconds on a busy machine.
const SLOW = new Set(["too_many_insns", "too_complex"]);

describeKernel("verifier explanations of real rejections", () => {
  itKernel("has one wrong program per catalogue category, and at least 25", () => {
    expect(WRONG_PROGRAMS.length).toBeGreaterThanOrEqual(25);
    const categories = new Set(CATALOGUE.flatMap((e) => [e.id, ...(e.variants ?? [])]));
    expect(categories.size).toBeGreaterThanOrEqual(25);
    for (const g of Object.values(golden)) expect(categories).toContain(g.category);
  });

  itKernel.each(WRONG_PROGRAMS)("%s: rejected, explained at its marked line with cause and fix", (name) => {
    const error = rejectionOf(name);
    const x = error.explanation;
    expect(x, `no explanation for ${name}:\n${error.log.slice(-5).join("\n")}`).toBeDefined();
    const line = markedLine(name);
    expect(x!.source?.file).toBe(`./bpf/verifier/${name}.c`);
    expect(x!.source?.line).toBe(line);
    expect(x!.source?.column).toBeGreaterThan(0);
    expect(x!.source?.text).toContain("// REJECTED");
    expect(x!.cause.length).toBeGreaterThan(20);
    expect(x!.error.length).toBeGreaterThan(0);
    // One message with where, what and what to change, before the log tail.
    const msg = error.message;
    const where = msg.indexOf(`${name}.c:${line}:`);
    expect(where).toBeGreaterThan(0);
    expect(msg.indexOf(`fix: ${x!.fix}`)).toBeGreaterThan(where);
    expect(msg.indexOf(`cause: ${x!.cause}`)).toBeGreaterThan(where);
    expect(msg.indexOf(error.log[error.log.length - 1])).toBeGreaterThan(msg.indexOf("fix: "));
    expect(msg).toContain(`program "${name}"`);
    const got: Golden = { category: x!.category, location: `${x!.source!.file}:${x!.source!.line}:${x!.source!.column}`, fix: x!.fix };
    seen[name] = got;
    if (update) {
      const all = existsSync(GOLDEN) ? JSON.parse(readFileSync(GOLDEN, "utf8")) : {};
      all[name] = got;
      writeFileSync(GOLDEN, `${JSON.stringify(Object.fromEntries(Object.entries(all).sort()), null, 2)}\n`);
    } else {
      expect(got).toEqual(golden[name]);
    }
  }, 180_000);

  itKernel("explains each category once: every golden category is a different catalogue entry", () => {
    const cats = Object.values(golden).map((g) => g.category);
    expect(new Set(cats).size).toBe(cats.length);
  });

  itKernel.each(WRONG_PROGRAMS.filter((n) => !SLOW.has(n)))("%s: the saved log alone explains the same category", (name) => {
    // Without the object (tsbpf explain --log): the log's own source quotes give file and line.
    const error = rejectionOf(name);
    const fromLog = explainVerifierLog(error.log, { programType: error.program.programType, license: error.program.license, instructions: error.program.instructions });
    expect(fromLog?.category).toBe(error.explanation!.category);
    if (fromLog?.source?.line !== undefined) expect(fromLog.source.file).toMatch(new RegExp(`${name}\\.c$`));
  });
});

describe("catalogue", () => {
  it.each(CATALOGUE.map((e) => [e.id, e] as const))("%s: its example line is recognised as itself", (_id, entry) => {
    const insn = entry.exampleInstruction ?? "exit";
    const x = explainVerifierLog(`0: R1=ctx() R10=fp0\n0: (${insn === "exit" ? "95" : "63"}) ${insn}\n${entry.example}\nprocessed 1 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0`);
    expect(x).toBeDefined();
    expect([entry.id, ...(entry.variants ?? [])]).toContain(x!.category);
  });

  it("gives no explanation for an error it does not know, and none for an empty log", () => {
    expect(explainVerifierLog("0: (95) exit\nsomething the catalogue has never seen")).toBeUndefined();
    expect(explainVerifierLog("")).toBeUndefined();
    expect(parseVerifierLog("").errorLines).toEqual([]);
  });
});

describeKernel("the parser over the log of every rejected program", () => {
  itKernel.each(WRONG_PROGRAMS)("%s: parses, with the error, the stats and the instruction it stopped at", (name) => {
    const error = rejectionOf(name);
    const log = parseVerifierLog(error.log);
    expect(log.errorLines.length).toBeGreaterThan(0);
    expect(log.error).toBe(log.errorLines[0]);
    expect(log.stats?.insnLimit).toBe(1_000_000);
    // Errors found while walking (most of them) name the instruction the verifier stopped at.
    if (log.stats!.processedInsns > 0 && log.instructions.length > 0) {
      const last = log.failingInstruction!;
      expect(last.index).toBeGreaterThanOrEqual(0);
      expect(last.text.length).toBeGreaterThan(0);
      expect(error.log[last.line]).toContain(`${last.index}: (`);
    }
    for (const insn of log.instructions.slice(-50)) {
      for (const [k, v] of Object.entries(insn.after)) {
        expect(k).toMatch(/^(R\d+|fp-\d+|refs)$/);
        expect(v.length).toBeGreaterThan(0);
      }
    }
  }, 180_000);
});
