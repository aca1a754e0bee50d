import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { call, callFunction, exit, instructions, ja, jeq, label, ldFunc, ldImm64, ldMapFd, ldMapValue, mov64, R0, R1 } from "../../src/asm/builder.js";
import { encodeInstructions } from "../../src/asm/encoding.js";
import type { Instruction, Reference } from "../../src/asm/instruction.js";
import { CollectionSpec } from "../../src/elf/collection-spec.js";
import { encodeForLoad } from "../../src/program/encode-for-load.js";
import { resolveReferences, type MapFdLookup } from "../../src/program/resolve-references.js";

/** What the general path makes: its bytes, or the error it throws. */
function general(insns: readonly Instruction[], lookup: MapFdLookup): Uint8Array | Error {
  try {
    return encodeInstructions(resolveReferences(insns, lookup));
  } catch (e) {
    return e as Error;
  }
}

const fds: Record<string, number> = { a: 3, b: 0x7fffffff, c: 0x80000000, d: 0 };
const lookup: MapFdLookup = (name) => fds[name];

describe("encodeForLoad", () => {
  it("encodes a program with map references, labels and calls like the general path", () => {
    const insns = instructions(
      ldMapFd(R1, "a"), ldMapValue(R1, "b", 12), jeq(R1, 0, "out"), call(1), callFunction("sub"), ldFunc(R1, "sub"),
      label("out"), mov64(R0, 0), exit(), label("sub"), ldImm64(R0, -5n), ja("sub2"), label("sub2"), exit(),
    );
    const fast = encodeForLoad(insns, lookup);
    expect(fast).toBeInstanceOf(Uint8Array);
    expect(fast).toEqual(general(insns, lookup));
  });

  it("leaves what the general path refuses or handles specially to it", () => {
    expect(encodeForLoad(instructions(ldMapFd(R1, "missing"), exit()), lookup)).toBeUndefined();
    expect(encodeForLoad(instructions(ldMapFd(R1, "c"), exit()), lookup)).toBeUndefined(); // fd above 2^31
    expect(encodeForLoad(instructions(ja("nowhere"), exit()), lookup)).toBeUndefined();
    const duplicate = instructions(mov64(R0, 0), exit()).map((i) => ({ ...i, symbol: "x" }));
    expect(encodeForLoad(duplicate, lookup)).toBeUndefined();
    const throwing: MapFdLookup = () => {
      throw new Error("closed");
    };
    expect(encodeForLoad(instructions(ldMapFd(R1, "a"), exit()), throwing)).toBeUndefined();
  });

  it("makes the same bytes as the general path for every program of the test objects", () => {
    let fastPrograms = 0;
    for (const file of ["bpf/bench_many.o", "bpf/subprograms.o", "bpf/global_data.o", "bpf/xdp_tail.o", "bpf/kfunc_callback.o"]) {
      const spec = CollectionSpec.fromFile(file);
      const mapLookup: MapFdLookup = (name) => (name in spec.maps ? 100 + Object.keys(spec.maps).indexOf(name) : undefined);
      for (const p of Object.values(spec.programs)) {
        const slow = general(p.instructions, mapLookup);
        const fast = encodeForLoad(p.instructions, mapLookup);
        if (slow instanceof Uint8Array) expect(fast).toEqual(slow);
        else expect(fast).toBeUndefined();
        if (fast !== undefined) fastPrograms++;
      }
    }
    expect(fastPrograms).toBeGreaterThanOrEqual(50); // at least bench_many.o's 50 take the fast path
  });

  it("property: the same bytes as the general path, or undefined where it throws", () => {
    const names = ["a", "b", "c", "d", "missing", "L0", "L1", "L2"];
    const reference: fc.Arbitrary<Reference | undefined> = fc.oneof(
      fc.constant(undefined),
      fc.record({ kind: fc.constant("map" as const), name: fc.constantFrom(...names) }),
      fc.record({ kind: fc.constant("map" as const), name: fc.constantFrom(...names), value: fc.boolean(), offset: fc.oneof(fc.nat(0xffffffff), fc.integer({ min: -2, max: 2 }), fc.constant(2 ** 32)) }, { requiredKeys: ["kind", "name"] }),
      fc.record({ kind: fc.constant("symbol" as const), name: fc.constantFrom(...names) }),
      fc.record({ kind: fc.constantFrom("ksym" as const, "extern" as const), name: fc.constantFrom(...names) }),
    );
    const opcode = fc.oneof(
      fc.constantFrom(0x18, 0x05, 0x06, 0x15, 0x16, 0x85, 0x95, 0x07, 0xb7, 0x61, 0x0d),
      fc.integer({ min: -1, max: 0x100 }),
    );
    const imm = fc.oneof(
      fc.integer({ min: -0x80000001, max: 0x100000000 }),
      fc.bigInt({ min: -(1n << 64n), max: 1n << 65n }),
      fc.constant(2 ** 53),
      fc.double(),
    );
    const insn: fc.Arbitrary<Instruction> = fc
      .record({
        opcode,
        dst: fc.integer({ min: -1, max: 16 }),
        src: fc.oneof(fc.constantFrom(0, 1, 2, 4), fc.integer({ min: -1, max: 16 })),
        offset: fc.oneof(fc.integer({ min: -3, max: 3 }), fc.integer({ min: -0x8001, max: 0x8000 })),
        imm,
        symbol: fc.option(fc.constantFrom("L0", "L1", "L2"), { nil: undefined }),
        reference,
      })
      .map((r) => {
        const out: Instruction = { opcode: r.opcode, dst: r.dst, src: r.src, offset: r.offset, imm: r.imm };
        if (r.symbol !== undefined) out.symbol = r.symbol;
        if (r.reference !== undefined) out.reference = r.reference;
        return out;
      });
    fc.assert(
      fc.property(fc.array(insn, { minLength: 1, maxLength: 12 }), (insns) => {
        const slow = general(insns, lookup);
        const fast = encodeForLoad(insns, lookup);
        if (slow instanceof Uint8Array) {
          // The fast path may leave a valid list to the general path (fd above 2^31), never differ.
          if (fast !== undefined) expect(fast).toEqual(slow);
        } else {
          expect(fast).toBeUndefined();
        }
      }),
      { numRuns: 3000 },
    );
  });

  it("property: lists of valid instructions with labels take the fast path", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 30 }), fc.integer({ min: -(2 ** 40), max: 2 ** 40 }), (kinds, k) => {
        const items: (Instruction | ReturnType<typeof label>)[] = [label("L0"), mov64(R0, 0)];
        for (const kind of kinds) {
          if (kind === 0) items.push(ldMapValue(R1, "a", 4));
          else if (kind === 1) items.push(jeq(R1, 1, "L0"));
          else if (kind === 2) items.push(ldImm64(R1, BigInt(k)));
          else items.push({ opcode: 0x18, dst: 1, src: 0, offset: 0, imm: k });
        }
        items.push(exit());
        const insns = instructions(...items);
        const fast = encodeForLoad(insns, lookup);
        expect(fast).toBeInstanceOf(Uint8Array);
        expect(fast).toEqual(general(insns, lookup));
      }),
    );
  });
});
