/**
 * docs/cli.md stays true: every `$ tsbpf …` line of its console blocks runs (in order, against
 * the kernel, with the example's bpffs directory made unique) and exits 0, and where the page
 * shows output, the command prints exactly that. Its ```ts example runs too.
 */
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { describe, expect } from "vitest";
import { promisedOutput, runExample, tsBlocks } from "../helpers/docs.js";
import { describeKernel, itKernel, uniqueName } from "../helpers/kernel.js";
import { withTracePipe } from "../helpers/trace-pipe-lock.js";
import { cli, ROOT } from "./run.js";

const PAGE = "docs/cli.md";
const EXAMPLE_DIR = "/sys/fs/bpf/docs_example";

/** Split a command line as sh would (single and double quotes, no expansions). */
function shellWords(line: string): string[] {
  const words: string[] = [];
  const re = /'([^']*)'|"([^"]*)"|(\S+)/g;
  for (const m of line.matchAll(re)) words.push(m[1] ?? m[2] ?? m[3]);
  return words;
}

/** Each `$ tsbpf …` command of the page's console blocks, with the output lines shown under it. */
function commands(): { words: string[]; expected: string[] }[] {
  const page = readFileSync(join(ROOT, PAGE), "utf8");
  const out: { words: string[]; expected: string[] }[] = [];
  for (const block of page.matchAll(/```console\n([\s\S]*?)```/g)) {
    for (const line of block[1].split("\n")) {
      if (line.startsWith("$ ")) out.push({ words: shellWords(line.slice(2).replace(/\s+#.*$/, "")), expected: [] });
      else if (line !== "" && out.length) out[out.length - 1].expected.push(line);
    }
  }
  return out;
}

describe("docs/cli.md", () => {
  const all = commands();
  expect(all.length).toBeGreaterThan(25);
  expect(all.every((c) => c.words[0] === "tsbpf")).toBe(true);

  describeKernel("runs every command of the page", () => {
    itKernel("each exits 0 and prints what the page shows", async () => {
      const dir = `/sys/fs/bpf/${uniqueName("docs_cli")}`;
      try {
        for (const c of all) {
          const args = c.words.slice(1).map((w) => w.split(EXAMPLE_DIR).join(dir));
          // `prog tracelog` reads trace_pipe: hold its lock so it takes no other test's lines.
          const r = args[0] === "prog" && args[1] === "tracelog" ? await withTracePipe(() => cli(...args)) : await cli(...args);
          expect([c.words.join(" "), r.code, r.err]).toEqual([c.words.join(" "), 0, ""]);
          if (c.expected.length) expect(r.out.split(dir).join(EXAMPLE_DIR)).toBe(`${c.expected.join("\n")}\n`);
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
        rmSync("/tmp/tsbpf-docs-vmlinux.h", { force: true });
      }
    }, 120_000);

    itKernel("the library example prints what it promises", () => {
      for (const code of tsBlocks(PAGE)) {
        expect(runExample(code).trim().split("\n")).toEqual(promisedOutput(code));
      }
    }, 60_000);
  });
});
