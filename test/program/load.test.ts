import { execFileSync } from "node:child_process";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { exit, instructions, jeq, label, ldMapIdx, mov64, R0, R1 } from "../../src/asm/builder.js";
import type { Instruction } from "../../src/asm/instruction.js";
import { BpfError, ClosedError, isBpfError, isVerifierError, VerifierError } from "../../src/errors.js";
import { Program } from "../../src/program/program.js";
import { kernelProgramName } from "../../src/spec/program-spec.js";
import { describeKernel, itKernel } from "../helpers/kernel.js";
import { arrayMap, countingXdp, readU64, returns, udpFrame, XDP_PASS } from "./fixtures.js";
import { machineRefusalReason, refusalCode } from "../helpers/probes.js";
import { fcSeed } from "../helpers/fast-check-seed.js";
import { signalStorm } from "../helpers/signals.js";

function catchError(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error("expected an error");
}

describe("Program.load validation (before any syscall)", () => {
  it("rejects unknown spec keys, unknown option keys, bad types and empty programs", () => {
    expect(() => Program.load({ type: "xdp", instructions: returns(2), licence: "GPL" } as never)).toThrow(
      /ProgramSpec: unknown field "licence"/,
    );
    expect(() => Program.load({ type: "xdp", instructions: returns(2) }, { map: {} } as never)).toThrow(/unknown option "map"/);
    expect(() => Program.load({ type: "xpd" as never, instructions: returns(2) })).toThrow(/unknown program type "xpd"/);
    expect(() => Program.load({ type: "xdp", instructions: [] })).toThrow(/non-empty array/);
    expect(() => Program.load({ type: "xdp", instructions: returns(2), flags: -1 })).toThrow(/flags must be a u32/);
    expect(() => Program.load({ type: "xdp", instructions: returns(2), attachTarget: 3, attachBtfObjFd: 4 })).toThrow(
      /share one kernel field/,
    );
    expect(() => Program.load({ type: "xdp", instructions: countingXdp("counts") })).toThrow(/map "counts", which was not given/);
    expect(() => Program.load({ type: "xdp", instructions: returns(2), btf: { funcInfo: new Uint8Array(8) } })).toThrow(
      /no loaded BTF was given/,
    );
    const withBtf = (btf: object) => Program.load({ type: "xdp", instructions: returns(2), btf }, { btf: 99 });
    expect(() => withBtf({ funcInfo: new Uint8Array(12) })).toThrow(/12 bytes is not a whole number of 8-byte records/);
    expect(() => withBtf({ lineInfo: new Uint8Array(16), lineInfoRecSize: 0 })).toThrow(/record size 0 must be at least 16/);
  });

  it("makes names the kernel accepts", () => {
    expect(kernelProgramName("count-pkts.v2")).toBe("count_pkts.v2");
    expect(kernelProgramName("a_very_long_program_name")).toBe("a_very_long_pro");
    expect(kernelProgramName("prog_0")).toBe("prog_0");
    expect(kernelProgramName("exactly_15_char")).toBe("exactly_15_char");
    expect(kernelProgramName("exactly_16_chars")).toBe("exactly_16_char");
    expect(kernelProgramName("é")).toBe("_");
  });

  it("keeps a plain name as it is and replaces the rest as the regex rule says (property)", () => {
    // The loop that returns plain names unchanged must agree with the rule it shortcuts.
    const rule = (n: string) => n.replace(/[^A-Za-z0-9_.]/g, "_").slice(0, 15);
    const chars = fc.constantFrom(..."abzAZ09_.-/ é\u0000~".split(""));
    fc.assert(fc.property(fc.array(chars, { maxLength: 20 }).map((a) => a.join("")), (name) => kernelProgramName(name) === rule(name)), { seed: fcSeed, numRuns: 2000 });
  });
});

describeKernel("Program.load", () => {
  it("loads builder-made instructions and reports name and type", () => {
    using prog = Program.load({ name: "ret_pass", type: "xdp", instructions: returns(XDP_PASS) });
    expect(prog.name).toBe("ret_pass");
    expect(prog.type).toBe("xdp");
    const info = prog.info();
    expect(info.name).toBe("ret_pass");
    expect(info.type).toBe("xdp");
    expect(info.tag).toMatch(/^[0-9a-f]{16}$/);
    expect(info.verifiedInstructions).toBe(2);
    expect(info.gplCompatible).toBe(true);
  });

  it("loads hand-made instructions and a numeric type, with a non-GPL license", () => {
    const insns: Instruction[] = [
      { opcode: 0xb7, dst: 0, src: 0, offset: 0, imm: 0 }, // r0 = 0
      { opcode: 0x95, dst: 0, src: 0, offset: 0, imm: 0 }, // exit
    ];
    using prog = Program.load({ name: "by hand", type: 1, license: "Proprietary", instructions: insns });
    expect(prog.type).toBe("socket_filter");
    const info = prog.info();
    expect(info.name).toBe("by_hand");
    expect(info.gplCompatible).toBe(false);
    expect(info.translatedSize).toBe(16);
  });

  it("shares nothing between loads: each keeps its own name, license and instruction count", () => {
    // progLoad reuses one attr block and one arena across loads.
    using first = Program.load({ name: "a_long_name_15b", type: "socket_filter", license: "Proprietary", instructions: returns(0) });
    using second = Program.load({ name: "ab", type: "socket_filter", instructions: returns(1) });
    using third = Program.load({ type: "socket_filter", license: "Dual MIT/GPL", instructions: instructions(mov64(R0, 1), mov64(R0, 2), exit()) });
    expect(first.info()).toMatchObject({ name: "a_long_name_15b", gplCompatible: false, translatedSize: 16 });
    expect(second.info()).toMatchObject({ name: "ab", gplCompatible: true, translatedSize: 16 });
    expect(third.info()).toMatchObject({ name: "", gplCompatible: true, translatedSize: 24 });
    expect(second.run({ data: new Uint8Array(64) }).retval).toBe(1);
  });

  it("loads a program larger than the shared arena (over 1 MiB of instructions), then a small one", () => {
    const big: Instruction[] = [];
    for (let i = 0; i < 140_000; i++) big.push({ opcode: 0xb7, dst: 0, src: 0, offset: 0, imm: i & 0xff }); // r0 = i & 0xff
    big.push({ opcode: 0x95, dst: 0, src: 0, offset: 0, imm: 0 });
    using prog = Program.load({ type: "socket_filter", instructions: big });
    expect(prog.info().translatedSize).toBe(big.length * 8);
    expect(prog.run({ data: new Uint8Array(64) }).retval).toBe((140_000 - 1) & 0xff);
    using small = Program.load({ type: "socket_filter", instructions: returns(7) });
    expect(small.run({ data: new Uint8Array(64) }).retval).toBe(7);
  });

  it("loads through a storm of signals: after the verifier's EAGAIN, retries run with report signals deferred", async () => {
    // A program the verifier takes well over a millisecond on, under a signal a millisecond (a
    // profiler's SIGPROF is one a millisecond too): every attempt was interrupted before.
    const long: Instruction[] = [];
    for (let i = 0; i < 100_000; i++) long.push({ opcode: 0x07, dst: 0, src: 0, offset: 0, imm: 1 }); // r0 += 1
    await using storm = await signalStorm("SIGUSR2");
    const before = storm.received;
    using prog = Program.load({ type: "socket_filter", instructions: [mov64(R0, 0), ...long, exit()] });
    expect(prog.run({ data: new Uint8Array(64) }).retval).toBe(100_000);
    // The storm went on: its signals were handled once the load was done, none was lost.
    await storm.next();
    expect(storm.received).toBeGreaterThan(before);
  });

  it("resolves a map reference to the map passed in options.maps", () => {
    using counts = arrayMap();
    using prog = Program.load({ name: "count", type: "xdp", instructions: countingXdp("counts") }, { maps: { counts: counts.value } });
    expect(prog.info().mapIds).toHaveLength(1);
    for (let i = 0; i < 3; i++) expect(prog.run({ data: udpFrame() }).retval).toBe(XDP_PASS);
    expect(readU64(counts, 0)).toBe(3n);
  });

  it("accepts any object with an fd as a map (BpfMap-like, or an owning Fd)", () => {
    using counts = arrayMap();
    using prog = Program.load({ type: "xdp", instructions: countingXdp("counts") }, { maps: { counts: { fd: counts } } });
    prog.run({ data: udpFrame() });
    expect(readU64(counts, 0)).toBe(1n);
  });

  it("resolves maps by index through options.fdArray (BPF_PSEUDO_MAP_IDX)", () => {
    using counts = arrayMap();
    // The counting program with its map loaded as fd_array[0] instead of by name.
    const byIndex = countingXdp("counts").map((i) => (i.reference?.kind === "map" ? { ...ldMapIdx(R1, 0), symbol: i.symbol } : i));
    using prog = Program.load({ type: "xdp", instructions: byIndex }, { fdArray: [counts.value] });
    prog.run({ data: udpFrame(), repeat: 5 });
    expect(readU64(counts, 0)).toBe(5n);
    expect(() => Program.load({ type: "xdp", instructions: byIndex }, { fdArray: "x" as never })).toThrow(/fdArray must be an array/);
  });

  it("refuses a program the verifier rejects with a VerifierError holding the whole log", () => {
    // r0 is read before it is written on one path: the verifier walks 60 instructions first.
    const body = Array.from({ length: 60 }, (_, i) => mov64(R1, i));
    const insns = instructions(jeq(R1, 0, "skip"), mov64(R0, 0), label("skip"), body, exit());
    const e = catchError(() => Program.load({ name: "bad", type: "socket_filter", instructions: insns }, { logSize: 128 }));
    expect(e).toBeInstanceOf(VerifierError);
    expect(isVerifierError(e)).toBe(true);
    const v = e as VerifierError;
    expect(v.code).toBe("EACCES");
    expect(v.truncated).toBe(false);
    // The whole log, although the first buffer held 128 bytes: from the first instruction to the summary.
    expect(v.log.join("\n").length).toBeGreaterThan(128);
    expect(v.log[0]).toMatch(/^0: R1=ctx\(\) R10=fp0/);
    expect(v.log.some((l) => l.includes("R0 !read_ok"))).toBe(true);
    expect(v.log[v.log.length - 1]).toMatch(/^processed \d+ insns/);
    expect(v.message).toMatch(/^program "bad": load: EACCES from BPF_PROG_LOAD/);
    expect(v.message).toContain("R0 !read_ok");
    expect(v.message).toMatch(/\d+ earlier log lines omitted/);
  });

  it("keeps the log of a successful load when a log level is asked for", () => {
    using prog = Program.load({ type: "xdp", instructions: returns(XDP_PASS) }, { logLevel: 1 | 4 });
    expect(prog.verifierLog).toMatch(/processed 2 insns/);
    using quiet = Program.load({ type: "xdp", instructions: returns(XDP_PASS) });
    expect(quiet.verifierLog).toBeUndefined();
  });

  it("reports a refusal without a log as a BpfError (unknown program type: EINVAL)", () => {
    const e = catchError(() => Program.load({ type: 200, instructions: returns(0) }));
    expect(isBpfError(e)).toBe(true);
    expect(isVerifierError(e)).toBe(false);
    expect((e as BpfError).code).toBe("EINVAL");
    expect((e as BpfError).command).toBe("BPF_PROG_LOAD");
  });

  itKernel(`known limit: fentry is refused with ${refusalCode("trampolines")} (${machineRefusalReason("trampolines")})`, () => {
    const dump = execFileSync("bpftool", ["btf", "dump", "file", "/sys/kernel/btf/vmlinux"], { encoding: "utf8", maxBuffer: 1 << 28 });
    const m = /^\[(\d+)\] FUNC 'do_unlinkat'/m.exec(dump);
    expect(m).not.toBeNull();
    const e = catchError(() =>
      Program.load({
        name: "fentry_test",
        type: "tracing",
        expectedAttachType: "trace_fentry",
        attachBtfId: Number(m![1]),
        instructions: returns(0),
      }),
    );
    expect(isBpfError(e)).toBe(true);
    expect((e as BpfError).code).toBe(refusalCode("trampolines"));
    expect(isVerifierError(e)).toBe(false); // empty log
  });

  it("refuses use after close with ClosedError", () => {
    const prog = Program.load({ type: "xdp", instructions: returns(XDP_PASS) });
    prog.close();
    prog.close();
    expect(prog.closed).toBe(true);
    expect(() => prog.fd).toThrow(ClosedError);
    expect(() => prog.run({ data: udpFrame() })).toThrow(/program is closed/);
    expect(() => prog.info()).toThrow(ClosedError);
  });
});
