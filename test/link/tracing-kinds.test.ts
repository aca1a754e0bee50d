import { closeSync, openSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect } from "vitest";
import { Program, type StatsHandle } from "../../src/program/program.js";
import { attachTracepoint } from "../../src/link/tracepoint.js";
import { attachRawTracepoint } from "../../src/link/raw-tracepoint.js";
import { attachPerfEvent } from "../../src/link/perf-event.js";
import { attachKprobe, kprobeCandidates, KPROBES_MISSING, syscallPrefix } from "../../src/link/kprobe.js";
import { attachKprobeMulti, encodeKprobeMulti } from "../../src/link/kprobe-multi.js";
import { kprobeEventLine, uprobeEventLine } from "../../src/link/tracefs-probe.js";
import { isNotSupportedError, NotSupportedError } from "../../src/errors.js";
import { describeKernel, itKernel, it } from "./kit.js";
import { KNOWN_LIMITS } from "../helpers/known-limits.js";
import { getU64, retProgram, runs } from "./progs.js";
import { add64, call, exit, instructions, ldMapFd, mov64, st, stx } from "../../src/asm/builder.js";
import { BpfMap } from "../../src/map/bpf-map.js";
import { machineRefusalReason, refusalCode } from "../helpers/probes.js";

let stats: StatsHandle;
beforeAll(() => {
  if (process.getuid?.() === 0) stats = Program.enableStats();
});
afterAll(() => stats?.close());

function openFiles(n: number): void {
  for (let i = 0; i < n; i++) closeSync(openSync("/proc/self/stat", "r"));
}

describeKernel("tracepoint", () => {
  for (const method of ["link", "ioctl"] as const) {
    itKernel(`counts opens on syscalls:sys_enter_openat (${method}) and stops after close`, () => {
      using prog = retProgram("tracepoint", 0, "tp_open");
      const link = attachTracepoint(prog, { category: "syscalls", name: "sys_enter_openat", method });
      try {
        expect(link.type).toBe(method === "link" ? "perf_event" : "perf_event_ioctl");
        expect(link.info()).toMatchObject({ tracepoint: "syscalls:sys_enter_openat", ...(method === "link" ? { type: "perf_event", programId: prog.info().id } : {}) });
        const before = runs(prog);
        openFiles(25);
        expect(runs(prog) - before).toBeGreaterThanOrEqual(25n);
        if (method === "link") {
          const shown = JSON.parse(execFileSync("bpftool", ["-j", "link", "show", "id", String(link.id)], { encoding: "utf8" }));
          expect(shown).toMatchObject({ id: link.id, type: "perf_event", prog_id: prog.info().id });
        }
      } finally {
        link.close();
      }
      const after = runs(prog);
      openFiles(10);
      // Other processes may open files too, but the program is detached: no run at all.
      expect(runs(prog)).toBe(after);
    });
  }

  itKernel("names a missing tracepoint", () => {
    using prog = retProgram("tracepoint", 0, "tp_none");
    expect(() => attachTracepoint(prog, { category: "syscalls", name: "no_such_tp" })).toThrow(/tracepoint syscalls:no_such_tp: not found/);
    expect(() => attachTracepoint(prog, { category: "../x", name: "y" })).toThrow(TypeError);
    expect(() => attachTracepoint(prog, { category: "syscalls", name: "sys_enter_openat", bogus: 1 } as never)).toThrow(/unknown option "bogus"/);
  });
});

describeKernel("BPF cookies", () => {
  itKernel("a tracepoint and a raw tracepoint program read the cookie given at attach", () => {
    for (const [type, attachFn] of [
      ["tracepoint", (p: Program) => attachTracepoint(p, { category: "syscalls", name: "sys_enter_openat", cookie: 0x1234_5678_9abcn })],
      ["raw_tracepoint", (p: Program) => attachRawTracepoint(p, { name: "sys_enter", cookie: 0x1234_5678_9abcn })],
    ] as const) {
      using map = BpfMap.create({ name: "cookie_out", type: "array", keySize: 4, valueSize: 8, maxEntries: 1 });
      using prog = Program.load(
        {
          name: "cookie_rd",
          type,
          license: "GPL",
          instructions: instructions(
            call("get_attach_cookie"),
            stx("u64", "r10", "r0", -16),
            st("u32", "r10", -4, 0),
            ldMapFd("r1", "out"),
            mov64("r2", "r10"),
            add64("r2", -4),
            mov64("r3", "r10"),
            add64("r3", -16),
            mov64("r4", 0),
            call("map_update_elem"),
            mov64("r0", 0),
            exit(),
          ),
        },
        { maps: { out: map } },
      );
      {
        using link = attachFn(prog);
        expect(link.isBpfLink).toBe(true);
        openFiles(2);
      }
      expect(getU64(map, 0)).toBe(0x1234_5678_9abcn);
    }
  });
});

describeKernel("raw tracepoint", () => {
  itKernel("counts syscalls on sys_enter and stops after close", () => {
    using prog = retProgram("raw_tracepoint", 0, "raw_enter");
    const link = attachRawTracepoint(prog, { name: "sys_enter" });
    try {
      expect(link.info()).toMatchObject({ type: "raw_tracepoint", tracepoint: "sys_enter", programId: prog.info().id });
      const before = runs(prog);
      openFiles(20);
      expect(runs(prog) - before).toBeGreaterThanOrEqual(40n); // openat + close each
    } finally {
      link.close();
    }
    const after = runs(prog);
    openFiles(5);
    expect(runs(prog)).toBe(after);
    expect(() => attachRawTracepoint(prog, { name: "no_such_tracepoint_x" })).toThrow(/ENOENT from BPF_RAW_TRACEPOINT_OPEN \(no tracepoint named no_such_tracepoint_x\)/);
  });
});

describeKernel("perf_event", () => {
  itKernel("samples cpu-clock on every CPU and stops after close", async () => {
    using prog = retProgram("perf_event", 0, "pe_clock");
    const link = attachPerfEvent(prog, { event: { type: "software", name: "cpu_clock" }, sampleFrequency: 1000 });
    try {
      const info = link.info() as unknown as { links: Array<{ cpu: number; type: string }> };
      expect(info.links.map((l) => l.cpu)).toEqual(Array.from({ length: info.links.length }, (_, i) => i));
      const before = runs(prog);
      const end = Date.now() + 150;
      while (Date.now() < end) {
        /* burn CPU so samples fire */
      }
      expect(runs(prog) - before).toBeGreaterThan(20n);
    } finally {
      link.close();
    }
    const after = runs(prog);
    await new Promise((r) => setTimeout(r, 50));
    expect(runs(prog)).toBe(after);
  });
});

describeKernel(`hardware perf events (known limit here: ${machineRefusalReason("hardwarePerf")})`, () => {
  itKernel("a hardware event on a machine without a CPU PMU is a NotSupportedError caused by ENOENT", () => {
    using prog = retProgram("perf_event", 0, "pe_hw");
    let err: unknown;
    try {
      attachPerfEvent(prog, { event: { type: "hardware", name: "cpu_cycles" }, samplePeriod: 100000n }).close();
      return; // a machine with hardware counters: nothing to check here
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NotSupportedError);
    expect((err as NotSupportedError).feature).toBe("hardware performance counters");
    expect(((err as Error).cause as { code: string }).code).toBe(refusalCode("hardwarePerf"));
  });
});

describe("kprobe target resolution (no kernel needed)", () => {
  it("retries syscalls with the architecture's prefix", () => {
    expect(kprobeCandidates("openat", true, "x64")).toEqual(["__x64_sys_openat", "sys_openat"]);
    expect(kprobeCandidates("sys_openat", true, "arm64")).toEqual(["__arm64_sys_openat", "sys_openat"]);
    expect(kprobeCandidates("do_unlinkat", false)).toEqual(["do_unlinkat"]);
    expect(syscallPrefix("mips")).toBe("");
  });
  it("writes tracefs probe definitions", () => {
    expect(kprobeEventLine("e1", "do_unlinkat", 0, false)).toBe("p:tsbpf/e1 do_unlinkat");
    expect(kprobeEventLine("e2", "do_unlinkat", 8, true, 16)).toBe("r16:tsbpf/e2 do_unlinkat+8");
    expect(uprobeEventLine("u1", "/bin/true", 0x1234, true, 0x40)).toBe("r:tsbpf/u1 /bin/true:0x1234(0x40)");
  });
  it("lays out kprobe_multi arrays", () => {
    const e = encodeKprobeMulti({ symbols: ["a", "bc"], cookies: [1n, 2n] });
    expect(e.count).toBe(2);
    expect(e.syms!.view.getBigUint64(8, true)).toBe(BigInt(e.strings[1]!.address));
    expect(e.cookies!.view.getBigUint64(8, true)).toBe(2n);
    expect(() => encodeKprobeMulti({ symbols: ["a"], addresses: [1n] })).toThrow(TypeError);
    expect(() => encodeKprobeMulti({ symbols: ["a"], cookies: [] })).toThrow(/one entry per function/);
  });
});

describeKernel("kprobes on this machine (known limit: " + KNOWN_LIMITS.kprobes.reason + ")", () => {
  itKernel("kprobe and kretprobe fail with NotSupportedError naming CONFIG_KPROBES", () => {
    using prog = retProgram("kprobe", 0, "kp");
    for (const retprobe of [false, true]) {
      let err: unknown;
      try {
        attachKprobe(prog, { symbol: "openat", syscall: true, retprobe });
      } catch (e) {
        err = e;
      }
      expect(isNotSupportedError(err)).toBe(true);
      expect((err as NotSupportedError).feature).toBe("kprobes");
      expect((err as NotSupportedError).minKernel).toBe("4.1");
      expect((err as Error).message).toBe(`kprobes is not supported by this kernel (requires Linux 4.1 or later): ${KPROBES_MISSING}`);
    }
  });
  itKernel("kprobe_multi fails with NotSupportedError caused by EOPNOTSUPP", () => {
    using prog = retProgram("kprobe", 0, "kpm", "trace_kprobe_multi");
    let err: unknown;
    try {
      attachKprobeMulti(prog, { symbols: ["do_unlinkat"] });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NotSupportedError);
    expect((err as Error).message).toContain(KPROBES_MISSING);
    expect(((err as Error).cause as { code: string }).code).toBe(KNOWN_LIMITS.kprobeMulti.errno);
  });
});
