/**
 * The CO-RE engine on arbitrary BTF (fast-check): random type graphs (loops, absurd sizes,
 * odd kinds) as both the object's BTF and the kernel's, random records and instructions. Every
 * run must end in a result or a typed error (CoreRelocationError, or ParseError for a reference
 * loop), never a crash, a hang or an untyped exception.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Instruction } from "../../../src/asm/instruction.js";
import { CoreTargets } from "../../../src/btf/core/candidates.js";
import { applyCoreRelocations } from "../../../src/btf/core/relocate.js";
import { CoreRelocationError } from "../../../src/btf/core/relocation-error.js";
import { CORE_RELO_KINDS } from "../../../src/btf/ext.js";
import { BtfBuilder, marshalBtf } from "../../../src/btf/marshal.js";
import { parseBtf } from "../../../src/btf/spec.js";
import { ParseError } from "../../../src/errors.js";
import { arbTypes } from "../arbitrary.js";

const insn = fc.oneof(
  fc.integer({ min: -8, max: 4096 }).map((imm): Instruction => ({ opcode: 0xb7, dst: 0, src: 0, offset: 0, imm })),
  fc.integer({ min: -8, max: 4096 }).map((offset): Instruction => ({ opcode: 0x61, dst: 0, src: 1, offset, imm: 0 })),
  fc.bigInt({ min: 0n, max: 1n << 40n }).map((imm): Instruction => ({ opcode: 0x18, dst: 0, src: 0, offset: 0, imm })),
);

describe("CO-RE on arbitrary BTF", () => {
  it("ends in a result or a typed error", () => {
    const seen = { ok: 0, core: 0, parse: 0 };
    fc.assert(
      fc.property(
        arbTypes(12),
        fc.boolean(),
        arbTypes(12),
        fc.array(insn, { minLength: 1, maxLength: 6 }),
        fc.array(
          fc.record({
            insnOff: fc.nat(6),
            typeId: fc.nat(13),
            accessString: fc.array(fc.nat(3), { minLength: 1, maxLength: 4 }).map((a) => a.join(":")),
            kind: fc.constantFrom(...CORE_RELO_KINDS),
          }),
          { minLength: 1, maxLength: 4 },
        ),
        (localTypes, sameTarget, targetTypes, insns, records) => {
          const local = parseBtf(marshalBtf(localTypes), { lazy: true });
          const target = sameTarget ? local : parseBtf(marshalBtf(targetTypes), { lazy: true });
          const targets = new CoreTargets(target);
          // All records together, then each alone (so single successes are seen too).
          for (const list of [records, ...records.map((r) => [r])]) {
            try {
              const r = applyCoreRelocations(insns, list, local, targets);
              expect(r.relocations).toHaveLength(list.length);
              for (const x of r.relocations) expect(typeof x.local).toBe("string");
              seen.ok++;
            } catch (e) {
              if (e instanceof CoreRelocationError) seen.core++;
              else if (e instanceof ParseError) seen.parse++;
              else throw e;
            }
          }
        },
      ),
      { numRuns: 3000 },
    );
    expect(seen.ok).toBeGreaterThan(0);
    expect(seen.core).toBeGreaterThan(0);
  });

  // Found by this property (a run without a fixed seed): a non-bitfield member at a bit offset
  // that is not a whole byte made field_byte_offset a fraction, and BigInt() threw a RangeError.
  it.each(["field_byte_offset", "field_byte_size", "field_lshift_u64"] as const)(
    "regression: %s of a non-bitfield member off a byte boundary is a typed error",
    (kind) => {
      const b = new BtfBuilder();
      const int = b.add({ kind: "int", name: "int", size: 4, signed: true, char: false, bool: false, bits: 32, bitOffset: 0 });
      const s = b.add({ kind: "struct", name: "s", size: 8, members: [{ name: "a", type: int, bitOffset: 3, bitfieldSize: 0 }] });
      const btf = parseBtf(b.marshal());
      const insns: Instruction[] = [{ opcode: 0x61, dst: 0, src: 1, offset: 0, imm: 0 }, { opcode: 0x95, dst: 0, src: 0, offset: 0, imm: 0 }];
      const run = () => applyCoreRelocations(insns, [{ insnOff: 0, typeId: s, accessString: "0:0", kind }], btf, new CoreTargets(btf));
      expect(run).toThrow(CoreRelocationError);
      expect(run).toThrow(/not a bitfield but starts at bit offset 3, not on a byte: malformed BTF/);
    },
  );
});
