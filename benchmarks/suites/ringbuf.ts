/**
 * Ring buffer rows: draining a BPF ring buffer through mmap, RingBufReader.poll() beside C
 * doing the same drain (benchmarks/c/ringbuf.c). Only the drain is timed: the ring is filled
 * once by a program run with repeat, and each round moves the consumer position back over the
 * records it drains (the kernel leaves consumed records in place), so no program run and no
 * syscall is inside the loop on either side.
 */
import { add64, call, exit, instructions, ldMapFd, mov64, R0, R1, R2, R3, R4, R10, st } from "../../src/asm/builder.js";
import { BpfMap } from "../../src/map/bpf-map.js";
import { Program } from "../../src/program/program.js";
import { RingBufReader, type RingBufRecord } from "../../src/ringbuf/reader.js";
import { MAP_SHARED, mmap, munmap, PROT_READ, PROT_WRITE } from "../../src/sys/libc.js";
import type { BenchSuite } from "../harness.js";

const RING = 1 << 19;
/** 8-byte header + 16-byte payload. */
const SPAN = 24;
const RB_NO_WAKEUP = 1;

export const suite: BenchSuite = {
  name: "ringbuf",
  rows: [
    {
      name: "ring buffer drain through mmap, 16 B records",
      unit: "record",
      iterations: 20_000,
      target: 3.5,
      note: "~7 ns per record: poll() calls a JS callback per record, which reads the record's first u32 through a DataView as C reads it; C inlines the whole loop body (~2.7 ns). Atomics on mmapped (non-shared) buffers are not inlined by V8 (~12 ns more per record), so x86_64 uses plain ordered accesses",
      c: { binary: "ringbuf", case: "drain", args: [RING], persistent: true },
      setup() {
        const map = BpfMap.create({ type: "ringbuf", maxEntries: RING });
        const prog = Program.load(
          {
            type: "xdp",
            instructions: instructions(
              st("u64", R10, -16, 1),
              st("u64", R10, -8, 2),
              ldMapFd(R1, "rb"), mov64(R2, R10), add64(R2, -16), mov64(R3, 16), mov64(R4, RB_NO_WAKEUP), call("ringbuf_output"),
              mov64(R0, 2), exit(),
            ),
          },
          { maps: { rb: map.fd } },
        );
        const records = Math.floor(RING / SPAN);
        prog.run({ data: new Uint8Array(64), dataOut: false, repeat: records });
        prog.close();
        const reader = new RingBufReader(map);
        // The benchmark's own view of the consumer page, to move the position back each round.
        const cons = mmap(4096, PROT_READ | PROT_WRITE, MAP_SHARED, map.fd, 0);
        const consWords = new Uint32Array(cons.buffer, 0, 2);
        const produced = records * SPAN;
        if (reader.available !== produced) throw new Error(`fill: ${reader.available} bytes pending, expected ${produced}`);
        let sum = 0;
        const onRecord = (r: RingBufRecord): void => {
          sum += r.view.getUint32(r.offset, true);
        };
        return {
          run(n) {
            const count = Math.min(n, records);
            Atomics.store(consWords, 0, produced - count * SPAN); // positions stay below 2^32 here
            return reader.poll(onRecord);
          },
          close() {
            reader.close();
            munmap(cons);
            map.close();
            void sum;
          },
        };
      },
    },
  ],
};
