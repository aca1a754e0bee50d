/** The README's examples run as written and print what their comments promise. */
import { expect } from "vitest";
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
