/**
 * Every BTF consumer on hostile type graphs (fast-check, the suite's fixed seed): reference
 * loops, members and datasec variables outside their type, absurd sizes. parseBtf must refuse
 * out-of-bounds members and variables with a ParseError; whatever it accepts, the codecs, the C
 * and raw dumps, the size/alignment walks and the CO-RE engine must end in a value or a typed
 * error (ParseError, CoreRelocationError; TypeError only for asking a codec of a type that has no
 * value, such as a function), and quickly.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Instruction } from "../../src/asm/instruction.js";
import { dumpC } from "../../src/btf/c-dump.js";
import { codecFromBtf } from "../../src/btf/codec.js";
import { CoreTargets } from "../../src/btf/core/candidates.js";
import { applyCoreRelocations } from "../../src/btf/core/relocate.js";
import { CoreRelocationError } from "../../src/btf/core/relocation-error.js";
import { CORE_RELO_KINDS } from "../../src/btf/ext.js";
import { BtfBuilder, marshalBtf } from "../../src/btf/marshal.js";
import { typeAlignment, typeSize } from "../../src/btf/query.js";
import { dumpRaw } from "../../src/btf/raw-dump.js";
import { parseBtf, type BtfSpec } from "../../src/btf/spec.js";
import { isParseError, isTsbpfError } from "../../src/errors.js";
import { arbTypes } from "./arbitrary.js";

/** Longer than any case may take: a walk that multiplies over a type graph would exceed it. */
const CASE_LIMIT_MS = 1000;

/** Run `f`; a typed refusal is fine, anything else fails the property. */
function typed(what: string, f: () => unknown, allowTypeError = false): "value" | "refused" {
  try {
    f();
    return "value";
  } catch (e) {
    if (isTsbpfError(e) || e instanceof CoreRelocationError) return "refused";
    if (allowTypeError && e instanceof TypeError && /has no value layout|has no size|has no alignment/.test(e.message)) return "refused";
    throw new Error(`${what}: untyped ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`, { cause: e });
  }
}

/** Every consumer over every type of `spec`. */
function consumeAll(spec: BtfSpec, target: BtfSpec, records: { insnOff: number; typeId: number; accessString: string; kind: (typeof CORE_RELO_KINDS)[number] }[]): Record<"value" | "refused", number> {
  const out = { value: 0, refused: 0 };
  const start = performance.now();
  out[typed("validate", () => spec.validate())]++;
  out[typed("dumpC", () => dumpC(spec))]++;
  out[typed("dumpRaw", () => dumpRaw(spec))]++;
  for (let id = 1; id < spec.nextId; id++) {
    out[typed(`codecFromBtf [${id}]`, () => codecFromBtf(spec, id), true)]++;
    out[typed(`typeSize [${id}]`, () => typeSize(spec, id), true)]++;
    out[typed(`typeAlignment [${id}]`, () => typeAlignment(spec, id), true)]++;
  }
  const insns: Instruction[] = [
    { opcode: 0x61, dst: 0, src: 1, offset: 0, imm: 0 },
    { opcode: 0xb7, dst: 0, src: 0, offset: 0, imm: 0 },
    { opcode: 0x95, dst: 0, src: 0, offset: 0, imm: 0 },
  ];
  const targets = new CoreTargets(target);
  for (const r of records) out[typed(`CO-RE ${r.kind} ${r.accessString}`, () => applyCoreRelocations(insns, [r], spec, targets))]++;
  const took = performance.now() - start;
  if (took > CASE_LIMIT_MS) throw new Error(`consumers took ${took.toFixed(0)} ms on ${spec.nextId - 1} types`);
  return out;
}

const record = fc.record({
  insnOff: fc.constantFrom(0, 1),
  typeId: fc.nat(13),
  accessString: fc.array(fc.nat(4), { minLength: 1, maxLength: 4 }).map((a) => a.join(":")),
  kind: fc.constantFrom(...CORE_RELO_KINDS),
});

describe("BTF consumers on hostile type graphs", () => {
  it("parseBtf refuses out-of-bounds members; every consumer of what it accepts ends in a value or a typed error", () => {
    const seen = { parseRefused: 0, parsed: 0, value: 0, refused: 0 };
    fc.assert(
      fc.property(arbTypes(12, true), arbTypes(12, false), fc.array(record, { minLength: 1, maxLength: 4 }), (hostile, target, records) => {
        let spec: BtfSpec;
        try {
          spec = parseBtf(marshalBtf(hostile));
        } catch (e) {
          if (!isParseError(e)) throw e;
          seen.parseRefused++;
          return;
        }
        seen.parsed++;
        const r = consumeAll(spec, parseBtf(marshalBtf(target), { lazy: true }), records);
        seen.value += r.value;
        seen.refused += r.refused;
      }),
      { numRuns: 1500 },
    );
    // Both sides of every question were reached: the property cannot pass by never parsing.
    expect(seen.parseRefused).toBeGreaterThan(0);
    expect(seen.parsed).toBeGreaterThan(0);
    expect(seen.value).toBeGreaterThan(0);
    expect(seen.refused).toBeGreaterThan(0);
  });

  it("well-formed random graphs (loops included) end in a value or a typed error in every consumer", () => {
    const seen = { value: 0, refused: 0 };
    fc.assert(
      fc.property(arbTypes(12, false), fc.boolean(), arbTypes(12, false), fc.array(record, { minLength: 1, maxLength: 4 }), (types, same, target, records) => {
        const spec = parseBtf(marshalBtf(types), { lazy: true });
        const r = consumeAll(spec, same ? spec : parseBtf(marshalBtf(target), { lazy: true }), records);
        seen.value += r.value;
        seen.refused += r.refused;
      }),
      { numRuns: 1500 },
    );
    expect(seen.value).toBeGreaterThan(0);
    expect(seen.refused).toBeGreaterThan(0);
  });

  it("regression (issue 11): a member at bit offset 0xffffffff of a 32-byte struct is refused at parse time, with its offset", () => {
    const bytes = new Uint8Array(readFileSync(join(__dirname, "../fixtures/hostile/bad-member.btf")));
    let err: unknown;
    try {
      parseBtf(bytes).validate();
    } catch (e) {
      err = e;
    }
    expect(isParseError(err)).toBe(true);
    expect((err as Error).message).toBe("BTF: member 0 of struct [2] (at bit offset 4294967295) lies outside the 32-byte struct");
    // 24-byte header, int (16 bytes), struct header (12): the member's offset field is 8 bytes into it.
    expect((err as { offset?: number }).offset).toBe(24 + 16 + 12 + 8);
    // Lazily parsed, the type is refused when first decoded, by every consumer that reaches it.
    const lazy = parseBtf(bytes, { lazy: true });
    expect(() => codecFromBtf(lazy, 2)).toThrow(/lies outside the 32-byte struct/);
    expect(() => dumpC(lazy)).toThrow(/lies outside the 32-byte struct/);
  });

  it("regression: a bitfield that ends past its struct, and a datasec variable past its section, are refused", () => {
    const b = new BtfBuilder();
    const int = b.add({ kind: "int", name: "int", size: 4, signed: true, char: false, bool: false, bits: 32, bitOffset: 0 });
    b.add({ kind: "struct", name: "s", size: 4, members: [{ name: "bf", type: int, bitOffset: 30, bitfieldSize: 4 }] });
    expect(() => parseBtf(b.marshal()).validate()).toThrow(/member 0 of struct \[2\] \(4-bit bitfield at bit offset 30\) lies outside the 4-byte struct/);
    const d = new BtfBuilder();
    const i2 = d.add({ kind: "int", name: "int", size: 4, signed: true, char: false, bool: false, bits: 32, bitOffset: 0 });
    const v = d.add({ kind: "var", name: "x", type: i2, linkage: "global" });
    d.add({ kind: "datasec", name: ".data", size: 8, vars: [{ type: v, offset: 6, size: 4 }] });
    expect(() => parseBtf(d.marshal()).validate()).toThrow(/variable 0 of datasec \[3\] \(4 bytes at 6\) lies outside the 8-byte datasec/);
  });

  it("regression: a struct member of kind func is malformed BTF (ParseError), a codec asked of a func is misuse (TypeError)", () => {
    const b = new BtfBuilder();
    const proto = b.add({ kind: "func_proto", name: "", returnType: 0, params: [] });
    const fn = b.add({ kind: "func", name: "f", type: proto, linkage: "global" });
    const s = b.add({ kind: "struct", name: "s", size: 8, members: [{ name: "m", type: fn, bitOffset: 0, bitfieldSize: 0 }] });
    const spec = parseBtf(b.marshal());
    expect(() => codecFromBtf(spec, s)).toThrow(/used as a member or element but has no value layout: malformed BTF/);
    expect(isParseError((() => { try { codecFromBtf(spec, s); } catch (e) { return e; } })())).toBe(true);
    expect(() => codecFromBtf(spec, fn)).toThrow(TypeError);
  });

  it("regression: a type graph that shares members (3^24 paths through 25 types) is walked in linear time by every consumer", () => {
    // typeAlignment walked every path (3^24 steps, a hang): the kconfig layout calls it on object BTF.
    const b = new BtfBuilder();
    b.add({ kind: "int", name: "int", size: 4, signed: true, char: false, bool: false, bits: 32, bitOffset: 0 });
    for (let i = 0; i < 24; i++) {
      b.add({ kind: "union", name: `u${i}`, size: 4, members: [0, 1, 2].map((k) => ({ name: `m${k}`, type: i + 1, bitOffset: 0, bitfieldSize: 0 })) });
    }
    const spec = parseBtf(b.marshal());
    const start = performance.now();
    expect(typeAlignment(spec, 25)).toBe(4);
    expect(typeSize(spec, 25)).toBe(4);
    expect(codecFromBtf(spec, 25).size).toBe(4);
    expect(dumpC(spec)).toContain("union u23 {");
    expect(performance.now() - start).toBeLessThan(CASE_LIMIT_MS);
  });
});
