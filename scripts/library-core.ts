/**
 * The library as one file, dist/core.cjs: every module of the package entries (`tsbpf`,
 * `tsbpf/asm`, `tsbpf/btf`, `tsbpf/elf`). Each entry, ESM or CJS, is a file of re-exports from
 * it (scripts/package-entries.ts writes them after the build), so `import "tsbpf"` reads few
 * files (#19: a build split among the entries read seven, ~4 ms more of Node's ESM loader),
 * V8 compiles it once with the code cache (scripts/load-core.ts), and every entry hands out
 * the same classes.
 */
export * from "../src/index.js";
export * from "../src/subpaths/asm.js";
export * from "../src/subpaths/btf.js";
export * from "../src/subpaths/elf.js";
