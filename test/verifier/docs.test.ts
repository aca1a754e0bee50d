/** docs/verifier.md: its examples run and print what they promise; its catalogue lists every entry. */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { CATALOGUE } from "../../src/index.js";
import { promisedOutput, repoRoot, runExample, tsBlocks } from "../helpers/docs.js";
import { describeKernel, itKernel } from "../helpers/kernel.js";
import { withTracePipe } from "../helpers/trace-pipe-lock.js";

const PAGE = "docs/verifier.md";
const blocks = tsBlocks(PAGE);
const doc = readFileSync(`${repoRoot}/${PAGE}`, "utf8");

describe(PAGE, () => {
  it.each(CATALOGUE.map((e) => [e.id, e] as const))("lists catalogue entry %s with its title and example", (_id, e) => {
    const row = doc.split("\n").find((l) => l.startsWith(`| \`${e.id}\``));
    expect(row).toBeDefined();
    expect(row).toContain(e.title);
    expect(row).toContain(e.example.replace(/\|/g, "\\|"));
    for (const id of [e.id, ...(e.variants ?? [])]) expect(doc).toContain(`**${id}**`);
  });
});

describeKernel(`${PAGE} examples`, () => {
  itKernel("has three examples, each promising output", () => {
    expect(blocks).toHaveLength(3);
    for (const code of blocks) expect(promisedOutput(code).length).toBeGreaterThan(0);
  });

  // The trace_pipe example holds the machine-wide trace_pipe lock: another reader would take its lines.
  itKernel.each(blocks.map((code, i) => ({ name: `example ${i + 1}`, code })))("$name prints what it promises", ({ code }) =>
    withTracePipe(() => {
      expect(runExample(code).trim().split("\n")).toEqual(promisedOutput(code));
    }), 180_000);
});
