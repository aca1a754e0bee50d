/**
 * docs/gen.md as a user follows it: its C (bpf/gen/opensnoop_rb.c), its one `tsbpf gen` line,
 * and its TypeScript, run against the kernel; it prints the event of its own open.
 */
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { expect } from "vitest";
import { command } from "../../src/cli/gen.js";
import { tsBlocks } from "../helpers/docs.js";
import { describeKernel, itKernel } from "../helpers/kernel.js";

describeKernel("docs/gen.md", () => {
  itKernel("opensnoop: the C, one tsbpf gen line, and the TypeScript print the event", () => {
    const page = readFileSync("docs/gen.md", "utf8");
    const line = /^npx tsbpf gen (.*)$/m.exec(page)?.[1];
    expect(line).toBe("--cc clang-19 opensnoop.bpf.c --type event");
    const dir = mkdtempSync(join(tmpdir(), "tsbpf-gen-doc-"));
    try {
      copyFileSync("bpf/gen/opensnoop_rb.c", join(dir, "opensnoop.bpf.c"));
      const args = line!.split(" ").map((a) => (a === "opensnoop.bpf.c" ? join(dir, a) : a));
      expect(command.run([...args, "--import", resolve("src/index.ts")])).toBe(0);
      expect(existsSync(join(dir, "opensnoop.bpf.ts"))).toBe(true);
      expect(existsSync(join(dir, "opensnoop.bpf.o"))).toBe(true);
      writeFileSync(join(dir, "package.json"), JSON.stringify({ type: "module" })); // a user's ESM project: top-level await
      const code = tsBlocks("docs/gen.md")[0]!;
      writeFileSync(join(dir, "main.ts"), code.replace(/from "tsbpf"/g, `from ${JSON.stringify(resolve("src/index.ts"))}`));
      const out = execFileSync(resolve("node_modules/.bin/tsx"), [join(dir, "main.ts")], { cwd: dir, encoding: "utf8", timeout: 30_000 }).trim().split("\n");
      expect(out).toHaveLength(2);
      expect(out[0]).toMatch(/^\S.* \/etc\/passwd$/); // comm, then the file name
      expect(out[1]).toBe("0n");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
