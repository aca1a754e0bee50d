/**
 * The examples of the guides that have no test of their own (loading, CO-RE, programs) run as
 * written, from `tsbpf`, and print what they promise.
 */
import { expect } from "vitest";
import { promisedOutput, runExample, tsBlocks } from "../helpers/docs.js";
import { describeKernel, itKernel } from "../helpers/kernel.js";

describeKernel("guide examples", () => {
  itKernel("docs/loading.md: the first example prints what its comments promise", () => {
    const [code] = tsBlocks("docs/loading.md");
    // A comment may add an explanation after two spaces: "384n    (2 × 64 × 3)".
    const promised = promisedOutput(code!).map((p) => p.replace(/\s{2,}\(.*\)$/, ""));
    expect(promised.length).toBeGreaterThanOrEqual(4);
    expect(runExample(code!).trim().split("\n")).toEqual(promised);
  }, 60_000);

  itKernel("docs/core.md: the example plans the relocations, loads, and explains the unguarded access", () => {
    const [code] = tsBlocks("docs/core.md");
    const out = runExample(code!);
    expect(out).toMatch(/^#0 field_byte_offset struct task_struct\.pid: \d+ -> \d+$/m);
    const [pidRead, pid] = out.split("\n").find((l) => /^\d+n? \d+$/.test(l))!.replace("n", "").split(" ");
    expect(pidRead).toBe(pid);
    expect(out).toContain('program "core_unguarded"');
    expect(out).toContain("bpf_core_field_exists()");
  }, 60_000);

  itKernel("docs/programs.md: the example's assertions hold and it prints the verifier's last line", () => {
    const [code] = tsBlocks("docs/programs.md");
    const out = runExample(code!);
    expect(out).toMatch(/^\d+ ns per run; 100 bytes of data came back$/m);
    expect(out).toMatch(/^count_and_trim [0-9a-f]{16} \d+ \d+ \d+ \[ \d+ \]$/m);
    expect(out.trim().split("\n").at(-1)).toBe("R0 !read_ok");
  }, 60_000);
});
