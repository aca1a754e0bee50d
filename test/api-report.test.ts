/**
 * The committed API reports (api/*.api.md, one per package entry) are what the package exports
 * today: a change of the public API fails here until `npm run api:report` rewrites the reports
 * in the same commit.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { API_ENTRIES, renderApiReport } from "../scripts/api-report.js";

const pkg = JSON.parse(readFileSync(join(__dirname, "../package.json"), "utf8")) as { exports: Record<string, unknown> };

describe("API report", () => {
  it.each(API_ENTRIES.map((e) => [e.report, e] as const))("api/%s matches the exports of its entry (npm run api:report rewrites it)", (_, e) => {
    const committed = readFileSync(join(__dirname, "../api", e.report), "utf8");
    expect(renderApiReport(e.entry)).toBe(committed);
  }, 120_000);

  it("covers every entry of package.json's exports", () => {
    const subpaths = Object.keys(pkg.exports).filter((k) => k !== "./package.json");
    expect(subpaths.map((k) => (k === "." ? "tsbpf" : `tsbpf/${k.slice(2)}`)).sort()).toEqual(API_ENTRIES.map((e) => e.specifier).sort());
  });

  it("the root leaves the loader's internals to the subpaths, and names do not collide", () => {
    const root = renderApiReport("index.ts");
    expect(root).toContain("- class `Collection`:");
    for (const internal of ["prepareCore", "coreTargetsFor", "poisonInstruction", "applyCoreRelocations", "fixupDatasecs", "sanitizeBtf", "parseElf", "symbolOffsets"]) {
      expect(root).not.toContain(`\`${internal}\``);
    }
    expect(root).not.toContain("- function `link`:");
    expect(renderApiReport("subpaths/btf.ts")).toContain("- function `applyCoreRelocations`:");
    expect(renderApiReport("subpaths/elf.ts")).toContain("- function `parseElf`:");
    expect(renderApiReport("subpaths/asm.ts")).toContain("- function `linkInstructions`:");
  }, 120_000);
});
