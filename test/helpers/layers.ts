/**
 * The layer rank table of tsbpf (DESIGN.md's), as data: test/architecture.test.ts enforces it on
 * src/ and docs/architecture.md is written from it. A module may import only from a lower rank,
 * or from its own folder; folders of one rank may import each other only without forming a
 * circle. `import type` counts: a type that runs up a rank is a concept in the wrong room.
 *
 * A new folder (or a new file directly in src/) must get a row here before any code in it
 * passes the test.
 */

/** One row of the table. */
export interface Layer {
  readonly rank: number;
  /** What the row is called in docs/architecture.md. */
  readonly name: string;
  /** Folders under src/ (`"map"`) and files directly in src/ (`"errors.ts"`). */
  readonly paths: readonly string[];
  /** What it owns, one line. */
  readonly owns: string;
  /** Whether it may reach the kernel (through src/sys). Pure layers may not import sys. */
  readonly kernel: boolean;
}

/** The rank of entry files (`src/index.ts`, and the subpath entries in `src/subpaths/`): above everything. */
export const ENTRY_RANK = 12;

/** The table, lowest rank first. Folders that do not exist yet are listed so new code is checked. */
export const LAYERS: readonly Layer[] = [
  { rank: 0, name: "errors, codecs", paths: ["errors.ts", "codec.ts"], owns: "the error classes, the errno table and `checkOptions`; `Codec<T>`", kernel: false },
  { rank: 1, name: "sys", paths: ["sys"], owns: "koffi bindings, the `bpf_attr` layouts per command, errno → typed errors, fd ownership, netlink socket, rtnetlink and netns", kernel: true },
  { rank: 2, name: "asm", paths: ["asm"], owns: "the instruction model, encoder/decoder, builder, text assembler and disassembler", kernel: false },
  { rank: 3, name: "btf", paths: ["btf"], owns: "BTF types and strings (parse, build, marshal, dedup), `.BTF.ext`, the CO-RE relocation engine over one program, C header dump", kernel: false },
  { rank: 4, name: "spec", paths: ["spec"], owns: "`MapSpec`, `ProgramSpec`, the data of a `CollectionSpec`, map/program/attach type tables, the section-name convention: plain data", kernel: false },
  { rank: 5, name: "elf", paths: ["elf"], owns: "ELF bytes → `CollectionSpec`: sections, symbols, relocations, maps, data, externs, struct_ops", kernel: false },
  { rank: 6, name: "features", paths: ["features"], owns: "what the running kernel offers: feature probes (BTF kinds, …) and its BTF, cached per process", kernel: true },
  { rank: 7, name: "maps, programs", paths: ["map", "program"], owns: "live `BpfMap`, `Program` and `Btf` handles, pins, info, test run", kernel: true },
  { rank: 8, name: "collection", paths: ["collection"], owns: "spec → live objects: load order, CO-RE over a collection, fixups, variables, undo on failure", kernel: true },
  { rank: 9, name: "links, readers", paths: ["link", "ringbuf", "perf", "trace"], owns: "one file per attach kind and a common `Link`; ring buffer, perf buffer and trace log readers", kernel: true },
  { rank: 10, name: "tools", paths: ["gen", "bench", "verifier"], owns: "code generation from an object, the program benchmark harness, verifier-log explanation", kernel: true },
  { rank: 11, name: "cli", paths: ["cli"], owns: "the `tsbpf` command, one file per command", kernel: true },
];

/** The package entry points, relative to src/ (rank ENTRY_RANK): `tsbpf` and its subpaths `tsbpf/<name>`. */
export const ENTRY_FILES: readonly string[] = ["index.ts", "subpaths/asm.ts", "subpaths/btf.ts", "subpaths/elf.ts"];

/** Whether a src-relative path is a package entry file. */
export function isEntryFile(rel: string): boolean {
  return ENTRY_FILES.includes(rel);
}

/** The layer a src-relative path belongs to, or undefined when the table has no row for it. */
export function layerOf(rel: string): Layer | undefined {
  const top = rel.split("/")[0];
  return LAYERS.find((l) => l.paths.includes(top));
}

/** The rank of a src-relative path: its layer's, ENTRY_RANK for entry files, undefined when unknown. */
export function rankOf(rel: string): number | undefined {
  const layer = layerOf(rel);
  if (layer) return layer.rank;
  return isEntryFile(rel) ? ENTRY_RANK : undefined;
}

/** The folder (or root file) a src-relative path is in: the unit of same-rank circles. */
export function unitOf(rel: string): string {
  return rel.split("/")[0];
}

/** The markers between which docs/architecture.md holds the table written by renderLayers(). */
export const DOC_BEGIN = "<!-- layers: written by `npm run docs:architecture` from test/helpers/layers.ts; do not edit -->";
export const DOC_END = "<!-- /layers -->";

/** The rank table as the Markdown of docs/architecture.md. */
export function renderLayers(): string {
  const rows = LAYERS.map((l) => {
    const where = l.paths.map((p) => (p.endsWith(".ts") ? `\`src/${p}\`` : `\`src/${p}/\``)).join(", ");
    return `| ${l.rank} | ${l.name} | ${where} | ${l.owns} | ${l.kernel ? "yes" : "no"} |`;
  });
  return [
    DOC_BEGIN,
    "| rank | layer | where | owns | may reach the kernel |",
    "|---|---|---|---|---|",
    ...rows,
    `| ${ENTRY_RANK} | entry points | ${ENTRY_FILES.map((f) => `\`src/${f}\``).join(", ")} | what the package exports | — |`,
    DOC_END,
  ].join("\n");
}

/** docs/architecture.md with its table section replaced by renderLayers(). Throws when the markers are missing. */
export function withRenderedLayers(doc: string): string {
  const a = doc.indexOf(DOC_BEGIN);
  const b = doc.indexOf(DOC_END);
  if (a < 0 || b < a) throw new Error("docs/architecture.md: the layers markers are missing");
  return doc.slice(0, a) + renderLayers() + doc.slice(b + DOC_END.length);
}
