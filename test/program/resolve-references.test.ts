import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  add64, atomic, call, callFunction, exit, instructions, ja, jeq, label, ldFunc, ldImm64, ldMapFd, ldMapValue, mov64,
  R0, R1, R2,
} from "../../src/asm/builder.js";
import type { Instruction } from "../../src/asm/instruction.js";
import { resolveReferences, slotCount } from "../../src/program/resolve-references.js";

const noMaps = () => undefined;

describe("resolveReferences", () => {
  it("turns a map reference into its fd (BPF_PSEUDO_MAP_FD) without changing the input", () => {
    const insns = instructions(ldMapFd(R1, "counts"), mov64(R0, 0), exit());
    const out = resolveReferences(insns, (name) => (name === "counts" ? 42 : undefined));
    expect(out[0].src).toBe(1);
    expect(out[0].imm).toBe(42n);
    expect(insns[0].imm).toBe(0n); // the spec is untouched
  });

  it("puts a map value offset into the upper half (BPF_PSEUDO_MAP_VALUE)", () => {
    const out = resolveReferences(instructions(ldMapValue(R1, "data", 8), exit()), () => 7);
    expect(out[0].src).toBe(2);
    expect(BigInt.asUintN(64, out[0].imm as bigint)).toBe((8n << 32n) | 7n);
  });

  it("names the missing map", () => {
    expect(() => resolveReferences(instructions(ldMapFd(R1, "counts"), exit()), noMaps, 'program "p"')).toThrow(
      'program "p": instruction 0 refers to map "counts", which was not given (pass it in options.maps)',
    );
  });

  it("computes jump, call and callback offsets in slots, counting ld_imm64 as two", () => {
    const insns = instructions(
      jeq(R1, 0, "out"),          // slot 0
      ldMapFd(R2, "m"),           // slots 1-2
      ldFunc(R2, "cb"),           // slots 3-4
      callFunction("cb"),         // slot 5
      ja("out"),                  // slot 6
      label("out"), mov64(R0, 0), // slot 7
      exit(),                     // slot 8
      label("cb"), mov64(R0, 1),  // slot 9
      exit(),
    );
    const out = resolveReferences(insns, () => 3);
    expect(out[0].offset).toBe(7 - 1);
    expect(out[2].imm).toBe(BigInt(9 - 4));
    expect(out[3].imm).toBe(9 - 6);
    expect(out[4].offset).toBe(7 - 7);
    expect(insns.reduce((n, i) => n + slotCount(i), 0)).toBe(11);
  });

  it("rejects labels that do not exist and references it cannot resolve", () => {
    expect(() => resolveReferences(instructions(ja("nowhere"), exit()), noMaps)).toThrow(/"nowhere", which is not a label/);
    const ksym: Instruction = { opcode: 0x85, dst: 0, src: 2, offset: 0, imm: 0, reference: { kind: "ksym", name: "bpf_task_from_pid" } };
    expect(() => resolveReferences([ksym, exit()], noMaps)).toThrow(/ksym "bpf_task_from_pid".*Collection/);
    const notLd: Instruction = { ...mov64(R0, 0), reference: { kind: "map", name: "m" } };
    expect(() => resolveReferences([notLd], () => 3)).toThrow(/is not ld_imm64/);
  });

  it("leaves instructions without references as they are", () => {
    const insns = instructions(mov64(R1, 1), add64(R1, 2), atomic("add", "u64", R1, R2, 0), call("ktime_get_ns"), exit());
    expect(resolveReferences(insns, noMaps)).toEqual(insns);
  });
});

describe("resolveReferences properties", () => {
  it("makes every jump land on the instruction its label names, whatever lies between", () => {
    // A program: random filler (1- and 2-slot instructions), with labels on some instructions
    // and jumps to random labels; after resolving, slot + 1 + offset must be the label's slot.
    const item = fc.oneof(
      fc.constant("mov" as const),
      fc.constant("ld64" as const),
      fc.constant("jump" as const),
    );
    fc.assert(
      fc.property(fc.array(item, { minLength: 1, maxLength: 60 }), fc.array(fc.nat(), { minLength: 60, maxLength: 60 }), (kinds, picks) => {
        const labels = kinds.map((_, i) => `L${i}`);
        const insns: Instruction[] = kinds.map((k, i) => {
          const base =
            k === "mov" ? mov64(R0, i) : k === "ld64" ? ldImm64(R1, BigInt(i) << 33n) : ja(labels[picks[i] % kinds.length]);
          return { ...base, symbol: labels[i] };
        });
        insns.push(exit());
        const out = resolveReferences(insns, () => undefined);
        const slotOf: number[] = [];
        let slot = 0;
        for (const insn of out) {
          slotOf.push(slot);
          slot += slotCount(insn);
        }
        out.forEach((insn, i) => {
          if (kinds[i] === "jump") expect(slotOf[i] + 1 + insn.offset).toBe(slotOf[picks[i] % kinds.length]);
          else expect(insn).toEqual(insns[i]);
        });
      }),
    );
  });
});
