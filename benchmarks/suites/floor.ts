/**
 * Floor rows: the least any TypeScript code can do for a row of the core suites, a bare koffi
 * call of bpf(2) with an attr prepared once, beside the same C. They show how much of a row's
 * ratio is the FFI call itself (and the JS loop around it) rather than tsbpf's own work.
 */
import { exit, instructions, mov64, R0 } from "../../src/asm/builder.js";
import { u32, u64 } from "../../src/codec.js";
import { BpfMap } from "../../src/map/bpf-map.js";
import { Program } from "../../src/program/program.js";
import { BpfCmd } from "../../src/sys/bpf.js";
import { NativeMemory, SYS, syscall3 } from "../../src/sys/libc.js";
import { MapBatchAttr } from "../../src/sys/map-attr.js";
import { TestRunAttr } from "../../src/sys/prog-attr.js";
import type { BenchSuite } from "../harness.js";

export const suite: BenchSuite = {
  name: "floor",
  rows: [
    {
      name: "bare koffi bpf(2): array lookup",
      iterations: 2_000,
      target: 1.1,
      note: "no codec, no checks: one koffi call per lookup with a fixed attr (the floor of the maps rows)",
      c: { binary: "core", case: "array_lookup", persistent: true },
      setup() {
        const map = BpfMap.create({ type: "array", key: u32, value: u64, maxEntries: 1 });
        const key = new NativeMemory(4);
        const value = new NativeMemory(8);
        const attr = new NativeMemory(32);
        attr.view.setUint32(0, map.fd, true);
        attr.view.setBigUint64(8, BigInt(key.address), true);
        attr.view.setBigUint64(16, BigInt(value.address), true);
        const address = attr.address;
        return {
          run(n) {
            for (let i = 0; i < n; i++) {
              if (syscall3(SYS.bpf, BpfCmd.BPF_MAP_LOOKUP_ELEM, address, 32) < 0) throw new Error("lookup failed");
            }
            return n;
          },
          close() {
            map.close();
            void [key, value, attr]; // kept alive until here: the kernel writes into them
          },
        };
      },
    },
    {
      name: "bare koffi bpf(2): batch lookup (100k entries, 1000 per call)",
      unit: "element",
      iterations: 10,
      target: 1.05,
      note: "keys and values stay raw bytes in native memory (the floor of the batch row: nothing decoded)",
      c: { binary: "core", case: "batch_lookup", args: [100_000, 1000], persistent: true },
      setup() {
        const map = BpfMap.create({ type: "hash", key: u32, value: u64, maxEntries: 100_000 });
        for (let k = 0; k < 100_000; k++) map.set(k, BigInt(k));
        const keys = new NativeMemory(1000 * 4);
        const values = new NativeMemory(1000 * 8);
        let tokenIn = new NativeMemory(8);
        let tokenOut = new NativeMemory(8);
        const attr = new MapBatchAttr(map.fd);
        let first = true;
        return {
          run(calls) {
            let units = 0;
            for (let i = 0; i < calls; i++) {
              attr.setBuffers(first ? 0 : tokenIn.address, tokenOut.address, keys.address, values.address);
              const r = attr.run(BpfCmd.BPF_MAP_LOOKUP_BATCH, 1000);
              units += attr.count;
              if (r < 0) {
                if (r !== -2) throw new Error(`batch lookup failed: ${r}`);
                first = true; // ENOENT: the end, start again
                continue;
              }
              [tokenIn, tokenOut] = [tokenOut, tokenIn];
              first = false;
            }
            return units;
          },
          close() {
            map.close();
            void [keys, values, tokenIn, tokenOut];
          },
        };
      },
    },
    {
      name: "bare koffi bpf(2): test run",
      unit: "call",
      iterations: 2_000,
      target: 1.1,
      note: "one koffi call per run with a fixed attr (the floor of the test-run rows)",
      c: { binary: "core", case: "prog_test_run", args: [64], persistent: true },
      setup() {
        const prog = Program.load({ name: "bench_xdp", type: "xdp", instructions: instructions(mov64(R0, 2), exit()) });
        const dataIn = new NativeMemory(64);
        const dataOut = new NativeMemory(64 + 4096);
        const attr = new TestRunAttr();
        attr.set(prog.fd, dataIn.address, 64, dataOut.address, 64 + 4096, 0, 0, 0, 0, 0, 0, 0, 0);
        const address = attr.address;
        return {
          run(n) {
            for (let i = 0; i < n; i++) {
              if (syscall3(SYS.bpf, BpfCmd.BPF_PROG_TEST_RUN, address, 80) < 0) throw new Error("test run failed");
            }
            return n;
          },
          close() {
            prog.close();
            void [dataIn, dataOut];
          },
        };
      },
    },
  ],
};
