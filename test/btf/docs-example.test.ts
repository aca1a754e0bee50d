/** The example in docs/btf.md runs as written (against the kernel) and prints what it says. */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { expect } from "vitest";
import { describeKernel, itKernel } from "../helpers/kernel.js";

const root = resolve(import.meta.dirname, "../..");

describeKernel("docs/btf.md", () => {
  itKernel("runs its example and prints what its comments say", () => {
    const doc = readFileSync(join(root, "docs/btf.md"), "utf8");
    const code = /```ts\n([\s\S]*?)```/.exec(doc)![1]!.replace('"./src/index.js"', JSON.stringify(join(root, "src/index.ts")));
    // every `console.log(x); // y` line promises output y
    const promised = [...code.matchAll(/console\.log\(.*\); \/\/ (.*)$/gm)].map((m) => m[1]);
    expect(promised.length).toBeGreaterThan(5);
    const dir = mkdtempSync(join(tmpdir(), "tsbpf-doc-"));
    try {
      writeFileSync(join(dir, "example.ts"), code);
      const out = execFileSync(join(root, "node_modules/.bin/tsx"), [join(dir, "example.ts")], { encoding: "utf8", cwd: root });
      expect(out.trim().split("\n")).toEqual(promised);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
