import { defineConfig, type Options } from "tsup";
import { writePackageEntries } from "./scripts/package-entries.js";

// koffi ships a native module per platform: it must be resolved at run time, never bundled.
const external = ["koffi"];
/**
 * Every output file as pure ASCII. esbuild escapes non-ASCII characters in strings and regular
 * expressions but keeps them in the comments it carries over (class members' doc comments: "…",
 * "×"), and one such character makes V8 hold the whole file as a two-byte string: decoding and
 * scanning index.js then cost ~1.8 ms more of `import "tsbpf"` (median, in-process, #19). What
 * is left after esbuild is in comments, where the escape is as readable as anything.
 */
const asciiOutput: NonNullable<Options["plugins"]>[number] = {
  name: "ascii-output",
  renderChunk(code: string) {
    // eslint-disable-next-line no-control-regex
    return /[^\x00-\x7f]/.test(code) ? { code: code.replace(/[^\x00-\x7f]/gu, (c: string) => `\\u{${c.codePointAt(0)!.toString(16)}}`) } : undefined;
  },
};
// No source maps in the package: they were 4 MB of the 6.5 MB unpacked, and no user steps
// into a bundle they did not build.
const common = { sourcemap: false, target: "node20", external, plugins: [asciiOutput] };
// The package's entries: `tsbpf` and its subpaths `tsbpf/asm`, `tsbpf/btf`, `tsbpf/elf`
// (package.json "exports"; test/helpers/layers.ts ENTRY_FILES; one API report each).
const library = { index: "src/index.ts", asm: "src/subpaths/asm.ts", btf: "src/subpaths/btf.ts", elf: "src/subpaths/elf.ts" };

export default defineConfig([
  {
    // The types of the ESM entries (dist/<entry>.d.ts). The ESM entries themselves are written
    // by scripts/package-entries.ts over the one CommonJS file below, so that no process holds
    // two copies of the library (an ESM importer and a CJS dependency get the same classes)
    // and both forms load it with the code cache (scripts/load-core.ts).
    ...common,
    entry: library,
    format: ["esm"],
    dts: { entry: library, only: true },
    // tsup does not clean for a types-only build: `npm run build` empties dist/ first.
    clean: false,
  },
  {
    // The `tsbpf` command, as CommonJS: a command runs ~6 ms sooner than from the same code as
    // ESM (Node's ESM loader resolves, reads and links each chunk asynchronously; require() is
    // one synchronous read and compile), which put `tsbpf inspect` within #19's 20 ms over bare
    // node. Its own chunks, so that a command loads only the modules it uses (commands load
    // lazily); it shares no file with the library bundle. Shims as for the library's CJS build
    // (import.meta does not compile in CommonJS); the shim's URL names the chunk it lands in, so
    // the CLI's code asks for __filename first.
    ...common,
    entry: { cli: "src/cli/main.ts" },
    format: ["cjs"],
    splitting: true,
    shims: true,
    clean: false,
  },
  {
    // The library as one CommonJS file (scripts/library-core.ts): Node pays per module (resolve,
    // read, compile), and ~60 chunks cost `import "tsbpf"` ~40 ms where one file costs ~25 ms;
    // the code cache brings that file's compile to a deserialization (docs/benchmarks.md).
    // Loaded by dist/load-core.cjs, never required by name; every entry, ESM or CJS, re-exports it.
    ...common,
    entry: { core: "scripts/library-core.ts" },
    format: ["cjs"],
    // src/sys/libc.ts resolves koffi beside itself with `import.meta.url` under ESM: CommonJS
    // has no import.meta, so tsup's shim supplies it (the syntax alone fails to compile there).
    shims: true,
    dts: { entry: library },
    clean: false,
  },
  {
    // The loader with the V8 code cache (scripts/load-core.ts); it imports nothing of the library.
    ...common,
    entry: { "load-core": "scripts/load-core.ts" },
    format: ["cjs"],
    clean: false,
    onSuccess: () => writePackageEntries(library, "dist"),
  },
]);
