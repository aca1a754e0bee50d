/**
 * Running the examples of a Markdown page, so docs stay true: each ```ts block is written to
 * a temporary file with its `tsbpf` import pointed at the sources, and run with tsx.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export const repoRoot = resolve(import.meta.dirname, "../..");

/** The ```ts blocks of a page (path relative to the repository root), in order. */
export function tsBlocks(page: string): string[] {
  const doc = readFileSync(join(repoRoot, page), "utf8");
  return [...doc.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);
}

/** The outputs a block promises: each `console.log(...); // value` line, in order. */
export function promisedOutput(code: string): string[] {
  return [...code.matchAll(/console\.log\(.*\);? *\/\/ (.*)$/gm)].map((m) => m[1].trim());
}

/**
 * `code` with its imports of the package (`"tsbpf"`, `"tsbpf/asm"` …) and of `./src/index.js`
 * pointed at this checkout's entry files (src/index.ts, src/subpaths/asm.ts …).
 */
export function withSourceImports(code: string): string {
  const entry = (sub: string | undefined) => JSON.stringify(join(repoRoot, "src", sub ? `subpaths/${sub}.ts` : "index.ts"));
  return code.replace(/from "tsbpf(?:\/(\w+))?"/g, (_, sub: string | undefined) => `from ${entry(sub)}`).replace(/from "\.\/src\/index\.js"/g, `from ${entry(undefined)}`);
}

/** Run one example (as root, from the repository root) and return what it printed. */
export function runExample(code: string): string {
  const source = withSourceImports(code);
  const dir = mkdtempSync(join(tmpdir(), "tsbpf-doc-"));
  try {
    // .mts: an ES module whatever the directory says, so examples may use top-level await.
    const file = join(dir, "example.mts");
    writeFileSync(file, source);
    return execFileSync(join(repoRoot, "node_modules/.bin/tsx"), [file], { encoding: "utf8", cwd: repoRoot });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
