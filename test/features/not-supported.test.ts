/**
 * Every NotSupportedError tsbpf throws about the kernel names the feature's minimum kernel. The
 * few that are about this loader rather than the kernel are listed here, each with its reason.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";

const SRC = join(__dirname, "../../src");

/** Loader limitations (no kernel would help): file → why there is no minimum kernel. */
const NOT_ABOUT_THE_KERNEL: Readonly<Record<string, string>> = {
  "collection/collection.ts:byte-order": "an object of the other byte order cannot run on this CPU at all",
  "collection/collection.ts:ksym": "resolving this kind of __ksym extern is not implemented by the loader",
  "collection/attach-target.ts": "the loader cannot infer this section's attach target; the caller names it",
  "btf/core/ksym.ts": "module kfuncs need the module's BTF fd in fd_array, which tsbpf does not pass yet",
  "bench/benchmark.ts": "a program type BPF_PROG_TEST_RUN cannot run on any kernel: the harness points to live stats instead",
};

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : p.endsWith(".ts") ? [p] : [];
  });
}

describe("NotSupportedError names a minimum kernel", () => {
  const sites = files(SRC).flatMap((f) => {
    const text = readFileSync(f, "utf8");
    return [...text.matchAll(/new NotSupportedError\(/g)].map((m) => ({
      file: relative(SRC, f),
      // the constructor call up to its closing options (a few lines at most)
      call: text.slice(m.index, text.indexOf(");", m.index) + 2),
    }));
  });

  it("finds the throw sites", () => {
    expect(sites.length).toBeGreaterThan(10);
  });

  it("gives minKernel at every site but the named loader limitations", () => {
    const missing = sites.filter((s) => !/minKernel/.test(s.call)).map((s) => s.file);
    const allowed = new Set(Object.keys(NOT_ABOUT_THE_KERNEL).map((k) => k.split(":")[0]));
    for (const f of missing) expect(allowed, `${f} throws NotSupportedError without minKernel`).toContain(f);
    // no stale entries: each named file still has such a site
    for (const f of allowed) expect(missing, f).toContain(f);
  });
});
