/**
 * fast-check fuzzing of the ELF reader and the CollectionSpec parser with mutations of real
 * objects: truncation, the other byte order, random bytes, and absurd values written into the
 * header, section headers, symbols and relocations. Every case must end in a spec (whose
 * programs and variables can be read) or a typed tsbpf error, never another exception or a
 * hang. 105,000 cases in all (TSBPF_FUZZ_SCALE multiplies them); each case is cheap (objects of 7–12 KB).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CollectionSpec } from "../../src/elf/collection-spec.js";
import { parseElf } from "../../src/elf/elf-file.js";
import { isTsbpfError } from "../../src/errors.js";

const OBJECTS = ["global_data", "kconfig", "xdp_tail", "map_in_map", "subprograms", "legacy_maps", "struct_ops", "struct_ops_optional"].map(
  (n) => new Uint8Array(readFileSync(join(__dirname, "../../bpf", `${n}.o`))),
);
const SCALE = Number(process.env.TSBPF_FUZZ_SCALE ?? "1");
const runs = (n: number) => Math.max(1, Math.round(n * SCALE));
/** Longer than any case may take: a loop on hostile counts would exceed it. */
const CASE_LIMIT_MS = 2000;

/** Parse fully: the spec, every program's instructions and BTF records, every BTF type, every variable's value. */
const tally = { spec: 0, error: 0 };
function exercise(bytes: Uint8Array): "spec" | "error" {
  const r = exerciseOnce(bytes);
  tally[r]++;
  return r;
}
/** Both outcomes must occur, so a property cannot pass by never reaching the deep code. */
function expectBothOutcomes(run: () => void): void {
  tally.spec = 0;
  tally.error = 0;
  run();
  expect(tally.spec, "cases that parsed").toBeGreaterThan(0);
  expect(tally.error, "cases that failed").toBeGreaterThan(0);
}
function exerciseOnce(bytes: Uint8Array): "spec" | "error" {
  const start = performance.now();
  try {
    const spec = CollectionSpec.fromBytes(bytes);
    for (const p of Object.values(spec.programs)) {
      void p.instructions.length;
      void [p.funcInfos?.length, p.lineInfos?.length, p.coreRelocations?.length];
    }
    spec.btf?.validate();
    for (const v of Object.values(spec.variables)) void v.value;
    spec.loadableBtf();
    return "spec";
  } catch (e) {
    if (!isTsbpfError(e)) throw new Error(`untyped ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`, { cause: e });
    return "error";
  } finally {
    const took = performance.now() - start;
    if (took > CASE_LIMIT_MS) throw new Error(`case took ${took.toFixed(0)} ms`);
  }
}

/** Offsets of interesting fields of an ELF64 LE file: header, section headers, symbols, relocations. */
function fieldOffsets(bytes: Uint8Array): { at: number; width: 2 | 4 | 8 }[] {
  const f = parseElf(bytes);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: { at: number; width: 2 | 4 | 8 }[] = [];
  for (const at of [16, 18]) out.push({ at, width: 2 });
  for (const at of [32, 40]) out.push({ at, width: 8 });
  for (const at of [52, 54, 56, 58, 60, 62]) out.push({ at, width: 2 });
  const shoff = Number(v.getBigUint64(40, true));
  for (let i = 0; i < f.sections.length; i++) {
    const h = shoff + i * 64;
    for (const o of [0, 4, 40, 44]) out.push({ at: h + o, width: 4 });
    for (const o of [8, 24, 32, 48, 56]) out.push({ at: h + o, width: 8 });
  }
  for (const s of f.sections) {
    if (s.type === 2) for (let at = s.offset; at < s.offset + s.size; at += 24) out.push({ at, width: 4 }, { at: at + 6, width: 2 }, { at: at + 8, width: 8 }, { at: at + 16, width: 8 });
    if (s.type === 9) for (let at = s.offset; at < s.offset + s.size; at += 16) out.push({ at, width: 8 }, { at: at + 8, width: 4 }, { at: at + 12, width: 4 });
    if (s.name === ".BTF" || s.name === ".BTF.ext") for (let at = s.offset; at < s.offset + Math.min(s.size, 256); at += 4) out.push({ at, width: 4 });
  }
  return out;
}
const FIELDS = OBJECTS.map(fieldOffsets);

const absurd = fc.oneof(
  fc.constantFrom(0n, 1n, 7n, 8n, 0xffn, 0xffffn, 0x7fffffffn, 0xffffffffn, 0xffffffffffffffffn, 1n << 53n, 1n << 62n),
  fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
);

function write(bytes: Uint8Array, at: number, width: 2 | 4 | 8, value: bigint): void {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (at + width > bytes.length) return;
  if (width === 2) v.setUint16(at, Number(value & 0xffffn), true);
  else if (width === 4) v.setUint32(at, Number(value & 0xffffffffn), true);
  else v.setBigUint64(at, value & 0xffffffffffffffffn, true);
}

describe("ELF and CollectionSpec fuzzing: a spec or a typed error, never anything else", () => {
  it("the unmutated objects parse", () => {
    for (const o of OBJECTS) expect(exercise(o)).toBe("spec");
  });

  it("truncation at any length", () => {
    expectBothOutcomes(() =>
    fc.assert(
      fc.property(fc.nat(OBJECTS.length - 1), fc.double({ min: 0, max: 1, noNaN: true }), (i, frac) => {
        const o = OBJECTS[i];
        const cut = o.subarray(0, Math.floor(o.length * frac));
        exercise(cut);
        expect(() => parseElf(cut)).not.toThrow(TypeError);
      }),
      { numRuns: runs(15_000) },
      ),
    );
  });

  it("random bytes overwritten anywhere", () => {
    expectBothOutcomes(() =>
    fc.assert(
      fc.property(
        fc.nat(OBJECTS.length - 1),
        fc.array(fc.tuple(fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
        (i, edits) => {
          const m = OBJECTS[i].slice();
          for (const [pos, byte] of edits) m[Math.floor(pos * m.length)] = byte;
          exercise(m);
        },
      ),
      { numRuns: runs(45_000) },
      ),
    );
  });

  it("absurd counts, offsets and sizes in headers, symbols, relocations and BTF", () => {
    expectBothOutcomes(() =>
    fc.assert(
      fc.property(fc.nat(OBJECTS.length - 1), fc.array(fc.tuple(fc.nat(), absurd), { minLength: 1, maxLength: 4 }), (i, edits) => {
        const m = OBJECTS[i].slice();
        const fields = FIELDS[i];
        for (const [n, value] of edits) {
          const f = fields[n % fields.length];
          write(m, f.at, f.width, value);
        }
        exercise(m);
      }),
      { numRuns: runs(30_000) },
      ),
    );
    // ~20 s of CPU: on a shared 2-core machine its wall time can pass the default 60 s.
  }, 240_000);

  it("the other byte order (header flag flipped, with and without other edits)", () => {
    fc.assert(
      fc.property(fc.nat(OBJECTS.length - 1), fc.option(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }))), (i, edit) => {
        const m = OBJECTS[i].slice();
        m[5] = 3 - m[5];
        if (edit && edit[0] % m.length !== 5) m[edit[0] % m.length] = edit[1];
        expect(exercise(m)).toBe("error");
      }),
      { numRuns: runs(10_000) },
    );
  });

  it("arbitrary byte strings", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), fc.boolean(), (bytes, withMagic) => {
        if (withMagic && bytes.length >= 6) bytes.set([0x7f, 0x45, 0x4c, 0x46, 2, 1]);
        expect(exercise(bytes)).toBe("error");
      }),
      { numRuns: runs(5_000) },
    );
  });
});
