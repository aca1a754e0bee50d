/**
 * Writes the package entries over the library's one file (scripts/library-core.ts, built to
 * dist/core.cjs): dist/<entry>.cjs re-exports its names from it, loaded through
 * dist/load-core.cjs (scripts/load-core.ts, the code cache), and dist/<entry>.js re-exports
 * dist/<entry>.cjs. An entry exports its own names only (`tsbpf/elf` does not hand out the
 * root's), read from the entry's source by esbuild; its `.d.ts` comes from the same source
 * (tsup's dts).
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { build } from "esbuild";

/** The value names `entry` (a source file) exports, as esbuild bundles it. */
async function exportedNames(entry: string): Promise<string[]> {
  const result = await build({
    entryPoints: [entry], bundle: true, write: false, metafile: true, format: "esm", platform: "node",
    external: ["koffi"], logLevel: "silent", outdir: "/nonexistent",
  });
  const [output] = Object.values(result.metafile.outputs);
  return [...output.exports].sort();
}

/**
 * Write dist/<name>.cjs and dist/<name>.js for each entry (name -> source file). The CJS entry
 * re-exports the library's one file, loaded through dist/load-core.cjs (the V8 code cache); the
 * ESM entry re-exports the CJS entry, so both forms hand out one instance of each class.
 */
export async function writePackageEntries(entries: Readonly<Record<string, string>>, dist: string): Promise<void> {
  for (const [name, source] of Object.entries(entries)) {
    const names = await exportedNames(source);
    const title = `// The \`${name === "index" ? "tsbpf" : `tsbpf/${name}`}\` entry: re-exports of the library's one file (scripts/library-core.ts).`;
    writeFileSync(
      join(dist, `${name}.cjs`),
      [
        `"use strict";`,
        title,
        `const core = require("./load-core.cjs").loadWithCodeCache(require("node:path").join(__dirname, "core.cjs")).exports;`,
        // Getters, as esbuild's CommonJS exports are: a binding the library reassigns stays live.
        `for (const name of ${JSON.stringify(names)}) Object.defineProperty(exports, name, { enumerable: true, get: () => core[name] });`,
        // The names in a form cjs-module-lexer reads (Node's named exports for an ESM importer).
        `0 && (module.exports = { ${names.join(", ")} });`,
        "",
      ].join("\n"),
    );
    // createRequire, not `import from "./x.cjs"`: Node would first scan the CJS file for names.
    writeFileSync(
      join(dist, `${name}.js`),
      [
        title,
        `import { createRequire } from "node:module";`,
        `const core = createRequire(import.meta.url)("./${name}.cjs");`,
        `export const { ${names.join(", ")} } = core;`,
        "",
      ].join("\n"),
    );
  }
}
