/**
 * The layering rules of docs/architecture.md, enforced: only src/sys imports koffi, and the pure
 * layers (asm, btf, elf, codecs) never import anything that reaches the kernel, so they work
 * anywhere, without root.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const SRC = resolve(__dirname, "../src");

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? sourceFiles(p) : p.endsWith(".ts") ? [p] : [];
  });
}

/** Module specifiers imported (statically or dynamically) or re-exported by a file. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const specs: string[] = [];
  // `import type` is erased at run time, so it cannot pull the kernel into a pure module.
  for (const m of text.matchAll(/(?:^|\s)(?:import|export)\s(?!type\s)[^;]*?from\s+["']([^"']+)["']/g)) specs.push(m[1]);
  for (const m of text.matchAll(/import\(\s*["']([^"']+)["']\s*\)/g)) specs.push(m[1]);
  for (const m of text.matchAll(/^import\s+["']([^"']+)["']/gm)) specs.push(m[1]);
  return specs;
}

/** The src-relative path a relative import resolves to (".js" → ".ts"). */
function target(from: string, spec: string): string | undefined {
  if (!spec.startsWith(".")) return undefined;
  return relative(SRC, resolve(dirname(from), spec.replace(/\.js$/, ".ts")));
}

const files = sourceFiles(SRC);
const PURE = [
  "asm/",
  "btf/",
  "elf/",
  "codec.ts",
  "errors.ts",
  // Specs and kernel enum tables are plain data that the pure ELF layer builds.
  "spec/",
];
const isPure = (rel: string) => PURE.some((p) => rel === p || rel.startsWith(p));
// The live parts of btf (loading BTF into the kernel) are allowed to live beside the pure parts
// only under these names, which import from src/sys on purpose.
const KERNEL_FACING_IN_PURE_DIRS = [/^btf\/.*(load|handle|kernel-object)[^/]*\.ts$/];

describe("architecture", () => {
  it("finds the source tree", () => {
    expect(files.length).toBeGreaterThan(5);
  });

  it.each(files.map((f) => [relative(SRC, f), f]))("%s: only src/sys imports koffi", (rel, file) => {
    if (rel.startsWith("sys/")) return;
    expect(importsOf(file)).not.toContain("koffi");
  });

  it.each(files.filter((f) => isPure(relative(SRC, f))).map((f) => [relative(SRC, f), f]))(
    "%s: a pure module imports only pure modules",
    (rel, file) => {
      if (KERNEL_FACING_IN_PURE_DIRS.some((re) => re.test(rel))) return;
      for (const spec of importsOf(file)) {
        const t = target(file, spec);
        if (t === undefined) {
          expect(["koffi"]).not.toContain(spec);
          continue;
        }
        const pure = isPure(t) && !KERNEL_FACING_IN_PURE_DIRS.some((re) => re.test(t));
        expect(pure ? "pure" : t).toBe("pure");
      }
    },
  );
});
