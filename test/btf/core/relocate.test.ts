/**
 * The CO-RE engine on hand-built BTF (no kernel): every relocation kind, flavors, anonymous
 * members, arrays, bitfields, load-size adjustment, missing fields poisoning, enum64, type
 * matching, ambiguity and validation errors.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Instruction } from "../../../src/asm/instruction.js";
import { BtfBuilder } from "../../../src/btf/marshal.js";
import { parseBtf, type BtfSpec } from "../../../src/btf/spec.js";
import type { BtfMember, BtfTypeInit } from "../../../src/btf/types.js";
import { CoreTargets } from "../../../src/btf/core/candidates.js";
import { applyCoreRelocations, POISON_CALL_CORE, type CoreRelocationRecord } from "../../../src/btf/core/relocate.js";
import { CoreRelocationError } from "../../../src/btf/core/relocation-error.js";
import { CORE_RELO_KINDS, type CoreReloKind } from "../../../src/btf/ext.js";

/** Types addressed by name so tests read like C. */
class Types {
  readonly b = new BtfBuilder();
  readonly ids = new Map<string, number>();
  add(key: string, t: BtfTypeInit): number {
    const id = this.b.add(t);
    this.ids.set(key, id);
    return id;
  }
  int(name: string, size: number, signed: boolean): number {
    return this.add(name, { kind: "int", name, size, signed, char: false, bool: false, bitOffset: 0, bits: size * 8 });
  }
  struct(name: string, size: number, members: [string, number, number, number?][], kind: "struct" | "union" = "struct"): number {
    const ms: BtfMember[] = members.map(([n, type, bitOffset, bitfieldSize]) => ({ name: n, type, bitOffset, bitfieldSize: bitfieldSize ?? 0 }));
    return this.add(name || `anon${this.b.nextId}`, { kind, name, size, members: ms });
  }
  id(key: string): number {
    const id = this.ids.get(key);
    if (id === undefined) throw new Error(`no type ${key}`);
    return id;
  }
  spec(): BtfSpec {
    return parseBtf(this.b.marshal());
  }
}

const LDX_W = 0x61;
const LDX_DW = 0x79;
const LDX_H = 0x69;
const MOV64_K = 0xb7;
const LD_IMM64 = 0x18;
const EXIT: Instruction = { opcode: 0x95, dst: 0, src: 0, offset: 0, imm: 0 };
const ldx = (op: number, off: number): Instruction => ({ opcode: op, dst: 0, src: 1, offset: off, imm: 0 });
const mov = (imm: number): Instruction => ({ opcode: MOV64_K, dst: 0, src: 0, offset: 0, imm });
const ld64 = (imm: bigint): Instruction => ({ opcode: LD_IMM64, dst: 0, src: 0, offset: 0, imm });
const rec = (insnOff: number, typeId: number, accessString: string, kind: CoreReloKind): CoreRelocationRecord => ({ insnOff, typeId, accessString, kind });

/**
 * Local:  struct task { int pid; int tgid; struct { long a; } inner; int arr[4]; unsigned flags:3, mode:5; unsigned int small; short sx; };
 *         struct task___old { int pid; int gone; };
 *         enum color { RED = 0, BLUE = 1, GONE = 7 };  enum64 big { HUGE = 1<<40 };
 * Target: struct task { long pad; union { int pid; int other; }; char c; int tgid; struct { long a; } inner; int arr[8];
 *                       long x; unsigned pad2:7, flags:3, mode:5; unsigned long small; int sx; };
 *         enum color { BLUE = 10, RED = 20 };  enum64 big { HUGE = 1<<41 };
 */
function fixture() {
  const l = new Types();
  const lint = l.int("int", 4, true);
  const luint = l.int("unsigned int", 4, false);
  const llong = l.int("long", 8, true);
  const lshort = l.int("short", 2, true);
  const lidx = lint;
  const linner = l.struct("", 8, [["a", llong, 0]]);
  const larr = l.add("int[4]", { kind: "array", name: "", type: lint, indexType: lidx, nelems: 4 });
  l.struct("task", 48, [
    ["pid", lint, 0],
    ["tgid", lint, 32],
    ["inner", linner, 64],
    ["arr", larr, 128],
    ["flags", luint, 256, 3],
    ["mode", luint, 259, 5],
    ["small", luint, 288],
    ["sx", lshort, 320],
  ]);
  l.struct("task___old", 8, [
    ["pid", lint, 0],
    ["gone", lint, 32],
  ]);
  l.add("color", { kind: "enum", name: "color", size: 4, signed: false, values: [{ name: "RED", value: 0 }, { name: "BLUE", value: 1 }, { name: "GONE", value: 7 }] });
  l.add("big", { kind: "enum64", name: "big", size: 8, signed: false, values: [{ name: "HUGE", value: 1n << 40n }] });
  l.add("nothere", { kind: "struct", name: "not_in_kernel", size: 4, members: [{ name: "x", type: lint, bitOffset: 0, bitfieldSize: 0 }] });
  l.add("u32", { kind: "typedef", name: "u32", type: luint });

  const t = new Types();
  const tint = t.int("int", 4, true);
  const tuint = t.int("unsigned int", 4, false);
  const tlong = t.int("long", 8, true);
  const tulong = t.int("unsigned long", 8, false);
  const tchar = t.int("char", 1, true);
  const tanon = t.struct("", 4, [["pid", tint, 0], ["other", tint, 0]], "union");
  const tinner = t.struct("", 8, [["a", tlong, 0]]);
  const tarr = t.add("int[8]", { kind: "array", name: "", type: tint, indexType: tint, nelems: 8 });
  t.struct("task", 112, [
    ["pad", tlong, 0],
    ["", tanon, 64],
    ["c", tchar, 96],
    ["tgid", tint, 128],
    ["inner", tinner, 192],
    ["arr", tarr, 256],
    ["x", tlong, 512],
    ["pad2", tuint, 576, 7],
    ["flags", tuint, 583, 3],
    ["mode", tuint, 586, 5],
    ["small", tulong, 640],
    ["sx", tint, 704],
  ]);
  t.add("color", { kind: "enum", name: "color", size: 4, signed: false, values: [{ name: "BLUE", value: 10 }, { name: "RED", value: 20 }] });
  t.add("big", { kind: "enum64", name: "big", size: 8, signed: false, values: [{ name: "HUGE", value: 1n << 41n }] });
  t.add("u32", { kind: "typedef", name: "u32", type: tuint });
  return { local: l.spec(), l, target: t.spec(), t };
}

const { local, l, target } = fixture();
const targets = new CoreTargets(target);
const task = l.id("task");

function apply(insns: Instruction[], records: CoreRelocationRecord[], tg = targets) {
  return applyCoreRelocations(insns, records, local, tg, { program: "p" });
}

describe("CO-RE field relocations", () => {
  it("field_byte_offset: finds fields by name, through an anonymous union, and patches load offsets", () => {
    const r = apply([ldx(LDX_W, 0), ldx(LDX_W, 4), ldx(LDX_DW, 8), EXIT], [rec(0, task, "0:0", "field_byte_offset"), rec(1, task, "0:1", "field_byte_offset"), rec(2, task, "0:2:0", "field_byte_offset")]);
    expect(r.instructions.map((i) => i.offset)).toEqual([8, 16, 24, 0]);
    expect(r.relocations.every((x) => !x.poisoned)).toBe(true);
    expect(r.relocations[0].local).toBe("struct task.pid");
    expect(r.relocations[2].local).toBe("struct task.inner.a");
  });

  it("field_byte_offset into arrays, with the target array longer", () => {
    const r = apply([mov(16 + 3 * 4), EXIT], [rec(0, task, "0:3:3", "field_byte_offset")]);
    expect(r.instructions[0].imm).toBe(32 + 3 * 4);
    expect(r.relocations[0].local).toBe("struct task.arr[3]");
  });

  it("root array index: p[2].tgid uses the target struct's size", () => {
    const r = apply([mov(2 * 48 + 4), EXIT], [rec(0, task, "2:1", "field_byte_offset")]);
    expect(r.instructions[0].imm).toBe(2 * 112 + 16);
  });

  it("field_byte_size, field_signed, field_exists", () => {
    const r = apply(
      [mov(4), mov(4), mov(2), mov(1), mov(1), EXIT],
      [
        rec(0, task, "0:1", "field_byte_size"),
        rec(1, task, "0:6", "field_byte_size"),
        rec(2, task, "0:7", "field_byte_size"),
        rec(3, task, "0:7", "field_signed"),
        rec(4, task, "0:1", "field_exists"),
      ],
    );
    expect(r.instructions.slice(0, 5).map((i) => i.imm)).toEqual([4, 8, 4, 1, 1]);
  });

  it("bitfields: byte offset, size and shifts are those of the target layout", () => {
    // local flags: bits 256..259 of u32 at byte 32; target flags: bits 583..586 → u32 at byte 72, bit 7 within.
    const r = apply(
      [mov(32), mov(4), mov(64 - 3 - 0), mov(64 - 3), mov(0), EXIT],
      [
        rec(0, task, "0:4", "field_byte_offset"),
        rec(1, task, "0:4", "field_byte_size"),
        rec(2, task, "0:4", "field_lshift_u64"),
        rec(3, task, "0:4", "field_rshift_u64"),
        rec(4, task, "0:4", "field_signed"),
      ],
    );
    const [off, size, lsh, rsh, signed] = r.instructions.slice(0, 5).map((i) => i.imm as number);
    expect(off).toBe(72);
    expect(size).toBe(4);
    expect(rsh).toBe(64 - 3);
    expect(signed).toBe(0);
    // Reading 4 bytes at 72, shifting left by lsh then right by rsh leaves bits 583..585.
    const bitInLoad = 583 - off * 8;
    expect(lsh).toBe(64 - (bitInLoad + 3));
  });

  it("bitfield left shift follows the object's byte order (big-endian objects)", () => {
    // Local flags: bits 256..258 in the u32 at byte 32; big-endian: (8 - 4) * 8 + (256 - 32 * 8).
    const r = applyCoreRelocations([mov((8 - 4) * 8 + 0), EXIT], [rec(0, task, "0:4", "field_lshift_u64")], local, targets, { byteOrder: "big" });
    // Target flags: bits 583..585, load of 4 bytes at byte 72.
    expect(r.instructions[0].imm).toBe((8 - 4) * 8 + (583 - 72 * 8));
  });

  it("adjusts the load size when an unsigned field grows (u32 → u64)", () => {
    const r = apply([ldx(LDX_W, 36), EXIT], [rec(0, task, "0:6", "field_byte_offset")]);
    expect(r.instructions[0]).toMatchObject({ opcode: LDX_DW, offset: 80 });
  });

  it("poisons a load whose signed field changed size", () => {
    const r = apply([ldx(LDX_H, 40), EXIT], [rec(0, task, "0:7", "field_byte_offset")]);
    expect(r.instructions[0]).toMatchObject({ opcode: 0x85, src: 0, imm: POISON_CALL_CORE });
    expect(r.relocations[0].poisoned).toBe(true);
  });

  it("a missing field poisons its instruction, field_exists gives 0, flavors are stripped", () => {
    const old = l.id("task___old");
    const r = apply([mov(0), ldx(LDX_W, 4), mov(1), EXIT], [rec(0, old, "0:0", "field_byte_offset"), rec(1, old, "0:1", "field_byte_offset"), rec(2, old, "0:1", "field_exists")]);
    expect(r.instructions[0].imm).toBe(8); // task___old.pid → task.pid
    expect(r.instructions[1]).toMatchObject({ opcode: 0x85, imm: POISON_CALL_CORE });
    expect(r.instructions[2].imm).toBe(0);
    expect(r.relocations[1]).toMatchObject({ poisoned: true, local: "struct task___old.gone" });
    expect(r.relocations[1].reason).toContain("task___old.gone");
  });

  it("a poisoned ld_imm64 becomes two poisoned calls, keeping every slot in place", () => {
    const old = l.id("task___old");
    const insns = [{ ...ld64(4n), symbol: "prog" }, mov(0), EXIT];
    const r = apply(insns, [rec(0, old, "0:1", "field_byte_offset")]);
    expect(r.instructions).toHaveLength(4);
    expect(r.instructions[0]).toMatchObject({ opcode: 0x85, imm: POISON_CALL_CORE, symbol: "prog" });
    expect(r.instructions[1]).toMatchObject({ opcode: 0x85, imm: POISON_CALL_CORE });
    expect(r.instructions[2]).toEqual(mov(0));
  });

  it("relocations after an ld_imm64 are found by slot", () => {
    const r = apply([ld64(0n), ldx(LDX_W, 4), EXIT], [rec(2, task, "0:1", "field_byte_offset")]);
    expect(r.instructions[1].offset).toBe(16);
  });

  it("a type missing from the kernel poisons field relocations", () => {
    const r = apply([ldx(LDX_W, 0), EXIT], [rec(0, l.id("nothere"), "0:0", "field_byte_offset")]);
    expect(r.relocations[0].poisoned).toBe(true);
    expect(r.relocations[0].reason).toContain("no type named like struct not_in_kernel");
  });
});

describe("CO-RE type and enum relocations", () => {
  it("type_id_local/target, type_exists, type_size", () => {
    const tgtTask = target.idsByName("task", "struct")[0];
    const r = apply(
      [ld64(BigInt(task)), ld64(BigInt(task)), mov(1), mov(48), mov(1), EXIT],
      [
        rec(0, task, "0", "type_id_local"),
        rec(2, task, "0", "type_id_target"),
        rec(4, task, "0", "type_exists"),
        rec(5, task, "0", "type_size"),
        rec(6, l.id("nothere"), "0", "type_exists"),
      ],
    );
    expect(r.instructions[0].imm).toBe(BigInt(task));
    expect(r.instructions[1].imm).toBe(BigInt(tgtTask));
    expect(r.instructions[2].imm).toBe(1);
    expect(r.instructions[3].imm).toBe(112);
    expect(r.instructions[4].imm).toBe(0);
  });

  it("type_matches: a typedef of the same int matches, a struct with an extra member does not", () => {
    const r = apply([mov(1), mov(1), EXIT], [rec(0, l.id("u32"), "0", "type_matches"), rec(1, l.id("task___old"), "0", "type_matches")]);
    expect(r.instructions[0].imm).toBe(1);
    expect(r.instructions[1].imm).toBe(0); // task___old.gone is not in task
  });

  it("enumval_exists and enumval_value, enum64 included", () => {
    const color = l.id("color");
    const r = apply(
      [mov(1), mov(1), mov(1), ld64(1n << 40n), mov(0), EXIT],
      [
        rec(0, color, "1", "enumval_exists"),
        rec(1, color, "1", "enumval_value"),
        rec(2, color, "2", "enumval_exists"),
        rec(3, l.id("big"), "0", "enumval_value"),
        rec(5, color, "0", "enumval_value"),
      ],
    );
    expect(r.instructions[0].imm).toBe(1);
    expect(r.instructions[1].imm).toBe(10); // BLUE
    expect(r.instructions[2].imm).toBe(0); // GONE is not in the kernel's enum
    expect(r.instructions[3].imm).toBe(1n << 41n);
    expect(r.instructions[4].imm).toBe(20); // RED
    expect(r.relocations[1].local).toBe("enum color::BLUE");
  });
});

describe("CO-RE errors", () => {
  it("refuses an instruction that does not hold the expected local value", () => {
    expect(() => apply([ldx(LDX_W, 8), EXIT], [rec(0, task, "0:1", "field_byte_offset")])).toThrow(CoreRelocationError);
    expect(() => apply([ldx(LDX_W, 8), EXIT], [rec(0, task, "0:1", "field_byte_offset")])).toThrow(/relocation #0 \(field_byte_offset of struct task.tgid\).*holds 8, not the expected 4/);
  });

  it("refuses access strings that do not fit the object's BTF", () => {
    for (const s of ["0:99", "", "0:x", "0:1:0", "0:3:9"]) {
      expect(() => apply([mov(0), EXIT], [rec(0, task, s, "field_byte_offset")]), s).toThrow(CoreRelocationError);
    }
    expect(() => apply([mov(0), EXIT], [rec(7, task, "0:1", "field_byte_offset")])).toThrow(/slot 7/);
  });

  it("reports two kernel candidates that disagree", () => {
    const t = new Types();
    const i = t.int("int", 4, true);
    t.struct("task", 8, [["tgid", i, 0]]);
    t.struct("task___v2", 8, [["tgid", i, 32]]);
    const amb = new CoreTargets(t.spec());
    expect(() => apply([ldx(LDX_W, 4), EXIT], [rec(0, task, "0:1", "field_byte_offset")], amb)).toThrow(/different offsets/);
  });

  it("prefetching candidates in one scan finds what per-type lookups find", () => {
    const all = Array.from({ length: local.nextId - 1 }, (_, i) => i + 1);
    const batch = new CoreTargets(target);
    batch.prefetch(local, all, 1);
    const single = new CoreTargets(target);
    for (const id of all) expect(batch.candidates(local, id), `type ${id}`).toEqual(single.candidates(local, id));
  });

  it("candidates are cached per local type", () => {
    const tg = new CoreTargets(target);
    const a = tg.candidates(local, task);
    expect(tg.candidates(local, task)).toBe(a);
    expect(a.map((c) => c.id)).toEqual(target.idsByName("task", "struct"));
  });
});

describe("CO-RE on arbitrary records", () => {
  it("any record against any instruction ends in a result or a CoreRelocationError", () => {
    const insnArb = fc.oneof(
      fc.integer({ min: -4, max: 200 }).map((n) => mov(n)),
      fc.integer({ min: 0, max: 64 }).map((n) => ldx(LDX_W, n)),
      fc.bigInt({ min: 0n, max: 1n << 41n }).map((n) => ld64(n)),
      fc.constant(EXIT),
      fc.constant<Instruction>({ opcode: 0x0f, dst: 1, src: 2, offset: 0, imm: 0 }), // add r1, r2
    );
    const access = fc.oneof(
      fc.array(fc.nat(10), { minLength: 1, maxLength: 5 }).map((a) => a.join(":")),
      fc.string({ maxLength: 8 }),
    );
    const random = fc.tuple(
      fc.array(insnArb, { minLength: 1, maxLength: 6 }),
      fc.array(fc.record({ insnOff: fc.nat(8), typeId: fc.nat(local.nextId + 1), accessString: access, kind: fc.constantFrom(...CORE_RELO_KINDS) }), { minLength: 1, maxLength: 3 }),
    );
    // Records the compiler could have written, so both outcomes are exercised.
    const valid = fc.constantFrom<[Instruction[], CoreRelocationRecord[]]>(
      [[mov(4), EXIT], [rec(0, task, "0:1", "field_byte_offset")]],
      [[ldx(LDX_W, 0), EXIT], [rec(0, l.id("task___old"), "0:1", "field_byte_offset")]],
      [[mov(1), EXIT], [rec(0, l.id("color"), "2", "enumval_exists")]],
      [[mov(48), EXIT], [rec(0, task, "0", "type_size")]],
    );
    const seen = { ok: 0, error: 0 };
    fc.assert(
      fc.property(
        fc.oneof(random, valid),
        ([insns, records]) => {
          try {
            const r = apply(insns, records);
            expect(r.relocations).toHaveLength(records.length);
            seen.ok++;
          } catch (e) {
            if (!(e instanceof CoreRelocationError)) throw e;
            seen.error++;
          }
        },
      ),
      { numRuns: 3000 },
    );
    expect(seen.ok).toBeGreaterThan(0);
    expect(seen.error).toBeGreaterThan(0);
  });
});
