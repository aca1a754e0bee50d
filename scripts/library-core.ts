/**
 * The library as one file per format, dist/core.js and dist/core.cjs: every module of the
 * package entries (`tsbpf`, `tsbpf/asm`, `tsbpf/btf`, `tsbpf/elf`). Each entry is a file of
 * re-exports from it (scripts/package-entries.ts writes them after the build), so
 * `import "tsbpf"` reads two files where a build split among the entries read seven (#19: ~4 ms
 * less of Node's ESM loader, ~1.6 ms of require), and every entry hands out the same classes.
 */
export * from "../src/index.js";
export * from "../src/subpaths/asm.js";
export * from "../src/subpaths/btf.js";
export * from "../src/subpaths/elf.js";
