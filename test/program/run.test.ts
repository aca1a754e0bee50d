import { expect, it } from "vitest";
import { exit, instructions, jgt, label, ldx, mov64, add64, st, stx, mul64, R0, R1, R2, R3, R4 } from "../../src/asm/builder.js";
import { Program } from "../../src/program/program.js";
import { TestRunFlags } from "../../src/program/test-run.js";
import { ProgramFlags } from "../../src/spec/program-spec.js";
import { describeKernel } from "../helpers/kernel.js";
import { arrayMap, countingXdp, readU64, returns, udpFrame, XDP_DROP, XDP_PASS } from "./fixtures.js";
import { bpfErrorOf } from "../helpers/errors.js";
import { signalStorm } from "../helpers/signals.js";

/** XDP: write 0xff over the first byte of the packet, then pass it. */
const markFirstByte = instructions(
  ldx("u32", R2, R1, 0), // data
  ldx("u32", R3, R1, 4), // data_end
  mov64(R4, R2),
  add64(R4, 1),
  jgt(R4, R3, "out"),
  st("u8", R2, 0, 0xff),
  label("out"),
  mov64(R0, XDP_PASS),
  exit(),
);

describeKernel("Program.run (BPF_PROG_TEST_RUN)", () => {
  it("runs exactly `repeat` times through a storm of signals (they are deferred, not retried)", async () => {
    using counts = arrayMap();
    using prog = Program.load({ type: "xdp", instructions: countingXdp("counts") }, { maps: { counts: counts.value } });
    await using storm = await signalStorm("SIGWINCH");
    const repeat = 3_000_000;
    const r = prog.run({ data: udpFrame(), repeat });
    expect(r.retval).toBe(XDP_PASS);
    expect(readU64(counts, 0)).toBe(BigInt(repeat));
    // The storm went on through the run: signals deferred during it arrive afterwards.
    const before = storm.received;
    await storm.next();
    expect(storm.received).toBeGreaterThan(before);
  });

  it("ends a repeated run that a stop signal interrupts with a typed EINTR that says the count is unknown", async () => {
    using counts = arrayMap();
    using prog = Program.load({ type: "xdp", instructions: countingXdp("counts") }, { maps: { counts: counts.value } });
    await using _storm = await signalStorm("SIGTERM");
    const e = bpfErrorOf(() => prog.run({ data: udpFrame(), repeat: 2_000_000_000 }));
    expect(e.code).toBe("EINTR");
    expect(e.message).toContain("does not say how many runs it made");
    const ran = readU64(counts, 0);
    expect(ran).toBeGreaterThan(0n);
    expect(ran).toBeLessThan(2_000_000_000n);
  });

  it("runs an XDP program on a packet and gives the packet back", () => {
    using prog = Program.load({ name: "mark", type: "xdp", instructions: markFirstByte });
    const frame = udpFrame();
    const r = prog.run({ data: frame });
    expect(r.retval).toBe(XDP_PASS);
    expect(r.data).toBeDefined();
    expect(r.data!.length).toBe(frame.length);
    expect(r.data![0]).toBe(0xff);
    expect(Array.from(r.data!.subarray(1))).toEqual(Array.from(frame.subarray(1)));
    expect(frame[0]).toBe(0x02); // the input is not changed
  });

  it("repeats a run and reports the mean duration; the program really ran each time", () => {
    using counts = arrayMap();
    using prog = Program.load({ type: "xdp", instructions: countingXdp("counts") }, { maps: { counts: counts.value } });
    const r = prog.run({ data: udpFrame(), repeat: 1000 });
    expect(r.retval).toBe(XDP_PASS);
    expect(r.durationNs).toBeGreaterThan(0);
    expect(readU64(counts, 0)).toBe(1000n);
  });

  it("copies data out into a caller's buffer, or skips it", () => {
    using prog = Program.load({ type: "xdp", instructions: markFirstByte });
    const out = new Uint8Array(128);
    const r = prog.run({ data: udpFrame(), dataOut: out });
    expect(r.data!.buffer).toBe(out.buffer);
    expect(r.data!.length).toBe(60);
    expect(out[0]).toBe(0xff);
    expect(prog.run({ data: udpFrame(), dataOut: false }).data).toBeUndefined();
    // 0 means no data: the kernel would read a zero size as "no limit".
    expect(prog.run({ data: udpFrame(), dataOut: 0 }).data).toBeUndefined();
    expect(() => prog.run({ data: udpFrame(), dataOut: new Uint8Array(0) })).toThrow(/dataOut buffer is empty/);
  });

  it("reuses its view of a caller's dataOut buffer run after run, with each run's bytes", () => {
    using prog = Program.load({ type: "xdp", instructions: markFirstByte });
    const out = new Uint8Array(128);
    const first = prog.run({ data: udpFrame(), dataOut: out }).data!;
    const frame = udpFrame();
    frame[1] = 0x42;
    const second = prog.run({ data: frame, dataOut: out }).data!;
    expect(second).toBe(first); // no allocation for the data when the length is unchanged
    expect([second[0], second[1]]).toEqual([0xff, 0x42]);
    const shorter = prog.run({ data: udpFrame().subarray(0, 50), dataOut: out }).data!;
    expect(shorter).not.toBe(first);
    expect(shorter.length).toBe(50);
    expect(shorter.buffer).toBe(out.buffer);
    const other = new Uint8Array(128);
    const third = prog.run({ data: udpFrame(), dataOut: other }).data!;
    expect(third.buffer).toBe(other.buffer);
    expect(third.length).toBe(60);
    // A view of the same memory at another offset is another target, not the cached view.
    const offsetTarget = out.subarray(8);
    const fourth = prog.run({ data: udpFrame(), dataOut: offsetTarget }).data!;
    expect(fourth.byteOffset).toBe(out.byteOffset + 8);
    expect(fourth[0]).toBe(0xff);
    expect(out[8]).toBe(0xff);
  });

  it("gives a result with the keys it has values for, and no others", () => {
    using prog = Program.load({ type: "xdp", instructions: markFirstByte });
    expect(Object.keys(prog.run({ data: udpFrame(), dataOut: false }))).toEqual(["retval", "durationNs"]);
    expect(Object.keys(prog.run({ data: udpFrame() }))).toEqual(["retval", "durationNs", "data"]);
    expect(Object.keys(prog.run({ data: udpFrame(), ctx: new Uint8Array(24), ctxOut: true }))).toEqual(["retval", "durationNs", "data", "ctx"]);
  });

  it("says how much room the output needs when dataOut is too small (ENOSPC)", () => {
    using prog = Program.load({ type: "xdp", instructions: returns(XDP_PASS) });
    const e = bpfErrorOf(() => prog.run({ data: udpFrame(), dataOut: 10 }));
    expect(e.code).toBe("ENOSPC");
    expect(e.message).toContain("pass dataOut: 60");
  });

  it("passes an xdp_md context in and out", () => {
    using prog = Program.load({ type: "xdp", instructions: returns(XDP_DROP) });
    const ctx = new Uint8Array(24); // struct xdp_md
    new DataView(ctx.buffer).setUint32(4, 60, true); // data_end = packet length
    const r = prog.run({ data: udpFrame(), ctx, ctxOut: true });
    expect(r.retval).toBe(XDP_DROP);
    expect(r.ctx).toHaveLength(24);
    expect(new DataView(r.ctx!.buffer).getUint32(4, true)).toBe(60);
  });

  it("runs skb programs (sched_cls, socket_filter) on a frame", () => {
    // return skb->len
    const skbLen = instructions(ldx("u32", R0, R1, 0), exit());
    using cls = Program.load({ type: "sched_cls", instructions: skbLen });
    const r = cls.run({ data: udpFrame(), repeat: 10 });
    expect(r.retval).toBe(60); // tc sees the frame from its Ethernet header
    expect(r.data).toHaveLength(60);
    using filter = Program.load({ type: "socket_filter", instructions: skbLen });
    expect(filter.run({ data: udpFrame() }).retval).toBe(60 - 14); // a socket filter sees it from the IP header
  });

  it("runs a syscall program on a context and gives the context back", () => {
    // ctx->out = ctx->in * 2; return 7
    const double = instructions(
      ldx("u32", R2, R1, 0),
      mul64(R2, 2),
      stx("u32", R1, R2, 4),
      mov64(R0, 7),
      exit(),
    );
    using prog = Program.load({ name: "double", type: "syscall", flags: ProgramFlags.sleepable, instructions: double });
    const ctx = new Uint8Array(8);
    new DataView(ctx.buffer).setUint32(0, 21, true);
    const r = prog.run({ ctx });
    expect(r.retval).toBe(7);
    expect(new DataView(r.ctx!.buffer, r.ctx!.byteOffset).getUint32(4, true)).toBe(42);
    expect(new DataView(ctx.buffer).getUint32(4, true)).toBe(0); // the caller's array is not written
  });

  it("syscall programs reject repeat and data (EINVAL), as this kernel does", () => {
    using prog = Program.load({ type: "syscall", flags: ProgramFlags.sleepable, instructions: returns(0) });
    const ctx = new Uint8Array(8);
    const withRepeat = bpfErrorOf(() => prog.run({ ctx, repeat: 5 }));
    expect(withRepeat.code).toBe("EINVAL");
    expect(withRepeat.message).toContain("syscall programs take only ctx");
    expect(bpfErrorOf(() => prog.run({ data: udpFrame() })).code).toBe("EINVAL");
    expect(prog.run({ ctx }).retval).toBe(0);
  });

  it("runs a raw_tracepoint program on a chosen CPU", () => {
    // return ctx->args[0] + 1
    using prog = Program.load({ type: "raw_tracepoint", instructions: instructions(ldx("u64", R0, R1, 0), add64(R0, 1), exit()) });
    const args = new Uint8Array(8);
    new DataView(args.buffer).setBigUint64(0, 41n, true);
    expect(prog.run({ ctx: args, cpu: 0 }).retval).toBe(42);
    expect(bpfErrorOf(() => prog.run({ ctx: args, cpu: 1 << 20 })).code).toMatch(/ENXIO|EINVAL/);
  });

  it("sends XDP live frames in batches (dropped by the program)", () => {
    using counts = arrayMap();
    // The counting program with its final `r0 = XDP_PASS` (labelled "out") turned into XDP_DROP.
    const dropAll = countingXdp("counts").map((i) => (i.symbol === "out" ? { ...i, imm: XDP_DROP } : i));
    using prog = Program.load({ type: "xdp", instructions: dropAll }, { maps: { counts: counts.value } });
    const r = prog.run({ data: udpFrame(), repeat: 64, flags: TestRunFlags.xdpLiveFrames, batchSize: 16 });
    expect(r.retval).toBe(0);
    expect(readU64(counts, 0)).toBe(64n);
    expect(bpfErrorOf(() => prog.run({ data: udpFrame(), batchSize: 16 })).code).toBe("EINVAL");
  });

  it("repeats a prepared run without re-reading options, and reads results in place", () => {
    using counts = arrayMap();
    using counter = Program.load({ type: "xdp", instructions: countingXdp("counts") }, { maps: { counts: counts.value } });
    const counting = counter.prepareRun({ data: udpFrame() });
    for (let i = 0; i < 100; i++) expect(counting.run()).toBe(XDP_PASS);
    expect(readU64(counts, 0)).toBe(100n);

    const prog = Program.load({ type: "xdp", instructions: markFirstByte });
    const frame = udpFrame();
    const prepared = prog.prepareRun({ data: frame });
    frame[1] = 0x77; // copied at prepare: later changes do not reach the kernel
    prepared.run();
    expect(prepared.retval).toBe(XDP_PASS);
    expect(prepared.data).toHaveLength(60);
    expect(prepared.data![0]).toBe(0xff);
    expect(prepared.data![1]).toBe(0x00);
    const kept = prepared.result();
    prepared.setData(new Uint8Array(80));
    prepared.run();
    expect(prepared.data).toHaveLength(80);
    expect(kept.data).toHaveLength(60); // a result() is a copy
    prog.run({ data: udpFrame() }); // run() has its own buffers
    expect(prepared.data).toHaveLength(80);
    prog.close();
    expect(() => prepared.run()).toThrow(/program is closed/);
  });

  it("checks a prepared run's options once, and reports kernel refusals from run()", () => {
    using prog = Program.load({ type: "syscall", flags: ProgramFlags.sleepable, instructions: returns(0) });
    expect(() => prog.prepareRun({ repeats: 2 } as never)).toThrow(/unknown option "repeats"/);
    const prepared = prog.prepareRun({ ctx: new Uint8Array(8), repeat: 2 });
    expect(() => prepared.run()).toThrow(/EINVAL from BPF_PROG_TEST_RUN/);
  });

  it("validates options before the syscall", () => {
    using prog = Program.load({ type: "xdp", instructions: returns(XDP_PASS) });
    expect(() => prog.run({ data: udpFrame(), repat: 3 } as never)).toThrow(/unknown option "repat"/);
    expect(() => prog.run({ repeat: -1 })).toThrow(/repeat must be a u32/);
    expect(() => prog.run({ data: [1, 2, 3] as never })).toThrow(/data must be a Uint8Array/);
    expect(() => prog.run({ data: udpFrame(), dataOut: "yes" as never })).toThrow(/dataOut must be/);
  });
});
