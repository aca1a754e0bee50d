import { readdirSync } from "node:fs";
import { join } from "node:path";
/**
 * The golden bindings of test/gen/golden/: each case is one `tsbpf gen` command line, run by
 * `npm run gen:golden` (test/gen/regenerate.ts) to rewrite them and by golden.test.ts with
 * `--check` to fail on drift.
 */
export interface GoldenCase {
  name: string;
  args: string[];
}

const G = "test/gen/golden";

/** Objects of bpf/ with their bindings embedded; the two bpf/gen/ sources compiled by --cc. */
export const GOLDEN_CASES: readonly GoldenCase[] = [
  { name: "opensnoop_rb", args: ["--cc", "clang-19", "bpf/gen/opensnoop_rb.c", "--name", "Opensnoop", "--type", "event", "--out", `${G}/opensnoop_rb.ts`, "--", "-mcpu=v3"] },
  { name: "kinds", args: ["--cc", "clang-19", "bpf/gen/kinds.c", "--type", "alert", "--type", "pair_t", "--out", `${G}/kinds.ts`, "--", "-mcpu=v3"] },
  ...[
    "opensnoop",
    "global_data",
    "map_in_map",
    "xdp_tail",
    "histogram",
    "legacy_maps",
    "kconfig",
    "struct_ops",
    "subprograms",
    "readers/readers",
    "link/sockmap_redirect",
    "core/core_task",
  ].map((o) => ({ name: o.replace("/", "_"), args: [`bpf/${o}.o`, "--out", `${G}/${o.replace("/", "_")}.ts`] })),
];

/** Every committed object in bpf/ (the generator must handle them all). */
export function bpfObjects(dir = "bpf"): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory() && e.name !== "include") out.push(...bpfObjects(p));
    else if (e.name.endsWith(".o")) out.push(p);
  }
  return out.sort();
}

