/**
 * BTF rows: opening the running kernel's vmlinux BTF, beside libbpf's `btf__parse` of the same
 * file (benchmarks/c/btf_parse.c, linked with Debian's libbpf for this reference only).
 *
 * Run with the others (`npm run bench -- --filter btf`) or on its own, which also measures the
 * resident memory of the parsed kernel BTF in a fresh process:
 *
 *   npx tsx benchmarks/suites/btf.ts            rows + memory
 *   npx tsx benchmarks/suites/btf.ts --memory   memory only
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { kernelBtf, releaseKernelBtf } from "../../src/features/kernel-btf.js";
import { buildC, formatTable, measureRow, type BenchSuite } from "../harness.js";

const VMLINUX = "/sys/kernel/btf/vmlinux";

/** Open vmlinux BTF afresh (not the shared instance), as a first load in a process does. */
function openFresh() {
  releaseKernelBtf();
  return kernelBtf();
}

export const suite: BenchSuite = {
  name: "btf",
  rows: [
    {
      name: "vmlinux BTF: open + find struct task_struct",
      unit: "open",
      iterations: 40,
      target: 1.0,
      c: { binary: "btf_parse", case: "parse_find", args: [VMLINUX] },
      note: "lazy: the file is mapped (or read), records framed once, one type decoded; libbpf parses every type",
      setup() {
        return {
          run(n) {
            for (let i = 0; i < n; i++) {
              const t = openFresh().typeByName("task_struct", "struct");
              if (!t || t.size < 1000) throw new Error("task_struct not found");
            }
            releaseKernelBtf();
            return n;
          },
        };
      },
    },
    {
      name: "vmlinux BTF: open + decode every type (vs btf__parse)",
      unit: "open",
      iterations: 20,
      target: 2.0,
      c: { binary: "btf_parse", case: "parse", args: [VMLINUX] },
      note: "each of the 126k types becomes a JS object with its names decoded; libbpf's parse only indexes",
      setup() {
        return {
          run(n) {
            let names = 0;
            for (let i = 0; i < n; i++) {
              for (const t of openFresh()) names += t.name.length;
            }
            releaseKernelBtf();
            if (names === 0) throw new Error("no names");
            return n;
          },
        };
      },
    },
  ],
};

/** Resident memory added by opening vmlinux BTF and finding a struct, measured in this process. */
function memoryChild(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error("run with --expose-gc");
  // settle the heap first: the first collections after startup free more than the open takes
  for (let i = 0; i < 5; i++) gc();
  const before = process.memoryUsage().rss;
  const mem0 = process.memoryUsage();
  const spec = kernelBtf();
  spec.typeByName("task_struct", "struct");
  gc();
  const afterOpen = process.memoryUsage().rss;
  const mem1 = process.memoryUsage();
  // what the process allocated itself (JS heap + typed arrays), beside what RSS shows
  const ownMB = (mem1.heapUsed - mem0.heapUsed + mem1.arrayBuffers - mem0.arrayBuffers) / 1048576;
  for (const name of ["sk_buff", "file", "inode", "cgroup", "bpf_map", "net_device"]) spec.typeByName(name, "struct");
  gc();
  const afterIndex = process.memoryUsage().rss;
  let n = 0;
  for (const t of spec) n += t.id > 0 ? 1 : 0;
  gc();
  const afterWalk = process.memoryUsage().rss;
  const mb = (x: number) => Number((x / 1048576).toFixed(2));
  console.log(
    JSON.stringify({
      types: n,
      openFindMB: mb(afterOpen - before),
      openFindOwnMB: Number(ownMB.toFixed(2)),
      withNameIndexMB: mb(afterIndex - before),
      afterFullWalkMB: mb(afterWalk - before),
    }),
  );
}

/** Run memoryChild in a fresh node process (so nothing else is resident) and return its figures. */
export function measureMemory(): { types: number; openFindMB: number; openFindOwnMB: number; withNameIndexMB: number; afterFullWalkMB: number } {
  const out = execFileSync(process.execPath, ["--expose-gc", "--import", "tsx", fileURLToPath(import.meta.url), "--memory-child"], {
    encoding: "utf8",
  });
  return JSON.parse(out.trim().split("\n").pop()!);
}

async function standalone(argv: string[]): Promise<void> {
  if (argv.includes("--memory-child")) return memoryChild();
  if (!existsSync(VMLINUX)) throw new Error(`${VMLINUX} does not exist: this kernel has no BTF`);
  if (!argv.includes("--memory")) {
    buildC();
    const results = [];
    for (const row of suite.rows) results.push(await measureRow(suite.name, row, { rounds: 5, scale: 1 }));
    console.log(formatTable(results));
  }
  const m = measureMemory();
  console.log(
    `\nresident memory of vmlinux BTF (${m.types} types): open + find ${m.openFindMB} MB, ` +
      `with name index ${m.withNameIndexMB} MB, after a full walk ${m.afterFullWalkMB} MB (target ≤ 10 MB); ` +
      `heap + typed arrays allocated by the open: ${m.openFindOwnMB} MB (the mapped or read file counts as typed arrays when read)`,
  );
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  standalone(process.argv.slice(2)).catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exitCode = 1;
  });
}
