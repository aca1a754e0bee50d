/** The README's examples run as written and print what their comments promise. */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { promisedOutput, runExample, tsBlocks } from "../helpers/docs.js";
import { describeKernel, itKernel } from "../helpers/kernel.js";

const blocks = tsBlocks("README.md");

describeKernel("README.md", () => {
  itKernel("has its two examples, each promising output", () => {
    expect(blocks).toHaveLength(2);
    for (const code of blocks) expect(promisedOutput(code).length).toBeGreaterThan(0);
  });

  itKernel.each(blocks.map((code, i) => ({ name: `example ${i + 1}`, code })))("$name prints what it promises", ({ code }) => {
    // A trailing comment may explain the value ("192n, read through ..."): compare the value.
    const promised = promisedOutput(code).map((p) => p.split(",")[0].trim());
    expect(runExample(code).trim().split("\n")).toEqual(promised);
  }, 60_000);
});

describe("README.md's examples list", () => {
  it("names every example in examples/ with the command that runs it", () => {
    const readme = readFileSync("README.md", "utf8");
    // An example is what examples/run.ts runs: examples/<name>/<name>.ts (examples/lib is shared code).
    const dirs = readdirSync("examples", { withFileTypes: true })
      .filter((d) => d.isDirectory() && existsSync(`examples/${d.name}/${d.name}.ts`))
      .map((d) => d.name);
    expect(dirs.length).toBeGreaterThan(0);
    for (const name of dirs) expect(readme).toContain(`| \`npm run example -- ${name}\` |`);
  });
});
