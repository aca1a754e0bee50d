/** Runs every `<!-- runnable -->` example of docs/links.md as its own process, against the sources. */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect } from "vitest";
import { describeKernel, itKernel } from "./kit.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const doc = readFileSync(join(root, "docs/links.md"), "utf8");
const blocks = [...doc.matchAll(/<!-- runnable -->\n```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);

describeKernel("docs/links.md examples", () => {
  itKernel("has runnable examples", () => {
    expect(blocks.length).toBeGreaterThanOrEqual(4);
  });
  for (const [i, code] of blocks.entries()) {
    const title = code.split("\n")[0]!.replace(/^\/\/\s*/, "");
    itKernel(`example ${i + 1}: ${title}`, () => {
      const dir = mkdtempSync(join(tmpdir(), "tsbpf-doc-"));
      try {
        const file = join(dir, `example${i}.ts`);
        writeFileSync(file, code.replaceAll('from "tsbpf"', `from ${JSON.stringify(join(root, "src/index.ts"))}`));
        execFileSync(process.execPath, [join(root, "node_modules/tsx/dist/cli.mjs"), file], { cwd: root, encoding: "utf8", stdio: "pipe", timeout: 60000 });
      } catch (e) {
        const err = e as { stderr?: string; message: string };
        throw new Error(`example ${i + 1} failed:\n${err.stderr ?? err.message}`);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }, 60000);
  }
});
