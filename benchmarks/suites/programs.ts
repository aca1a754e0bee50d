/** Program rows: BPF_PROG_TEST_RUN per call, beside benchmarks/c/core.c doing the same. */
import { exit, instructions, mov64, R0 } from "../../src/asm/builder.js";
import { Program } from "../../src/program/program.js";
import type { BenchSuite } from "../harness.js";

const XDP_PASS = 2;

function trivialXdp(): Program {
  return Program.load({ name: "bench_xdp", type: "xdp", instructions: instructions(mov64(R0, XDP_PASS), exit()) });
}

export const suite: BenchSuite = {
  name: "programs",
  rows: [
    {
      name: "test run, prepared (XDP, 64 B frame, data out)",
      unit: "call",
      iterations: 2_000,
      target: 1.1,
      c: { binary: "core", case: "prog_test_run", args: [64], persistent: true },
      note: "no allocation per call: at the floor row's ratio (a bare koffi call, ~1.12×)",
      setup() {
        const prog = trivialXdp();
        const prepared = prog.prepareRun({ data: new Uint8Array(64) });
        return {
          run(n) {
            for (let i = 0; i < n; i++) {
              if (prepared.run() !== XDP_PASS) throw new Error(`unexpected retval ${prepared.retval}`);
            }
            return n;
          },
          close: () => prog.close(),
        };
      },
    },
    {
      name: "test run, run({ data, dataOut }) (caller's buffers reused)",
      unit: "call",
      iterations: 2_000,
      target: 1.1,
      note: "the same options object shape each call, data out into the caller's buffer: only the result object is allocated; compare with the prepared row",
      c: { binary: "core", case: "prog_test_run", args: [64], persistent: true },
      setup() {
        const prog = trivialXdp();
        const frame = new Uint8Array(64);
        const out = new Uint8Array(64 + 4096);
        return {
          run(n) {
            for (let i = 0; i < n; i++) {
              const r = prog.run({ data: frame, dataOut: out });
              if (r.retval !== XDP_PASS) throw new Error(`unexpected retval ${r.retval}`);
            }
            return n;
          },
          close: () => prog.close(),
        };
      },
    },
    {
      name: "test run, run({ data }) (fresh result, data copied out)",
      unit: "call",
      iterations: 2_000,
      target: 1.1,
      note: "each call also allocates its result and a copy of the data out, which the C loop does not",
      c: { binary: "core", case: "prog_test_run", args: [64], persistent: true },
      setup() {
        const prog = trivialXdp();
        const frame = new Uint8Array(64);
        return {
          run(n) {
            for (let i = 0; i < n; i++) {
              const r = prog.run({ data: frame });
              if (r.retval !== XDP_PASS) throw new Error(`unexpected retval ${r.retval}`);
            }
            return n;
          },
          close: () => prog.close(),
        };
      },
    },
  ],
};
