/**
 * The layer rank table (test/helpers/layers.ts, DESIGN.md's), enforced on src/: every file sits
 * in a layer of the table; an import (type imports included) goes to a lower rank or stays in
 * its folder; the pure layers (errors, codecs, asm, btf, spec, elf) never reach src/sys; only
 * src/sys imports koffi; no import circle between files or between folders.
 *
 * The checker is proved on a fixture tree (test/fixtures/architecture/src) that holds one
 * deliberate mistake of each kind: it must report exactly those.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { circles, importGraph, rankViolations } from "./helpers/import-graph.js";
import { ENTRY_RANK, LAYERS, rankOf, renderLayers, withRenderedLayers } from "./helpers/layers.js";

const SRC = join(__dirname, "../src");
const FIXTURE = join(__dirname, "fixtures/architecture/src");

describe("the rank table", () => {
  it("gives every folder one rank, in DESIGN.md's order", () => {
    const paths = LAYERS.flatMap((l) => l.paths);
    expect(new Set(paths).size).toBe(paths.length);
    expect(LAYERS.map((l) => l.rank)).toEqual([...LAYERS.map((l) => l.rank)].sort((a, b) => a - b));
    const rank = (p: string) => LAYERS.find((l) => l.paths.includes(p))?.rank;
    expect([rank("errors.ts"), rank("codec.ts"), rank("sys"), rank("asm"), rank("btf"), rank("spec"), rank("elf")]).toEqual([0, 0, 1, 2, 3, 4, 5]);
    expect([rank("features"), rank("map"), rank("program"), rank("collection")]).toEqual([6, 7, 7, 8]);
    expect([rank("link"), rank("ringbuf"), rank("perf"), rank("gen"), rank("bench"), rank("verifier"), rank("cli")]).toEqual([9, 9, 9, 10, 10, 10, 11]);
    expect(rankOf("index.ts")).toBe(ENTRY_RANK);
  });
});

describe("docs/architecture.md", () => {
  it("holds the table written from the same data (npm run docs:architecture rewrites it)", () => {
    const doc = readFileSync(join(__dirname, "../docs/architecture.md"), "utf8");
    expect(doc).toContain(renderLayers());
    expect(withRenderedLayers(doc)).toBe(doc);
  });
});

describe("src/ follows the rank table", () => {
  const graph = importGraph(SRC);

  it("reads the whole tree and its imports", () => {
    expect(graph.files.length).toBeGreaterThan(100);
    expect(graph.edges.some((e) => e.from === "collection/collection.ts" && e.to === "map/bpf-map.ts")).toBe(true);
    // type-only imports are edges too
    expect(graph.edges.some((e) => e.from === "spec/map-spec.ts" && e.to === "codec.ts")).toBe(true);
  });

  it("has no import up a rank, no pure layer reaching sys, no koffi outside sys, no circle", () => {
    expect(rankViolations(graph)).toEqual([]);
  });

  it("has no import circle between files or folders", () => {
    expect(circles(graph)).toEqual([]);
  });

  it("loads node:crypto, node:zlib and node:assert on first use, never by a static import (#19)", () => {
    // A static import of one of them is paid by every `import "tsbpf"`, used or not.
    const heavy = /^import\s+(?!type\b)[^;]*from\s+"node:(crypto|zlib|assert)(\/strict)?"/m;
    expect(graph.files.filter((f) => heavy.test(readFileSync(join(SRC, f), "utf8")))).toEqual([]);
  });
});

describe("the checker", () => {
  it("reports each deliberate mistake of the fixture tree, and nothing else", () => {
    const v = rankViolations(importGraph(FIXTURE));
    expect(v.sort()).toEqual(
      [
        'vm/new-folder.ts: no row of the rank table holds "vm" (add it to test/helpers/layers.ts)',
        "asm/wrong-way.ts (rank 2) imports map/live.ts (rank 7): an import up a rank",
        "asm/wrong-way.ts is pure (asm) but reaches maps, programs: asm/wrong-way.ts → map/live.ts",
        "elf/koffi.ts imports koffi: only src/sys may",
        "btf/reaches-sys.ts is pure (btf) but reaches sys: btf/reaches-sys.ts → sys/call.ts",
        "import circle among: link/a.ts, link/b.ts",
        // asm → map (wrong way) and map → asm (right way) make a circle of folders too
        "import circle among: asm/, map/",
      ].sort(),
    );
  });

  it("passes the fixture once its wrong-way import is taken out", () => {
    const g = importGraph(FIXTURE);
    const fixed = { files: g.files, edges: g.edges.filter((e) => e.from !== "asm/wrong-way.ts") };
    const v = rankViolations(fixed);
    expect(v.filter((l) => l.includes("asm"))).toEqual([]);
  });
});
