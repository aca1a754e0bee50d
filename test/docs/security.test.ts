/** The example in docs/security.md runs as written and prints what it says. */
import { expect, it } from "vitest";
import { promisedOutput, runExample, tsBlocks } from "../helpers/docs.js";
import { describeKernel } from "../helpers/kernel.js";

describeKernel("docs/security.md", () => {
  it("runs its example and prints what its comments promise", () => {
    const code = tsBlocks("docs/security.md")[0];
    const promised = promisedOutput(code);
    expect(promised).toHaveLength(4);
    const out = runExample(code).trimEnd().split("\n");
    expect(out).toEqual(promised);
  }, 60_000);
});
