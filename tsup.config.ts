import { defineConfig } from "tsup";

// koffi ships a native module per platform: it must be resolved at run time, never bundled.
const external = ["koffi"];
// No source maps in the package: they were 4 MB of the 6.5 MB unpacked, and no user steps
// into a bundle they did not build.
const common = { sourcemap: false, target: "node20", external } as const;

export default defineConfig([
  {
    // The library, ESM: one file. Node's ESM loader pays per module (resolve, open, read,
    // compile): the ~60 chunks a shared build gave cost `import "tsbpf"` ~40 ms over one file of
    // the same code (benchmarks/suites/cold.ts, docs/benchmarks.md).
    ...common,
    entry: { index: "src/index.ts" },
    format: ["esm"],
    splitting: false,
    dts: { entry: { index: "src/index.ts" } },
    clean: true,
  },
  {
    // The `tsbpf` command: its own chunks, so that a command loads only the modules it uses
    // (commands load lazily). It shares no file with the library bundle.
    ...common,
    entry: { cli: "src/cli/main.ts" },
    format: ["esm"],
    clean: false,
  },
  {
    // CJS: the library only (the bin is ESM; a CJS copy of the CLI went unused).
    ...common,
    entry: { index: "src/index.ts" },
    format: ["cjs"],
    dts: { entry: { index: "src/index.ts" } },
    clean: false,
  },
]);
