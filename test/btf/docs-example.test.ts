/** The example in docs/btf.md runs as written (against the kernel) and prints what it says. */
import { expect } from "vitest";
import { promisedOutput, runExample, tsBlocks } from "../helpers/docs.js";
import { describeKernel, itKernel } from "../helpers/kernel.js";

describeKernel("docs/btf.md", () => {
  itKernel("runs its example and prints what its comments say", () => {
    const code = tsBlocks("docs/btf.md")[0];
    // every `console.log(x); // y` line promises output y
    const promised = promisedOutput(code);
    expect(promised.length).toBeGreaterThan(5);
    expect(runExample(code).trim().split("\n")).toEqual(promised);
  }, 60_000);
});
