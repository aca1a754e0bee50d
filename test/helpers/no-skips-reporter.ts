/**
 * Under TSBPF_REQUIRE_KERNEL=1 (CI) no test may pass by skipping: a machine's refusal is
 * asserted by the test itself (test/helpers/probes.ts), never skipped. This reporter lists
 * every skipped or todo test of such a run and fails it.
 */
import type { Reporter, TestModule } from "vitest/node";

export default class NoSkipsReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    if (process.env.TSBPF_REQUIRE_KERNEL !== "1") return;
    const skipped: string[] = [];
    for (const m of testModules) {
      for (const t of m.children.allTests()) {
        const state = t.result().state;
        if (state === "skipped" || state === "pending") skipped.push(`${m.moduleId.replace(`${process.cwd()}/`, "")} > ${t.fullName}`);
      }
    }
    if (skipped.length === 0) return;
    process.stderr.write(`\nTSBPF_REQUIRE_KERNEL=1: ${skipped.length} test(s) skipped; a skip is a failure here:\n${skipped.map((s) => `  - ${s}`).join("\n")}\n`);
    process.exitCode = 1;
  }
}
