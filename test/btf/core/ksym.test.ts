/**
 * kfunc/ksym resolution, poisoned-load explanations and module candidates on hand-built BTF
 * (no kernel; the kernel-facing behaviour is in core-kernel.test.ts).
 */
import { describe, expect, it } from "vitest";
import type { Instruction } from "../../../src/asm/instruction.js";
import { BtfBuilder } from "../../../src/btf/marshal.js";
import { parseBtf } from "../../../src/btf/spec.js";
import type { BtfTypeInit } from "../../../src/btf/types.js";
import { CoreTargets } from "../../../src/btf/core/candidates.js";
import { patchKsyms, POISON_CALL_KFUNC_BASE, resolveKsyms } from "../../../src/btf/core/ksym.js";
import { CorePoisonError, explainPoisonedLoad } from "../../../src/btf/core/poison.js";
import { applyCoreRelocations, POISON_CALL_CORE } from "../../../src/btf/core/relocate.js";
import { isTsbpfError, VerifierError } from "../../../src/errors.js";

const INT: BtfTypeInit = { kind: "int", name: "int", size: 4, signed: true, char: false, bool: false, bitOffset: 0, bits: 32 };

/** Object BTF: [1] int, [2] struct task_struct, [3] ptr, [4] proto(int) -> ptr, [5] func kfunc, [6] proto(int,int) -> int, [7] func bad_kfunc, [8] struct rq, [9] var runqueues, [10] const void, [11] var untyped, [12] func weak_kfunc */
function objectBtf() {
  const b = new BtfBuilder();
  b.add(INT);
  b.add({ kind: "struct", name: "task_struct", size: 4, members: [{ name: "pid", type: 1, bitOffset: 0, bitfieldSize: 0 }] });
  b.add({ kind: "ptr", name: "", type: 2 });
  b.add({ kind: "func_proto", name: "", returnType: 3, params: [{ name: "pid", type: 1 }] });
  b.add({ kind: "func", name: "bpf_task_from_pid", type: 4, linkage: "extern" });
  b.add({ kind: "func_proto", name: "", returnType: 1, params: [{ name: "a", type: 1 }, { name: "b", type: 1 }] });
  b.add({ kind: "func", name: "bpf_task_release", type: 6, linkage: "extern" });
  b.add({ kind: "struct", name: "rq", size: 4, members: [{ name: "cpu", type: 1, bitOffset: 0, bitfieldSize: 0 }] });
  b.add({ kind: "var", name: "runqueues", type: 8, linkage: "extern" });
  b.add({ kind: "const", name: "", type: 0 });
  b.add({ kind: "var", name: "some_symbol", type: 10, linkage: "extern" });
  b.add({ kind: "func", name: "tsbpf_missing", type: 4, linkage: "extern" });
  return parseBtf(b.marshal());
}

/** Kernel BTF: [1] int, [2] struct task_struct (bigger), [3] ptr, [4] proto(int) -> ptr, [5] func bpf_task_from_pid, [6] proto(ptr) -> void, [7] func bpf_task_release, [8] struct rq, [9] var runqueues. */
function kernelBtf() {
  const b = new BtfBuilder();
  b.add(INT);
  b.add({ kind: "struct", name: "task_struct", size: 16, members: [{ name: "pad", type: 1, bitOffset: 0, bitfieldSize: 0 }, { name: "pid", type: 1, bitOffset: 32, bitfieldSize: 0 }] });
  b.add({ kind: "ptr", name: "", type: 2 });
  b.add({ kind: "func_proto", name: "", returnType: 3, params: [{ name: "pid", type: 1 }] });
  b.add({ kind: "func", name: "bpf_task_from_pid", type: 4, linkage: "static" });
  b.add({ kind: "func_proto", name: "", returnType: 0, params: [{ name: "p", type: 3 }] });
  b.add({ kind: "func", name: "bpf_task_release", type: 6, linkage: "static" });
  b.add({ kind: "struct", name: "rq", size: 64, members: [{ name: "x", type: 1, bitOffset: 0, bitfieldSize: 0 }, { name: "cpu", type: 1, bitOffset: 32, bitfieldSize: 0 }] });
  b.add({ kind: "var", name: "runqueues", type: 8, linkage: "global" });
  return parseBtf(b.marshal());
}

const local = objectBtf();
const kernel = kernelBtf();
const addrs = new Map([["some_symbol", 0xffffffff81000000n]]);
const lookup = (names: readonly string[]) => new Map(names.filter((n) => addrs.has(n)).map((n) => [n, addrs.get(n)!] as [string, bigint]));

describe("resolveKsyms", () => {
  it("resolves kfuncs, typed and untyped variables, and weak missing ones", () => {
    const r = resolveKsyms(
      [
        { name: "bpf_task_from_pid", weak: false },
        { name: "runqueues", weak: false },
        { name: "some_symbol", weak: false },
        { name: "tsbpf_missing", weak: true },
        { name: "not_even_in_btf", weak: true },
      ],
      local,
      kernel,
      { kallsyms: lookup },
    );
    expect(r.get("bpf_task_from_pid")).toEqual({ name: "bpf_task_from_pid", kind: "kfunc", btfId: 5 });
    expect(r.get("runqueues")).toEqual({ name: "runqueues", kind: "btf_var", btfId: 9 });
    expect(r.get("some_symbol")).toEqual({ name: "some_symbol", kind: "address", address: 0xffffffff81000000n });
    expect(r.get("tsbpf_missing")).toMatchObject({ kind: "missing", poisonId: POISON_CALL_KFUNC_BASE + 3 });
    expect(r.get("not_even_in_btf")).toMatchObject({ kind: "missing", poisonId: POISON_CALL_KFUNC_BASE + 4 });
  });

  it("refuses a kfunc whose local prototype differs from the kernel's, naming it", () => {
    let err: unknown;
    try {
      resolveKsyms([{ name: "bpf_task_release", weak: false }], local, kernel, { kallsyms: lookup });
    } catch (e) {
      err = e;
    }
    expect(isTsbpfError(err)).toBe(true);
    expect((err as Error).message).toMatch(/ksym "bpf_task_release": the local prototype does not match the kernel's/);
  });

  it("says so when a kfunc lives in a module (fd_array is not passed yet)", () => {
    const mb = new BtfBuilder({ base: kernel });
    mb.add({ kind: "func", name: "tsbpf_missing", type: 4, linkage: "static" });
    const mod = parseBtf(mb.marshal(), { base: kernel });
    expect(() => resolveKsyms([{ name: "tsbpf_missing", weak: true }], local, kernel, { modules: () => [{ btf: mod, module: "tsbpf_mod" }] })).toThrow(
      /ksym "tsbpf_missing" from kernel module "tsbpf_mod" is not supported/,
    );
  });

  it("refuses missing non-weak externs", () => {
    expect(() => resolveKsyms([{ name: "tsbpf_missing", weak: false }], local, kernel)).toThrow(/ksym "tsbpf_missing": the kernel has no kfunc of this name/);
    expect(() => resolveKsyms([{ name: "nowhere", weak: false }], undefined, kernel, { kallsyms: lookup })).toThrow(/no such symbol in \/proc\/kallsyms/);
  });
});

describe("patchKsyms", () => {
  const ksyms = resolveKsyms(
    [
      { name: "bpf_task_from_pid", weak: false },
      { name: "runqueues", weak: false },
      { name: "some_symbol", weak: false },
      { name: "tsbpf_missing", weak: true },
    ],
    local,
    kernel,
    { kallsyms: lookup },
  );
  const call = (name: string): Instruction => ({ opcode: 0x85, dst: 0, src: 2, offset: 0, imm: 0, reference: { kind: "ksym", name } });
  const ld = (name: string): Instruction => ({ opcode: 0x18, dst: 1, src: 0, offset: 0, imm: 0n, reference: { kind: "ksym", name } });

  it("puts BTF ids, addresses and poison where the references were", () => {
    const out = patchKsyms([call("bpf_task_from_pid"), ld("runqueues"), ld("some_symbol"), call("tsbpf_missing"), ld("tsbpf_missing")], ksyms);
    expect(out[0]).toEqual({ opcode: 0x85, dst: 0, src: 2, offset: 0, imm: 5 });
    expect(out[1]).toEqual({ opcode: 0x18, dst: 1, src: 3, offset: 0, imm: 9n });
    expect(out[2]).toEqual({ opcode: 0x18, dst: 1, src: 0, offset: 0, imm: BigInt.asIntN(64, 0xffffffff81000000n) });
    expect(out[3]).toEqual({ opcode: 0x85, dst: 0, src: 0, offset: 0, imm: POISON_CALL_KFUNC_BASE + 3 });
    expect(out[4]).toEqual({ opcode: 0x18, dst: 1, src: 0, offset: 0, imm: 0n });
    expect(out.every((i) => i.reference === undefined)).toBe(true);
  });

  it("refuses references it cannot place", () => {
    expect(() => patchKsyms([call("runqueues")], ksyms, "p")).toThrow(/calls "runqueues", which was not resolved as a kfunc/);
    expect(() => patchKsyms([ld("unknown")], ksyms, "p")).toThrow(/ksym "unknown", which was not resolved/);
  });
});

describe("explainPoisonedLoad", () => {
  const relocations = [
    { index: 0, slot: 3, kind: "field_byte_offset" as const, local: "struct a.b", poisoned: false, localValue: 0, targetValue: 4 },
    { index: 1, slot: 7, kind: "field_byte_offset" as const, local: "struct a.gone", poisoned: true, reason: "the kernel's struct a [1] has no field \"gone\"" },
  ];
  it("names the relocation the verifier stopped at", () => {
    const log = `0: R1=ctx() R10=fp0\n7: (85) call unknown#${POISON_CALL_CORE}\ninvalid func unknown#${POISON_CALL_CORE}\nprocessed 8 insns`;
    const e = explainPoisonedLoad(new VerifierError("BPF_PROG_LOAD", 22, log), "prog", relocations);
    expect(e).toBeInstanceOf(CorePoisonError);
    expect((e as CorePoisonError).instruction).toBe(7);
    expect((e as Error).message).toBe(
      `program "prog": instruction 7 uses CO-RE relocation #1 (field_byte_offset of struct a.gone), which this kernel cannot satisfy: the kernel's struct a [1] has no field "gone" (guard the access with bpf_core_field_exists()/bpf_core_type_exists(), or fix the local type)`,
    );
  });

  it("leaves other errors alone", () => {
    const other = new VerifierError("BPF_PROG_LOAD", 13, "0: (b7) r0 = 0\nR0 !read_ok");
    expect(explainPoisonedLoad(other, "prog", relocations)).toBe(other);
    const plain = new Error("x");
    expect(explainPoisonedLoad(plain, "prog", relocations)).toBe(plain);
  });
});

describe("module BTF candidates", () => {
  it("are searched only when vmlinux has none, with the module's own ids", () => {
    const vb = new BtfBuilder();
    vb.add(INT);
    vb.add({ kind: "struct", name: "task_struct", size: 16, members: [] });
    const vmlinux = parseBtf(vb.marshal());
    const mb = new BtfBuilder({ base: vmlinux });
    mb.add({ kind: "struct", name: "rq", size: 8, members: [{ name: "pad", type: 1, bitOffset: 0, bitfieldSize: 0 }, { name: "cpu", type: 1, bitOffset: 32, bitfieldSize: 0 }] });
    const mod = parseBtf(mb.marshal(), { base: vmlinux });
    let asked = 0;
    const targets = new CoreTargets(vmlinux, { modules: () => (asked++, [{ btf: mod, module: "tsbpf_mod" }]) });
    const insns: Instruction[] = [{ opcode: 0x61, dst: 0, src: 1, offset: 0, imm: 0 }, { opcode: 0x95, dst: 0, src: 0, offset: 0, imm: 0 }];
    const r = applyCoreRelocations(insns, [{ insnOff: 0, typeId: 8, accessString: "0:0", kind: "field_byte_offset" }], local, targets);
    expect(r.instructions[0].offset).toBe(4);
    expect(r.relocations[0]).toMatchObject({ targetBtf: "tsbpf_mod", poisoned: false });
    expect(asked).toBe(1);
    // task_struct is in vmlinux: the modules are not consulted for it.
    targets.candidates(local, 2);
    expect(targets.candidates(local, 2).every((c) => c.target.module === undefined)).toBe(true);
  });
});
