/** docs/features.md: its examples run as written and print what their comments promise. */
import { expect } from "vitest";
import { promisedOutput, runExample, tsBlocks } from "../helpers/docs.js";
import { describeKernel, itKernel } from "../helpers/kernel.js";

const blocks = tsBlocks("docs/features.md");

describeKernel("docs/features.md", () => {
  itKernel("has its three examples, each promising output", () => {
    expect(blocks).toHaveLength(3);
    for (const code of blocks) expect(promisedOutput(code).length).toBeGreaterThan(0);
  });

  itKernel.each(blocks.map((code, i) => ({ name: `example ${i + 1}`, code })))("$name prints what it promises", ({ code }) => {
    expect(runExample(code).trim().split("\n")).toEqual(promisedOutput(code));
  }, 60_000);
});
