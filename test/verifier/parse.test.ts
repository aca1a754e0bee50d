/**
 * The verifier-log parser: named cases from real logs of this kernel (levels 1, 2 and 4), and
 * fast-check properties that any text parses without an exception and that explaining any text
 * never throws.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Collection, CollectionSpec, explainVerifierLog, parseState, parseVerifierLog, stateBefore } from "../../src/index.js";
import { fcSeed } from "../helpers/fast-check-seed.js";
import { describeKernel, itKernel } from "../helpers/kernel.js";
import { repoRoot } from "../helpers/docs.js";

// A level-1 log of 6.18 (bpf/verifier/ringbuf_leak.o), addresses zeroed.
const RINGBUF_LEAK = `0: R1=ctx() R10=fp0
; int ringbuf_leak(struct xdp_md *ctx) @ ringbuf_leak.c:11
0: (bf) r6 = r1                       ; R1=ctx() R6=ctx()
; __u64 *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0); // REJECTED @ ringbuf_leak.c:13
1: (18) r1 = 0xffff000000000000       ; R1=map_ptr(map=events,ks=0,vs=0)
3: (b7) r2 = 8                        ; R2=8
4: (b7) r3 = 0                        ; R3=0
5: (85) call bpf_ringbuf_reserve#131          ; R0=ringbuf_mem_or_null(id=2,ref_obj_id=2,sz=8) refs=2
6: (b4) w1 = 2                        ; R1=2 refs=2
; if (!e) @ ringbuf_leak.c:14
7: (15) if r0 == 0x0 goto pc+9        ; R0=ringbuf_mem(ref_obj_id=2,sz=8) refs=2
8: (b7) r1 = 1                        ; R1=1 refs=2
; *e = 1; @ ringbuf_leak.c:16
9: (7b) *(u64 *)(r0 +0) = r1          ; R0=ringbuf_mem(ref_obj_id=2,sz=8) R1=1 refs=2
10: (b4) w1 = 1                       ; R1=1 refs=2
; if (ctx->ingress_ifindex == 1) @ ringbuf_leak.c:17
11: (61) r2 = *(u32 *)(r6 +12)        ; R2=scalar(smin=0,smax=umax=0xffffffff,var_off=(0x0; 0xffffffff)) R6=ctx() refs=2
12: (16) if w2 == 0x1 goto pc+4 17: R0=ringbuf_mem(ref_obj_id=2,sz=8) R1=1 R2=1 R6=ctx() R10=fp0 refs=2
17: (bc) w0 = w1                      ; R0=1 R1=1 refs=2
18: (95) exit
Unreleased reference id=2 alloc_insn=5
BPF_EXIT instruction in main prog would lead to reference leak
processed 20 insns (limit 1000000) max_states_per_insn 0 total_states 1 peak_states 1 mark_read 0`;

describe("parseVerifierLog", () => {
  it("reads instructions, their state, source quotes, branches, the error and the stats of a level-1 log", () => {
    const log = parseVerifierLog(RINGBUF_LEAK);
    expect(log.instructions.map((i) => i.index)).toEqual([0, 1, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 17, 18]);
    const reserve = log.instructions[4];
    expect(reserve).toMatchObject({ index: 5, opcode: 0x85, text: "call bpf_ringbuf_reserve#131", path: 0 });
    expect(reserve.after).toEqual({ R0: "ringbuf_mem_or_null(id=2,ref_obj_id=2,sz=8)", refs: "2" });
    expect(reserve.source).toEqual({ text: "__u64 *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0); // REJECTED", file: "ringbuf_leak.c", line: 13 });
    // The branch at 12 ends its line with the state of the path the verifier comes back to.
    expect(log.instructions[11].text).toBe("if w2 == 0x1 goto pc+4");
    expect(log.branches.map((b) => [b.from, b.to])).toEqual([[undefined, 0], [12, 17]]);
    expect(log.branches[1].state.R2).toBe("1");
    expect(log.instructions[12].path).toBe(1);
    expect(log.errorLines).toEqual(["Unreleased reference id=2 alloc_insn=5", "BPF_EXIT instruction in main prog would lead to reference leak"]);
    expect(log.failingInstruction?.index).toBe(18);
    expect(log.stats).toEqual({ processedInsns: 20, insnLimit: 1000000, maxStatesPerInsn: 0, totalStates: 1, peakStates: 1, markRead: 0 });
  });

  it("rebuilds the full state before an instruction from its path's start and the changes since", () => {
    const log = parseVerifierLog(RINGBUF_LEAK);
    // Before insn 9 (the store): R0 was narrowed to non-NULL by the check at 7, R1 set at 8.
    expect(stateBefore(log, 8)).toMatchObject({ R0: "ringbuf_mem(ref_obj_id=2,sz=8)", R1: "1", R6: "ctx()", R10: "fp0" });
    // Before the exit at 18, on the path that started at 17.
    expect(stateBefore(log, 13)).toMatchObject({ R0: "1", R1: "1", R2: "1", R6: "ctx()" });
    expect(() => stateBefore(log, 99)).toThrow(RangeError);
  });

  it("keeps parentheses whole when splitting a state, and reads the frame", () => {
    expect(parseState("frame1: R1=scalar(smin=0,var_off=(0x0; 0xff)) fp-8=mmmm????")).toEqual({
      frame: 1,
      state: { R1: "scalar(smin=0,var_off=(0x0; 0xff))", "fp-8": "mmmm????" },
    });
  });

  it("separates the error printed on the last instruction's line (program too large)", () => {
    const log = parseVerifierLog("0: R1=ctx() R10=fp0\n12: (66) if w1 s> 0x0 goto pc-6 BPF program is too large. Processed 1000001 insn\nprocessed 1000001 insns (limit 1000000) max_states_per_insn 4 total_states 9854 peak_states 9854 mark_read 0");
    expect(log.failingInstruction).toMatchObject({ index: 12, text: "if w1 s> 0x0 goto pc-6" });
    expect(log.error).toBe("BPF program is too large. Processed 1000001 insn");
    expect(explainVerifierLog(log)?.category).toBe("program-too-large");
  });

  it("reads level-2 lines: func#, from/to, frames, live registers, verification time and stack depth", () => {
    const log = parseVerifierLog([
      "func#0 @0", "func#1 @18", "Live regs before insn:", "      0: .1.345.... (61) r2 = *(u32 *)(r1 +0)",
      "0: R1=ctx() R10=fp0", "0: (85) call pc+17", "from 0 to 18: frame1: R1=ctx() R10=fp0", "18: frame1: R1=ctx() R10=fp0",
      "18: (95) exit", "verification time 2260 usec", "stack depth 0+16",
      "processed 2 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0",
    ]);
    expect(log.subprograms).toEqual([{ index: 0, start: 0 }, { index: 1, start: 18 }]);
    expect(log.branches.map((b) => [b.from, b.to])).toEqual([[undefined, 0], [0, 18], [undefined, 18]]);
    expect(log.instructions.map((i) => i.index)).toEqual([0, 18]);
    expect(log.verificationTimeUsec).toBe(2260);
    expect(log.stackDepth).toEqual([0, 16]);
    expect(log.errorLines).toEqual([]);
    expect(log.other).toEqual([2, 3]);
  });
});

describe("properties (fixed seed, printed on failure)", () => {
  const logLine = fc.oneof(
    fc.string(),
    fc.constantFrom(...RINGBUF_LEAK.split("\n")),
    fc.tuple(fc.nat(100), fc.string()).map(([n, s]) => `${n}: (85) ${s}`),
    fc.tuple(fc.nat(100), fc.string()).map(([n, s]) => `${n}: (15) if r0 == 0x0 goto pc+1 ${n + 2}: R${s}`),
    fc.string().map((s) => `from 1 to 2: ${s}`),
    fc.string().map((s) => `; ${s} @ x.c:${s.length}`),
    fc.string().map((s) => `R${s.length % 11} ${s}`),
  );

  it("any text parses without an exception, and every instruction line is accounted for", () => {
    fc.assert(
      fc.property(fc.array(logLine, { maxLength: 60 }), (lines) => {
        const log = parseVerifierLog(lines.join("\n"));
        for (const i of log.instructions) expect(Number.isInteger(i.index)).toBe(true);
        for (let k = 0; k < log.instructions.length; k++) stateBefore(log, k);
        explainVerifierLog(log);
      }),
      { seed: fcSeed, numRuns: 400 },
    );
  });

  it("a real log cut anywhere still parses and explains without an exception", () => {
    fc.assert(
      fc.property(fc.nat(RINGBUF_LEAK.length), fc.nat(RINGBUF_LEAK.length), (a, b) => {
        const cut = RINGBUF_LEAK.slice(Math.min(a, b), Math.max(a, b));
        const log = parseVerifierLog(cut);
        const x = explainVerifierLog(cut);
        if (x) expect(log.errorLines.length).toBeGreaterThan(0);
      }),
      { seed: fcSeed, numRuns: 300 },
    );
  });
});

describeKernel("a level-2 log of this kernel", () => {
  itKernel("parses the log of a successful load with subprograms (logLevel 2 | 4)", () => {
    using coll = Collection.load(CollectionSpec.fromFile(`${repoRoot}/bpf/subprograms.o`), { logLevel: 2 | 4 });
    const text = coll.programs.calc_xdp.verifierLog;
    expect(text).toBeDefined();
    const log = parseVerifierLog(text!);
    expect(log.subprograms.length).toBeGreaterThan(1);
    expect(log.subprograms[0]).toEqual({ index: 0, start: 0 });
    expect(log.instructions.length).toBeGreaterThan(10);
    expect(log.instructions.some((i) => i.frame > 0)).toBe(true);
    expect(log.stats!.processedInsns).toBeGreaterThan(0);
    expect(log.verificationTimeUsec).toBeGreaterThan(0);
    expect(log.stackDepth!.length).toBe(log.subprograms.length);
    expect(log.errorLines.filter((l) => !/is safe for any args/.test(l))).toEqual([]);
  });
});
