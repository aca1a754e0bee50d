/**
 * The corpus: small BPF programs written here in the style of bcc's libbpf-tools and
 * libbpf-bootstrap (test/gen/corpus/*.bpf.c: CO-RE over vmlinux.h, ring buffers, perf arrays,
 * per-CPU maps, struct keys, histograms, .rodata, maps of maps, tail calls, many section kinds).
 * `genCorpus` works as a user would: `tsbpf btf dump --format c` writes vmlinux.h from the
 * running kernel's BTF, then `tsbpf gen --cc clang-19` compiles each program and writes its
 * bindings (with the `--type`s a `// tsbpf-gen:` line in the source names). strict.test.ts
 * type-checks the output. Only compiled, never loaded, so any program type goes.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { cli } from "../cli/run.js";

export const CORPUS_DIR = "test/gen/corpus";

/** The corpus sources, sorted. */
export function corpusSources(): string[] {
  return readdirSync(CORPUS_DIR)
    .filter((f) => f.endsWith(".bpf.c"))
    .sort()
    .map((f) => join(CORPUS_DIR, f));
}

/** Bindings of every corpus program, written to `outDir/<name>.ts` (objects beside them); returns their paths. */
export async function genCorpus(outDir: string): Promise<string[]> {
  const header = join(outDir, "vmlinux.h");
  const dump = await cli("btf", "dump", "/sys/kernel/btf/vmlinux", "--format", "c", "--output", header);
  if (dump.code !== 0) throw new Error(`tsbpf btf dump --format c: ${dump.err}`);
  const out: string[] = [];
  for (const src of corpusSources()) {
    const extra = /^\/\/ tsbpf-gen: (.*)$/m.exec(readFileSync(src, "utf8"))?.[1]?.split(/\s+/) ?? [];
    const ts = join(outDir, `${src.split("/").pop()!.replace(/\.bpf\.c$/, "")}.ts`);
    const r = await cli("gen", "--cc", "clang-19", src, ...extra, "--out", ts, "--", "-I", outDir, "-D__TARGET_ARCH_x86");
    if (r.code !== 0) throw new Error(`tsbpf gen ${src}: ${r.err}`);
    out.push(ts);
  }
  return out;
}
