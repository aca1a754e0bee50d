/**
 * The kernel runs what the assembler builds: one program per instruction class, written both
 * with the builder and in the text syntax (asserted identical), loaded with Program.load and
 * run with BPF_PROG_TEST_RUN. Expected results are computed here in TypeScript.
 */
import { expect, it } from "vitest";
import { asm, assemble } from "../../src/asm/assembler.js";
import * as b from "../../src/asm/builder.js";
import { R0, R1, R2, R3, R4, R6, R7, R8, R10 } from "../../src/asm/builder.js";
import type { Instruction } from "../../src/asm/instruction.js";
import { kernelBtf } from "../../src/features/kernel-btf.js";
import { marshalFuncInfo } from "../../src/btf/ext.js";
import type { BtfTypeInit } from "../../src/btf/types.js";
import { Btf } from "../../src/map/btf.js";
import { symbolOffsets } from "../../src/asm/link.js";
import { BpfMap } from "../../src/map/bpf-map.js";
import { Program } from "../../src/program/program.js";
import { describeKernel } from "../helpers/kernel.js";
import { KNOWN_LIMITS } from "../helpers/known-limits.js";
import { isVerifierError, type VerifierError } from "../../src/errors.js";
import { readFileSync } from "node:fs";

/** A 64-byte packet whose byte i is i * 3 + 1. */
const packet = Uint8Array.from({ length: 64 }, (_, i) => (i * 3 + 1) & 0xff);
const u32 = (v: bigint): number => Number(BigInt.asUintN(32, v));

function run(insns: readonly Instruction[], options: { type?: "socket_filter" | "syscall"; maps?: Record<string, BpfMap> } = {}): number {
  const type = options.type ?? "socket_filter";
  using prog = Program.load(
    { type, instructions: insns, license: "GPL", flags: type === "syscall" ? 1 << 4 : 0 },
    { maps: options.maps },
  );
  return type === "syscall" ? prog.run().retval : prog.run({ data: packet }).retval;
}

/** Asserts that the builder's and the text's programs are the same, then runs them. */
function both(built: Instruction[], text: Instruction[]): number {
  expect(text).toEqual(built);
  return run(text);
}

describeKernel("assembled programs run in the kernel", () => {
  it("ALU64: every operation, immediate and register", () => {
    const built = b.instructions(
      b.mov64(R1, 0x12345678), b.mul64(R1, 3), b.sub64(R1, 5), b.div64(R1, 7), b.mod64(R1, 100000),
      b.or64(R1, 0x100), b.and64(R1, 0xfffff), b.xor64(R1, 0x55), b.lsh64(R1, 20), b.rsh64(R1, 3),
      b.mov64(R2, -8), b.arsh64(R2, 1), b.add64(R1, R2), b.neg64(R1), b.mov64(R3, 3), b.mul64(R1, R3),
      b.mov64(R0, R1), b.rsh64(R0, 16), b.exit(),
    );
    const text = asm`
      r1 = 0x12345678
      r1 *= 0x3
      r1 -= 0x5
      r1 /= 0x7
      r1 %= 0x186a0
      r1 |= 0x100
      r1 &= 0xfffff
      r1 ^= 0x55
      r1 <<= 0x14
      r1 >>= 0x3
      r2 = -0x8
      r2 s>>= 0x1
      r1 += r2
      r1 = -r1
      r3 = 0x3
      r1 *= r3
      r0 = r1
      r0 >>= 0x10
      exit
    `;
    let r1 = ((((0x12345678n * 3n - 5n) / 7n) % 100000n) | 0x100n) & 0xfffffn;
    r1 = BigInt.asUintN(64, ((r1 ^ 0x55n) << 20n) >> 3n);
    r1 = BigInt.asUintN(64, -(r1 + -4n) * 3n);
    expect(both(built, text)).toBe(u32(r1 >> 16n));
  });

  it("ALU32: 32-bit operations wrap and zero the upper half", () => {
    const built = b.instructions(
      b.mov64(R1, -1), b.add32(R1, 2), b.mov64(R2, R1), b.rsh64(R2, 32),
      b.mov32(R3, -7), b.arsh32(R3, 1), b.mul32(R3, 3), b.neg32(R3), b.xor32(R3, R1),
      b.lsh32(R2, 4), b.or32(R3, R2), b.mov32(R0, R3), b.exit(),
    );
    const text = asm`
      r1 = -0x1
      w1 += 0x2
      r2 = r1
      r2 >>= 0x20
      w3 = -0x7
      w3 s>>= 0x1
      w3 *= 0x3
      w3 = -w3
      w3 ^= w1
      w2 <<= 0x4
      w3 |= w2
      w0 = w3
      exit
    `;
    // w1 = 0xffffffff + 2 = 1 (upper half zero, so r2 = 0); w3 = -(-4 * 3) ^ 1 = 13.
    expect(both(built, text)).toBe(13);
  });

  it("JMP and JMP32: every condition, register and immediate", () => {
    const conds = ["jeq", "jne", "jgt", "jge", "jlt", "jle", "jsgt", "jsge", "jslt", "jsle", "jset"] as const;
    const syms = ["==", "!=", ">", ">=", "<", "<=", "s>", "s>=", "s<", "s<=", "&"];
    const items: Instruction[] = [b.mov64(R0, 0), b.mov64(R1, -5), b.mov64(R2, 3)];
    const lines = ["r0 = 0x0", "r1 = -0x5", "r2 = 0x3"];
    let bit = 0;
    const expected = (c: string, a: bigint, x: bigint, wide: boolean): boolean => {
      const w = wide ? 64 : 32;
      const ua = BigInt.asUintN(w, a), ux = BigInt.asUintN(w, x), sa = BigInt.asIntN(w, a), sx = BigInt.asIntN(w, x);
      return ({ jeq: ua === ux, jne: ua !== ux, jgt: ua > ux, jge: ua >= ux, jlt: ua < ux, jle: ua <= ux, jsgt: sa > sx,
        jsge: sa >= sx, jslt: sa < sx, jsle: sa <= sx, jset: (ua & ux) !== 0n } as Record<string, boolean>)[c];
    };
    let want = 0;
    for (const wide of [true, false]) {
      for (const [k, c] of conds.entries()) {
        for (const useReg of [true, false]) {
          const fn = b[(wide ? c : `${c}32`) as "jeq"];
          items.push(fn(R1, useReg ? R2 : 3, 1), b.or32(R0, 1 << (bit % 31)));
          const r = wide ? "r" : "w";
          lines.push(`if ${r}1 ${syms[k]} ${useReg ? `${r}2` : "0x3"} goto +0x1`, `w0 |= 0x${(1 << (bit % 31)).toString(16)}`);
          // The or runs when the condition is false.
          if (!expected(c, -5n, 3n, wide)) want |= 1 << (bit % 31);
          bit++;
        }
      }
    }
    // The verifier refuses unreachable instructions, so the unconditional jumps go to the next one.
    items.push(b.ja(0), b.gotol(0), b.exit());
    lines.push("goto +0x0", "gotol +0x0", "exit");
    expect(both(items, assemble(lines.join("\n")))).toBe(want >>> 0);
  });

  it("LDX, ST, STX: every size, and sign-extending loads (cpu v4)", () => {
    const built = b.instructions(
      b.st("u64", R10, -8, -2), b.st("u32", R10, -16, 0x11223344), b.st("u16", R10, -24, 0x5566), b.st("u8", R10, -32, 0x77),
      b.mov64(R1, 0x80), b.stx("u8", R10, R1, -31),
      b.ldx("u64", R2, R10, -8), b.ldx("u32", R3, R10, -16), b.add64(R2, R3), b.ldx("u16", R3, R10, -24), b.add64(R2, R3),
      b.ldx("u8", R3, R10, -32), b.add64(R2, R3), b.ldxsx("u8", R3, R10, -31), b.add64(R2, R3),
      b.stx("u16", R10, R2, -40), b.ldxsx("u16", R3, R10, -40), b.stx("u32", R10, R3, -48), b.ldxsx("u32", R0, R10, -48),
      b.rsh64(R0, 8), b.exit(),
    );
    const text = asm`
      *(u64 *)(r10 - 0x8) = -0x2
      *(u32 *)(r10 - 0x10) = 0x11223344
      *(u16 *)(r10 - 0x18) = 0x5566
      *(u8 *)(r10 - 0x20) = 0x77
      r1 = 0x80
      *(u8 *)(r10 - 0x1f) = w1
      r2 = *(u64 *)(r10 - 0x8)
      r3 = *(u32 *)(r10 - 0x10)
      r2 += r3
      w3 = *(u16 *)(r10 - 0x18)
      r2 += r3
      r3 = *(u8 *)(r10 - 0x20)
      r2 += r3
      r3 = *(s8 *)(r10 - 0x1f)
      r2 += r3
      *(u16 *)(r10 - 0x28) = r2
      r3 = *(s16 *)(r10 - 0x28)
      *(u32 *)(r10 - 0x30) = r3
      r0 = *(s32 *)(r10 - 0x30)
      r0 >>= 0x8
      exit
    `;
    const r2 = -2n + 0x11223344n + 0x5566n + 0x77n - 0x80n;
    const r3 = BigInt.asIntN(16, r2);
    expect(both(built, text)).toBe(u32(BigInt.asUintN(64, BigInt.asIntN(32, r3)) >> 8n));
  });

  it("LD: ld_imm64 constants and legacy packet loads (ld_abs, ld_ind)", () => {
    const built = b.instructions(
      b.mov64(R6, R1), b.ldImm64(R7, 0x0123456789abcdefn), b.mov64(R8, R7), b.rsh64(R8, 32), b.xor64(R7, R8),
      b.ldAbs("u8", 5), b.add64(R7, R0), b.ldAbs("u16", 6), b.add64(R7, R0), b.ldAbs("u32", 8), b.add64(R7, R0),
      b.mov64(R1, 10), b.ldInd("u16", R1, 2), b.add64(R7, R0), b.mov64(R0, R7), b.exit(),
    );
    const text = asm`
      r6 = r1
      r7 = ${0x0123456789abcdefn} ll
      r8 = r7
      r8 >>= 0x20
      r7 ^= r8
      r0 = *(u8 *)skb[0x5]
      r7 += r0
      r0 = *(u16 *)skb[0x6]
      r7 += r0
      r0 = *(u32 *)skb[0x8]
      r7 += r0
      r1 = 0xa
      r0 = *(u16 *)skb[r1 + 0x2]
      r7 += r0
      r0 = r7
      exit
    `;
    // ld_abs/ld_ind clobber r1-r5 like a call, so the sum lives in r7. Packet loads read network (big-endian) order.
    const be = (at: number, n: number): bigint => packet.subarray(at, at + n).reduce((v, x) => (v << 8n) | BigInt(x), 0n);
    // A socket filter's test run starts the skb after the 14-byte Ethernet header.
    const l3 = 14;
    const v = (0x0123456789abcdefn ^ 0x01234567n) + be(l3 + 5, 1) + be(l3 + 6, 2) + be(l3 + 8, 4) + be(l3 + 12, 2);
    expect(both(built, text)).toBe(u32(v));
  });

  it("STX atomics: add/or/and/xor with and without fetch, xchg, cmpxchg, load-acquire, store-release", () => {
    const built = b.instructions(
      b.st("u64", R10, -8, 10), b.st("u32", R10, -16, 10), b.mov64(R1, 5),
      b.atomic("add", "u64", R10, R1, -8), b.atomic("or", "u64", R10, R1, -8), b.atomic("and", "u64", R10, R1, -8),
      b.atomic("xor", "u64", R10, R1, -8), b.mov64(R2, 3), b.atomic("fetch_add", "u64", R10, R2, -8),
      b.mov64(R3, 7), b.atomic("fetch_or", "u32", R10, R3, -16), b.add64(R2, R3),
      b.mov64(R3, 6), b.atomic("fetch_and", "u32", R10, R3, -16), b.add64(R2, R3),
      b.mov64(R3, 1), b.atomic("fetch_xor", "u32", R10, R3, -16), b.add64(R2, R3),
      b.mov64(R3, 100), b.atomic("xchg", "u64", R10, R3, -8), b.add64(R2, R3),
      b.mov64(R0, 100), b.mov64(R3, 200), b.atomic("cmpxchg", "u64", R10, R3, -8), b.add64(R2, R0),
      b.atomic("load_acquire", "u64", R3, R10, -8), b.add64(R2, R3),
      b.storeRelease("u32", R10, R2, -16), b.loadAcquire("u32", R0, R10, -16), b.exit(),
    );
    const text = asm`
      *(u64 *)(r10 - 0x8) = 0xa
      *(u32 *)(r10 - 0x10) = 0xa
      r1 = 0x5
      lock *(u64 *)(r10 - 0x8) += r1
      lock *(u64 *)(r10 - 0x8) |= r1
      lock *(u64 *)(r10 - 0x8) &= r1
      lock *(u64 *)(r10 - 0x8) ^= r1
      r2 = 0x3
      r2 = atomic_fetch_add((u64 *)(r10 - 0x8), r2)
      r3 = 0x7
      w3 = atomic_fetch_or((u32 *)(r10 - 0x10), w3)
      r2 += r3
      r3 = 0x6
      w3 = atomic_fetch_and((u32 *)(r10 - 0x10), w3)
      r2 += r3
      r3 = 0x1
      w3 = atomic_fetch_xor((u32 *)(r10 - 0x10), w3)
      r2 += r3
      r3 = 0x64
      r3 = xchg_64(r10 - 0x8, r3)
      r2 += r3
      r0 = 0x64
      r3 = 0xc8
      r0 = cmpxchg_64(r10 - 0x8, r0, r3)
      r2 += r0
      r3 = load_acquire((u64 *)(r10 - 0x8))
      r2 += r3
      store_release((u32 *)(r10 - 0x10), w2)
      w0 = load_acquire((u32 *)(r10 - 0x10))
      exit
    `;
    let m = 10n;
    m += 5n; m |= 5n; m &= 5n; m ^= 5n; // 0
    let r2 = m; m += 3n; // r2 = old (0), m = 3
    let w = 10n;
    r2 += w; w |= 7n; r2 += w; w &= 6n; r2 += w; w ^= 1n;
    r2 += m; m = 100n; // xchg returns 3
    r2 += m; m = 200n; // cmpxchg matched 100
    r2 += m;
    expect(both(built, text)).toBe(u32(r2));
  });

  it("ALU v4: sdiv, smod, movsx, bswap, le/be", () => {
    const built = b.instructions(
      b.mov64(R1, -100), b.sdiv64(R1, 7), b.mov64(R2, -100), b.mov64(R3, 7), b.smod64(R2, R3), b.add64(R1, R2),
      b.mov32(R3, -50), b.sdiv32(R3, 3), b.add64(R1, R3), b.mov64(R2, 0x1ff), b.movsx64(R2, R2, 8), b.add64(R1, R2),
      b.mov64(R2, 0x18000), b.movsx32(R2, R2, 16), b.add64(R1, R2), b.mov64(R2, 0x11223344), b.bswap(32, R2), b.add64(R1, R2),
      b.mov64(R2, 0x1234), b.be(16, R2), b.add64(R1, R2), b.le(64, R2), b.mov64(R0, R1), b.exit(),
    );
    const text = asm`
      r1 = -0x64
      r1 s/= 0x7
      r2 = -0x64
      r3 = 0x7
      r2 s%= r3
      r1 += r2
      w3 = -0x32
      w3 s/= 0x3
      r1 += r3
      r2 = 0x1ff
      r2 = (s8)r2
      r1 += r2
      r2 = 0x18000
      w2 = (s16)w2
      r1 += r2
      r2 = 0x11223344
      r2 = bswap32 r2
      r1 += r2
      r2 = 0x1234
      r2 = be16 r2
      r1 += r2
      r2 = le64 r2
      r0 = r1
      exit
    `;
    // sdiv/smod truncate toward zero; w3 = -16 zero-extended; (s16)0x8000 in w2 zero-extended.
    const v = -14n + -2n + 0xfffffff0n + -1n + 0xffff8000n + 0x44332211n + 0x3412n;
    expect(both(built, text)).toBe(u32(v));
  });

  it("JMP: bpf2bpf calls, helper calls by name, may_goto loops and ld_imm64 of a map", () => {
    using counts = BpfMap.create({ type: "array", keySize: 4, valueSize: 8, maxEntries: 1 });
    const built = b.instructions(
      b.mov64(R6, 0),
      b.label("loop"), b.mayGoto("done"), b.add64(R6, 1), b.jlt(R6, 5, "loop"),
      b.label("done"), b.mov64(R1, R6), b.callFunction("double"), b.mov64(R6, R0),
      b.st("u32", R10, -4, 0), b.ldMapFd(R1, "counts"), b.mov64(R2, R10), b.add64(R2, -4), b.call("map_lookup_elem"),
      b.jeq(R0, 0, "out"), b.stx("u64", R0, R6, 0), b.mov64(R0, R6),
      b.label("out"), b.exit(),
      b.label("double"), b.mov64(R0, R1), b.add64(R0, R0), b.exit(),
    );
    const text = asm`
      r6 = 0x0
    loop:
      may_goto done
      r6 += 0x1
      if r6 < 0x5 goto loop
    done:
      r1 = r6
      call double
      r6 = r0
      *(u32 *)(r10 - 0x4) = 0x0
      r1 = map(counts) ll
      r2 = r10
      r2 += -0x4
      call bpf_map_lookup_elem
      if r0 == 0x0 goto out
      *(u64 *)(r0 + 0x0) = r6
      r0 = r6
    out:
      exit
    double:
      r0 = r1
      r0 += r0
      exit
    `;
    expect(text).toEqual(built);
    expect(run(text, { maps: { counts } })).toBe(10);
    expect(counts.get(new Uint8Array(4))).toEqual(Uint8Array.from([10, 0, 0, 0, 0, 0, 0, 0]));
  });

  it("JMP: kfunc calls by BTF id (bpf_task_from_pid / bpf_task_release in a syscall program)", () => {
    const btf = kernelBtf();
    const id = (name: string): number => {
      const ids = btf.idsByName(name, "func");
      expect(ids.length, name).toBe(1);
      return ids[0];
    };
    const built = b.instructions(
      b.mov64(R1, process.pid), b.callKfunc(id("bpf_task_from_pid")), b.jeq(R0, 0, "none"),
      b.mov64(R1, R0), b.callKfunc(id("bpf_task_release")), b.mov64(R0, 42), b.exit(),
      b.label("none"), b.mov64(R0, 7), b.exit(),
    );
    const text = asm`
      r1 = ${process.pid}
      call kfunc ${id("bpf_task_from_pid")}
      if r0 == 0x0 goto none
      r1 = r0
      call kfunc ${id("bpf_task_release")}
      r0 = 0x2a
      exit
    none:
      r0 = 0x7
      exit
    `;
    expect(text).toEqual(built);
    // This process exists, so the task is found and released.
    expect(run(text, { type: "syscall" })).toBe(42);
  });

  it("LD pseudo sources: map values and kernel variables by BTF id", () => {
    using data = BpfMap.create({ type: "array", keySize: 4, valueSize: 16, maxEntries: 1 });
    data.set(new Uint8Array(4), Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0]));
    const built = b.instructions(
      b.ldMapValue(R1, "data", 8), b.ldx("u64", R0, R1, 0), b.add64(R0, 37), b.stx("u64", R1, R0, 0), b.exit(),
    );
    const text = asm`
      r1 = map_value(data, 0x8) ll
      r0 = *(u64 *)(r1 + 0x0)
      r0 += 0x25
      *(u64 *)(r1 + 0x0) = r0
      exit
    `;
    expect(text).toEqual(built);
    expect(run(text, { maps: { data } })).toBe(42);
    expect(data.get(new Uint8Array(4))!.subarray(8)).toEqual(Uint8Array.from([42, 0, 0, 0, 0, 0, 0, 0]));

    // A kernel (per-CPU) variable by BTF id: bpf_per_cpu_ptr gives CPU 0's copy, never NULL.
    const btf = kernelBtf();
    const ids = btf.idsByName("bpf_prog_active", "var");
    expect(ids.length).toBe(1);
    const ksym = b.instructions(
      b.ldBtfId(R1, ids[0]), b.mov64(R2, 0), b.call("per_cpu_ptr"), b.jeq(R0, 0, "null"), b.mov64(R0, 7), b.exit(),
      b.label("null"), b.mov64(R0, 1), b.exit(),
    );
    const ksymText = asm`
      ld_pseudo r1, 0x3, ${ids[0]}
      r2 = 0x0
      call bpf_per_cpu_ptr
      if r0 == 0x0 goto null
      r0 = 0x7
      exit
    null:
      r0 = 0x1
      exit
    `;
    expect(ksymText).toEqual(ksym);
    if (readFileSync("/proc/kallsyms", "utf8").includes(" bpf_prog_active\n")) {
      expect(run(ksymText, { type: "syscall" })).toBe(7);
    } else {
      // Known limit of this machine: the kernel reads the BTF id and names the variable, but
      // cannot find its address without CONFIG_KALLSYMS_ALL.
      let err: unknown;
      try {
        run(ksymText, { type: "syscall" });
      } catch (e) {
        err = e;
      }
      expect(isVerifierError(err)).toBe(true);
      expect((err as VerifierError).code).toBe(KNOWN_LIMITS.ksymVariables.errno);
      expect((err as VerifierError).log.join("\n")).toContain("failed to find the address for kernel symbol 'bpf_prog_active'");
    }
  });

  it("LD pseudo func: a bpf_loop callback's address, with the BTF func info the kernel needs", () => {
    // The kernel wants func_info for programs with callbacks: a tiny BTF with both functions.
    const types: BtfTypeInit[] = [
      { kind: "int", name: "int", size: 4, signed: true, char: false, bool: false, bitOffset: 0, bits: 32 }, // 1
      { kind: "ptr", name: "", type: 0 }, // 2: void *
      { kind: "func_proto", name: "", returnType: 1, params: [{ name: "ctx", type: 2 }] }, // 3
      { kind: "func", name: "main", type: 3, linkage: "global" }, // 4
      { kind: "func_proto", name: "", returnType: 1, params: [{ name: "index", type: 1 }, { name: "ctx", type: 2 }] }, // 5
      { kind: "func", name: "cb", type: 5, linkage: "static" }, // 6
    ];
    using btf = Btf.load(types);
    const built = b.instructions(
      b.st("u64", R10, -8, 0), b.mov64(R1, 4), b.ldFunc(R2, "cb"), b.mov64(R3, R10), b.add64(R3, -8), b.mov64(R4, 0),
      b.call("loop"), b.ldx("u64", R1, R10, -8), b.add64(R0, R1), b.exit(),
      b.label("cb"), b.ldx("u64", R3, R2, 0), b.add64(R3, R1), b.add64(R3, 10), b.stx("u64", R2, R3, 0), b.mov64(R0, 0), b.exit(),
    );
    const text = asm`
      *(u64 *)(r10 - 0x8) = 0x0
      r1 = 0x4
      r2 = func(cb) ll
      r3 = r10
      r3 += -0x8
      r4 = 0x0
      call bpf_loop
      r1 = *(u64 *)(r10 - 0x8)
      r0 += r1
      exit
    cb:
      r3 = *(u64 *)(r2 + 0x0)
      r3 += r1
      r3 += 0xa
      *(u64 *)(r2 + 0x0) = r3
      r0 = 0x0
      exit
    `;
    expect(text).toEqual(built);
    const cbSlot = symbolOffsets(text).get("cb")!;
    using prog = Program.load(
      { type: "socket_filter", instructions: text, btf: { funcInfo: marshalFuncInfo([{ insn: 0, typeId: 4 }, { insn: cbSlot, typeId: 6 }]) } },
      { btf },
    );
    // bpf_loop returns the 4 iterations; the callback added index + 10 for indexes 0..3.
    expect(prog.run({ data: packet }).retval).toBe(4 + (0 + 1 + 2 + 3 + 40));
  });
});

