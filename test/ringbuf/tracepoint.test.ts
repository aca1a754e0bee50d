/**
 * The readers fed by a real event rather than a test run: a tracepoint program on
 * syscalls:sys_enter_getpid sends this process's pid to a ring buffer and a perf event array
 * each time this process calls getpid(2), and the readers see one record per call.
 */
import { expect, it } from "vitest";
import { asm } from "../../src/asm/assembler.js";
import { attachTracepoint } from "../../src/link/tracepoint.js";
import { BpfMap } from "../../src/map/bpf-map.js";
import { PerfReader } from "../../src/perf/reader.js";
import { Program } from "../../src/program/program.js";
import { RingBufReader } from "../../src/ringbuf/reader.js";
import { SYS, syscall3 } from "../../src/sys/libc.js";
import { describeKernel } from "../helpers/kernel.js";

const pid = process.pid;

describeKernel("readers fed by a tracepoint", () => {
  it("see one record per getpid(2) of this process, and an async read wakes on one", async () => {
    using rb = BpfMap.create({ type: "ringbuf", maxEntries: 4096 });
    using events = BpfMap.create({ type: "perf_event_array", keySize: 4, valueSize: 4, maxEntries: 128 });
    using prog = Program.load(
      {
        type: "tracepoint",
        license: "GPL",
        instructions: asm`
          r6 = r1
          call 14                       ; bpf_get_current_pid_tgid
          r0 >>= 32                     ; the tgid: this process's pid
          if r0 != ${pid} goto out
          *(u64 *)(r10 - 8) = r0
          r1 = map(${"rb"}) ll
          r2 = r10
          r2 += -8
          r3 = 8
          r4 = 0
          call 130                      ; bpf_ringbuf_output
          r1 = r6
          r2 = map(${"events"}) ll
          r3 = 0xffffffff ll            ; BPF_F_CURRENT_CPU
          r4 = r10
          r4 += -8
          r5 = 8
          call 25                       ; bpf_perf_event_output
        out:
          r0 = 0
          exit
        `,
      },
      { maps: { rb: rb.fd, events: events.fd } },
    );
    using reader = new RingBufReader(rb);
    using perf = new PerfReader(events);
    using link = attachTracepoint(prog, { category: "syscalls", name: "sys_enter_getpid" });
    void link;
    for (let i = 0; i < 5; i++) syscall3(SYS.getpid, 0, 0, 0);
    const fromRing: bigint[] = [];
    reader.poll((r) => {
      fromRing.push(r.view.getBigUint64(r.offset, true));
    });
    expect(fromRing).toEqual(Array(5).fill(BigInt(pid)));
    const fromPerf: number[] = [];
    perf.poll((r) => {
      if (r.type === "sample") fromPerf.push(Number(r.view.getBigUint64(r.offset, true)));
    });
    expect(fromPerf).toEqual(Array(5).fill(pid));

    const next = reader.read({ timeoutMs: 5000 });
    setTimeout(() => syscall3(SYS.getpid, 0, 0, 0), 20);
    const bytes = await next;
    expect(bytes && new DataView(bytes.buffer).getBigUint64(0, true)).toBe(BigInt(pid));
  });
});
