/** The example in docs/maps.md runs as written (against the kernel) and prints what it says. */
import { expect, it } from "vitest";
import { runExample, tsBlocks } from "../helpers/docs.js";
import { describeKernel } from "../helpers/kernel.js";

describeKernel("docs/maps.md", () => {
  it("runs its example", () => {
    const out = runExample(tsBlocks("docs/maps.md")[0]);
    const lines = out.split("\n");
    expect(lines[0]).toBe("1n");
    expect(out).toContain("{ addr: 2130706433, port: 443, proto: 6 } 1n");
    expect(out).toContain("hello");
    expect(out).toContain("42n");
    expect(out).toContain("typeName: 'hash'");
  }, 60_000);
});
