/**
 * Every ```ts example of docs/asm.md runs, with "tsbpf" and "tsbpf/asm" pointing at the sources. Examples that
 * load programs need the kernel.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { withSourceImports } from "../helpers/docs.js";
import { itKernel } from "../helpers/kernel.js";

const root = join(import.meta.dirname, "../..");
const doc = readFileSync(join(root, "docs/asm.md"), "utf8");
const examples = [...doc.matchAll(/```ts\n([\s\S]*?)```/g)].map((m, k) => ({ name: `example ${k + 1}`, code: m[1] }));

const needsKernel = (code: string): boolean => /Program\.load|BpfMap\.create/.test(code);

async function runExample(code: string): Promise<void> {
  const dir = mkdtempSync(join(root, "test/asm/.docs-"));
  try {
    const file = join(dir, "example.ts");
    writeFileSync(file, withSourceImports(code));
    const log = console.log;
    console.log = () => {};
    try {
      await import(file);
    } finally {
      console.log = log;
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("docs/asm.md examples", () => {
  it("has examples of both APIs", () => {
    expect(examples.some((e) => e.code.includes("instructions("))).toBe(true);
    expect(examples.some((e) => e.code.includes("asm`"))).toBe(true);
  });
  it.each(examples.filter((e) => !needsKernel(e.code)))("$name runs", ({ code }) => runExample(code));
  itKernel.each(examples.filter((e) => needsKernel(e.code)))("$name runs in the kernel", ({ code }) => runExample(code));
});
