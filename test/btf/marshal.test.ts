import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isParseError } from "../../src/errors.js";
import { BtfBuilder, marshalBtf } from "../../src/btf/marshal.js";
import { skipQualifiers } from "../../src/btf/query.js";
import { parseBtf } from "../../src/btf/spec.js";
import type { BtfType } from "../../src/btf/types.js";
import { arbTypes } from "./arbitrary.js";

const fixture = (name: string) => readFileSync(fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url)));
// CI runs 100,000 mutated blobs (10,000 x 10); a local run a few thousand. TSBPF_FUZZ_RUNS overrides.
const RUNS = Number(process.env.TSBPF_FUZZ_RUNS ?? (process.env.CI ? 10_000 : 300));

describe("marshalBtf", () => {
  it("marshal → parse is identity for arbitrary types, both byte orders", () => {
    fc.assert(
      fc.property(arbTypes(), fc.constantFrom("little" as const, "big" as const), (types, byteOrder) => {
        const blob = marshalBtf(types, { byteOrder });
        const spec = parseBtf(blob);
        expect(spec.byteOrder).toBe(byteOrder);
        expect([...spec]).toEqual(types.map((t, i) => ({ ...t, id: i + 1 })));
      }),
      { numRuns: RUNS },
    );
  });

  it("re-marshals clang's BTF to the same types", () => {
    for (const f of ["kinds.bpfel.btf", "kinds.bpfeb.btf"]) {
      const bytes = fixture(f);
      const spec = parseBtf(bytes);
      const again = marshalBtf([...spec], { byteOrder: spec.byteOrder });
      expect([...parseBtf(again)]).toEqual([...spec]);
      // clang's string table also holds .BTF.ext's file names and source lines; ours only names
      expect(again.length).toBeLessThan(bytes.length);
    }
  });

  it("deduplicates strings", () => {
    const b = new BtfBuilder();
    const int = b.add({ kind: "int", name: "int", size: 4, signed: true, char: false, bool: false, bitOffset: 0, bits: 32 });
    b.add({ kind: "typedef", name: "int", type: int });
    b.add({ kind: "struct", name: "s", size: 4, members: [{ name: "int", type: int, bitOffset: 0, bitfieldSize: 0 }] });
    const blob = b.marshal();
    const strLen = new DataView(blob.buffer).getUint32(20, true);
    expect(strLen).toBe("\0int\0s\0".length);
  });

  it("refuses dangling references and values that do not fit", () => {
    expect(() => marshalBtf([{ kind: "ptr", name: "", type: 5 }])).toThrow(/type id 5, which does not exist/);
    expect(() =>
      marshalBtf([{ kind: "enum", name: "e", size: 4, signed: false, values: [{ name: "x", value: 2 ** 33 }] }]),
    ).toThrow(RangeError);
    expect(() => marshalBtf([{ kind: "fwd", name: "a\0b", union: false }])).toThrow(/NUL/);
    expect(() => new BtfBuilder().add({ kind: "ptr", name: "", type: 0, id: 7 })).toThrow(/would get id 1/);
    expect(() => new BtfBuilder({ order: "little" } as never)).toThrow(/unknown option/);
  });

  it("builds split BTF on top of a base", () => {
    const base = parseBtf(fixture("kinds.bpfel.btf"));
    const intId = base.typeByName("int", "int")!.id;
    const b = new BtfBuilder({ base });
    const id = b.add({ kind: "struct", name: "module_thing", size: 4, members: [{ name: "x", type: intId, bitOffset: 0, bitfieldSize: 0 }] });
    expect(id).toBe(base.nextId);
    const split = parseBtf(b.marshal(), { base });
    expect(split.firstId).toBe(base.nextId);
    expect(split.typeById(id)).toMatchObject({ name: "module_thing", members: [{ name: "x", type: intId }] });
    expect(split.typeById(intId)).toBe(base.typeById(intId));
    expect(split.idsByName("int", "int")).toEqual([intId]);
    expect(split.idsByName("module_thing")).toEqual([id]);
  });
});

/** Everything a reader of hostile BTF may do must end in a value or a ParseError. */
function exercise(bytes: Uint8Array): void {
  let spec;
  try {
    spec = parseBtf(bytes);
  } catch (e) {
    if (!isParseError(e)) throw e;
    return;
  }
  const all: BtfType[] = [...spec];
  for (const t of all) {
    try {
      skipQualifiers(spec, t.id);
    } catch (e) {
      if (!isParseError(e)) throw e;
    }
  }
  if (all.length && all[0].name) spec.idsByName(all[0].name);
}

describe("parseBtf fuzzing", () => {
  const seeds = [fixture("kinds.bpfel.btf"), fixture("kinds.bpfeb.btf")];
  const interesting = fc.constantFrom(0, 1, 0xff, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff, 12, 24, 0x01000000, 0x0d00ffff);

  it("mutated real BTF ends in types or a ParseError", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...seeds),
        fc.array(
          fc.oneof(
            fc.record({ at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
            fc.record({ at: fc.nat(), word: interesting }),
          ),
          { minLength: 1, maxLength: 8 },
        ),
        fc.option(fc.nat(), { nil: undefined }),
        (seed, edits, cut) => {
          const b = Uint8Array.from(seed);
          const dv = new DataView(b.buffer);
          for (const e of edits) {
            if ("byte" in e) b[e.at % b.length] = e.byte;
            else dv.setUint32((e.at % (b.length - 3)) & ~3, e.word, true);
          }
          exercise(cut === undefined ? b : b.subarray(0, cut % (b.length + 1)));
        },
      ),
      { numRuns: RUNS * 10 },
    );
  });

  it("random bytes behind a valid header end in types or a ParseError", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.boolean(), (body, le) => {
        const b = new Uint8Array(24 + body.length);
        const dv = new DataView(b.buffer);
        dv.setUint16(0, 0xeb9f, le);
        b[2] = 1;
        dv.setUint32(4, 24, le);
        const split = body.length ? body[0] % (body.length + 1) : 0;
        dv.setUint32(12, split, le);
        dv.setUint32(16, split, le);
        dv.setUint32(20, body.length - split, le);
        b.set(body, 24);
        exercise(b);
      }),
      { numRuns: RUNS * 10 },
    );
  });
});

describe("consumers of hostile BTF", () => {
  const seed = fixture("kinds.bpfel.btf");
  it("the C dump, raw dump and codecs end in a value or a typed error on mutated BTF", async () => {
    const { dumpC } = await import("../../src/btf/c-dump.js");
    const { dumpRaw } = await import("../../src/btf/raw-dump.js");
    const { codecFromBtf } = await import("../../src/btf/codec.js");
    // the dumps may only refuse with ParseError; a codec also with its documented TypeErrors
    const codecRefusal = (e: unknown) => isParseError(e) || (e instanceof TypeError && /no value layout|not a bitfield/.test(e.message));
    fc.assert(
      fc.property(fc.array(fc.record({ at: fc.nat(), word: fc.oneof(fc.integer({ min: 0, max: 200 }), fc.nat({ max: 0xffffffff })) }), { minLength: 1, maxLength: 4 }), (edits) => {
        const b = Uint8Array.from(seed);
        const dv = new DataView(b.buffer);
        // only the type section (after the 24-byte header): mutate references, sizes, counts
        const typeLen = dv.getUint32(12, true);
        for (const e of edits) dv.setUint32(24 + ((e.at % (typeLen - 3)) & ~3), e.word, true);
        let spec;
        try {
          spec = parseBtf(b);
        } catch (e) {
          if (!isParseError(e)) throw e;
          return;
        }
        for (const f of [() => dumpC(spec), () => dumpRaw(spec)]) {
          try {
            expect(typeof f()).toBe("string");
          } catch (e) {
            if (!isParseError(e)) throw e;
          }
        }
        for (const t of spec) {
          try {
            codecFromBtf(spec, t);
          } catch (e) {
            if (!codecRefusal(e)) throw e;
          }
        }
      }),
      { numRuns: RUNS },
    );
  });
});
