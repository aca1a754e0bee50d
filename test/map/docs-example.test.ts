/** The example in docs/maps.md runs as written (against the kernel) and prints what it says. */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { expect, it } from "vitest";
import { describeKernel } from "../helpers/kernel.js";

const root = resolve(import.meta.dirname, "../..");

describeKernel("docs/maps.md", () => {
  it("runs its example", () => {
    const doc = readFileSync(join(root, "docs/maps.md"), "utf8");
    const code = /```ts\n([\s\S]*?)```/.exec(doc)![1]!.replace('"./src/index.js"', JSON.stringify(join(root, "src/index.ts")));
    const dir = mkdtempSync(join(tmpdir(), "tsbpf-doc-"));
    try {
      writeFileSync(join(dir, "example.ts"), code);
      const out = execFileSync(join(root, "node_modules/.bin/tsx"), [join(dir, "example.ts")], { encoding: "utf8", cwd: root });
      const lines = out.split("\n");
      expect(lines[0]).toBe("1n");
      expect(out).toContain("{ addr: 2130706433, port: 443, proto: 6 } 1n");
      expect(out).toContain("hello");
      expect(out).toContain("42n");
      expect(out).toContain("typeName: 'hash'");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
