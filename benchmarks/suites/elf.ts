/**
 * ELF rows: opening a 50-program, 20-map object (bpf/bench_many.o) into a CollectionSpec, and
 * loading it into the kernel, beside libbpf's `bpf_object__open_file` and `bpf_object__load`
 * of the same file (benchmarks/c/elf_libbpf.c, linked with Debian's libbpf for this reference
 * only).
 */
import { fileURLToPath } from "node:url";
import { Collection } from "../../src/collection/collection.js";
import { CollectionSpec } from "../../src/elf/collection-spec.js";
import type { BenchSuite } from "../harness.js";

const OBJECT = fileURLToPath(new URL("../../bpf/bench_many.o", import.meta.url));

export const suite: BenchSuite = {
  name: "elf",
  rows: [
    {
      name: "open bench_many.o (50 programs, 20 maps) vs bpf_object__open",
      unit: "open",
      iterations: 400,
      target: 2.0,
      c: { binary: "elf_libbpf", case: "open", args: [OBJECT] },
      note: "the file is read and every section, symbol, relocation and map definition parsed, programs split and linked; instructions, .BTF.ext records and BTF types not needed by map definitions are decoded on first use (libbpf's open does not decode instructions either)",
      setup() {
        return {
          run(n) {
            for (let i = 0; i < n; i++) {
              const spec = CollectionSpec.fromFile(OBJECT);
              if (Object.keys(spec.programs).length !== 50) throw new Error("expected 50 programs");
            }
            return n;
          },
        };
      },
    },
    {
      name: "load bench_many.o (50 programs, 20 maps) vs bpf_object__load",
      unit: "load",
      iterations: 20,
      target: 1.05,
      c: { binary: "elf_libbpf", case: "load", args: [OBJECT] },
      note: "both sides: BTF, 20 maps and 50 verified programs, then close; the spec is parsed once outside the timing, as libbpf's open is. Same bpf(2) calls on both sides (strace); the gap is Program.load's per-program JavaScript (see docs/loading.md)",
      setup() {
        const spec = CollectionSpec.fromFile(OBJECT);
        return {
          run(n) {
            for (let i = 0; i < n; i++) {
              const coll = Collection.load(spec);
              coll.close();
            }
            return n;
          },
        };
      },
    },
  ],
};
