/** The example in docs/readers.md runs as written (against the kernel) and prints what the page says. */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { expect, it } from "vitest";
import { describeKernel } from "../helpers/kernel.js";

const root = resolve(import.meta.dirname, "../..");

describeKernel("docs/readers.md", () => {
  it("runs its example and prints what the page says", () => {
    const doc = readFileSync(join(root, "docs/readers.md"), "utf8");
    const code = /```ts\n([\s\S]*?)```/.exec(doc)![1]!.replace('"./src/index.js"', JSON.stringify(join(root, "src/index.ts")));
    const promised = /It prints:\n\n```\n([\s\S]*?)```/.exec(doc)![1]!;
    const dir = mkdtempSync(join(tmpdir(), "tsbpf-doc-"));
    try {
      writeFileSync(join(dir, "example.mts"), code);
      const out = execFileSync(join(root, "node_modules/.bin/tsx"), [join(dir, "example.mts")], { encoding: "utf8", cwd: root });
      expect(out).toBe(promised);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
