import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isParseError } from "../../src/errors.js";
import { codecFromBtf, isCharType } from "../../src/btf/codec.js";
import { kernelBtf } from "../../src/features/kernel-btf.js";
import { marshalBtf } from "../../src/btf/marshal.js";
import { skipQualifiers, type BtfTypeSource } from "../../src/btf/query.js";
import { parseBtf } from "../../src/btf/spec.js";
import { hasKernelBtf } from "../helpers/kernel.js";

const spec = parseBtf(readFileSync(fileURLToPath(new URL("./fixtures/kinds.bpfel.btf", import.meta.url))));
// CI runs 100,000 mutated blobs (10,000 x 10); a local run a few thousand. TSBPF_FUZZ_RUNS overrides.
const RUNS = Number(process.env.TSBPF_FUZZ_RUNS ?? (process.env.CI ? 10_000 : 300));

function enc(codec: { size: number; encode(v: unknown, d: DataView, o: number): void }, v: unknown): Uint8Array {
  const b = new Uint8Array(codec.size);
  codec.encode(v, new DataView(b.buffer), 0);
  return b;
}

/** A fast-check arbitrary of JS values for a union-free BTF type (as codecFromBtf shapes them). */
function arbValue(btf: BtfTypeSource, id: number, depth = 0): fc.Arbitrary<unknown> {
  const t = skipQualifiers(btf, id);
  const intArb = (size: number, signed: boolean, bits = size * 8): fc.Arbitrary<unknown> => {
    if (size === 8 || size === 16 || bits > 32) {
      const b = BigInt(bits);
      return signed ? fc.bigInt({ min: -(1n << (b - 1n)), max: (1n << (b - 1n)) - 1n }) : fc.bigInt({ min: 0n, max: (1n << b) - 1n });
    }
    return signed ? fc.integer({ min: -(2 ** (bits - 1)), max: 2 ** (bits - 1) - 1 }) : fc.integer({ min: 0, max: 2 ** bits - 1 });
  };
  switch (t.kind) {
    case "int":
      return t.bool ? fc.boolean() : intArb(t.size, t.signed);
    case "enum":
      return intArb(t.size, t.signed);
    case "enum64":
      return intArb(8, t.signed);
    case "float":
      return t.size === 4 ? fc.float({ noNaN: true }).filter((x) => !Object.is(x, -0)) : fc.double({ noNaN: true }).filter((x) => !Object.is(x, -0));
    case "ptr":
      return fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });
    case "array": {
      const e = skipQualifiers(btf, t.type);
      if (isCharType(e)) {
        // char[n] is a string: ASCII without NUL, up to n bytes, round-trips exactly
        return fc.uint8Array({ min: 1, max: 127, maxLength: t.nelems }).map((b) => String.fromCharCode(...b));
      }
      if (e.kind === "int" && e.size === 1 && !e.bool) return fc.uint8Array({ minLength: t.nelems, maxLength: t.nelems });
      return fc.array(arbValue(btf, t.type, depth + 1), { minLength: t.nelems, maxLength: t.nelems });
    }
    case "struct": {
      const rec: Record<string, fc.Arbitrary<unknown>> = {};
      const add = (members: typeof t.members) => {
        for (const m of members) {
          const mt = skipQualifiers(btf, m.type);
          if (m.name === "") {
            if (mt.kind === "struct") add(mt.members);
            continue;
          }
          if (m.bitfieldSize) {
            const big = (mt.kind === "int" || mt.kind === "enum" || mt.kind === "enum64") && mt.size === 8;
            const signed = "signed" in mt && mt.signed;
            const bits = m.bitfieldSize;
            if (mt.kind === "int" && mt.bool) rec[m.name] = fc.boolean();
            else if (big) rec[m.name] = signed ? fc.bigInt({ min: -(1n << BigInt(bits - 1)), max: (1n << BigInt(bits - 1)) - 1n }) : fc.bigInt({ min: 0n, max: (1n << BigInt(bits)) - 1n });
            else rec[m.name] = signed ? fc.integer({ min: -(2 ** (bits - 1)), max: 2 ** (bits - 1) - 1 }) : fc.integer({ min: 0, max: 2 ** bits - 1 });
          } else rec[m.name] = arbValue(btf, m.type, depth + 1);
        }
      };
      add(t.members);
      return fc.record(rec);
    }
    default:
      throw new Error(`no arbitrary for ${t.kind}`);
  }
}

/** Whether a type contains a union (or something without a value layout) anywhere inside. */
function unionFree(btf: BtfTypeSource, id: number, depth = 0): boolean {
  if (depth > 20) return false;
  const t = skipQualifiers(btf, id);
  switch (t.kind) {
    case "int": case "enum": case "enum64": case "ptr": return true;
    case "float": return t.size === 4 || t.size === 8;
    case "array": return t.nelems <= 64 && unionFree(btf, t.type, depth + 1);
    case "struct": return t.size > 0 && t.members.every((m) => m.name !== "" || skipQualifiers(btf, m.type).kind === "struct") && t.members.every((m) => unionFree(btf, m.type, depth + 1));
    default: return false;
  }
}

describe("codecFromBtf", () => {
  it("maps C types to the documented JS shapes", () => {
    const holder = codecFromBtf<Record<string, unknown>>(spec, spec.typeByName("holder", "struct")!);
    expect(holder.size).toBe(208);
    const v = holder.decode(new DataView(new ArrayBuffer(208)), 0);
    expect(Object.keys(v)).toEqual([
      "cv", "rp", "up", "fp", "fu", "col", "b", "s8", "bits", "p", "a", "v", "cb", "matrix", "anon", "next",
    ]);
    expect(v.cv).toBe(0); // const volatile int -> number
    expect(v.rp).toBe(0n); // pointer -> bigint
    expect(v.b).toBe(0n); // enum64 -> bigint
    expect(v.col).toBe(0); // enum -> number
    expect(v.matrix).toEqual([[0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]]);
    expect((v.bits as Record<string, unknown>).name).toBe(""); // char[16] -> string
    expect(v.anon).toEqual({ anon_x: 0, ax: 0, ay: 0 }); // anonymous union flattened
    expect(v.v).toEqual({ u: 0, f: 0, d: 0, raw: new Uint8Array(8) }); // union: every member
  });

  it("lays out bitfields exactly as the C compiler does", () => {
    const dir = mkdtempSync(join(tmpdir(), "tsbpf-codec-"));
    try {
      writeFileSync(
        join(dir, "bits.c"),
        `#include <stdio.h>
struct bits { unsigned int a : 3; unsigned int b : 5; int c : 12; unsigned long long d : 40; char name[16]; };
int main(void) {
  struct bits s = { 5, 17, -100, 0x123456789ULL, "hi" };
  unsigned char *p = (unsigned char *)&s;
  for (unsigned i = 0; i < sizeof s; i++) printf("%02x", p[i]);
  return 0;
}`,
      );
      execFileSync("gcc", ["-O0", "-o", join(dir, "bits"), join(dir, "bits.c")]);
      const hex = execFileSync(join(dir, "bits")).toString();
      const c = Buffer.from(hex, "hex");
      const codec = codecFromBtf<Record<string, unknown>>(spec, spec.typeByName("bits", "struct")!);
      expect(codec.size).toBe(c.length);
      const v = codec.decode(new DataView(c.buffer, c.byteOffset, c.length), 0);
      expect(v).toMatchObject({ a: 5, b: 17, c: -100, d: 0x123456789n });
      expect(v.name).toBe("hi");
      expect(Buffer.from(enc(codec, v)).equals(c)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("encode → decode is identity for the fixture's union-free structs", () => {
    for (const name of ["bits", "packed", "aligned16"]) {
      const t = spec.typeByName(name, "struct")!;
      const codec = codecFromBtf(spec, t);
      fc.assert(
        fc.property(arbValue(spec, t.id), (v) => {
          expect(codec.decode(new DataView(enc(codec, v).buffer), 0)).toEqual(v);
        }),
        { numRuns: RUNS },
      );
    }
  });

  it.skipIf(!hasKernelBtf)("encode → decode is identity for union-free kernel structs", () => {
    const k = kernelBtf();
    const picked: number[] = [];
    for (const t of k.typesOfKind("struct")) {
      if (t.name && t.members.length > 1 && unionFree(k, t.id)) picked.push(t.id);
      if (picked.length >= 150) break;
    }
    expect(picked.length).toBe(150);
    let bitfields = 0;
    for (const id of picked) {
      const codec = codecFromBtf(k, id);
      if (k.typeOfKind(id, "struct").members.some((m) => m.bitfieldSize)) bitfields++;
      fc.assert(
        fc.property(arbValue(k, id), (v) => {
          expect(codec.decode(new DataView(enc(codec, v).buffer), 0)).toEqual(v);
        }),
        { numRuns: 20 },
      );
    }
    expect(bitfields).toBeGreaterThan(0);
  });

  it("encodes a union from its first member present", () => {
    const codec = codecFromBtf<Record<string, unknown>>(spec, spec.typeByName("value", "union")!);
    const b = enc(codec, { u: 0x3f800000 });
    expect(codec.decode(new DataView(b.buffer), 0)).toMatchObject({ u: 0x3f800000, f: 1 });
    expect(() => enc(codec, {})).toThrow(/needs one of its members/);
    expect(() => enc(codec, { nope: 1 })).toThrow(/unknown member "nope"/);
  });

  it("rejects bad values before writing anything", () => {
    const codec = codecFromBtf(spec, spec.typeByName("bits", "struct")!);
    const buf = new Uint8Array(codec.size).fill(0xaa);
    const view = new DataView(buf.buffer);
    const good = { a: 1, b: 1, c: 1, d: 1n, name: "x" };
    expect(() => codec.encode({ ...good, a: 8 }, view, 0)).toThrow(RangeError); // 3 bits
    expect(() => codec.encode({ ...good, c: -2049 }, view, 0)).toThrow(RangeError); // 12 signed bits
    expect(() => codec.encode({ ...good, name: "x".repeat(17) }, view, 0)).toThrow(RangeError);
    expect(() => codec.encode({ ...good, name: new Uint8Array(16) }, view, 0)).toThrow(/struct bits: member "name": char\[16\]: expected a string/);
    const { d: _, ...noD } = good;
    expect(() => codec.encode(noD, view, 0)).toThrow(/missing member "d"/);
    expect(buf.every((x) => x === 0xaa)).toBe(true);
  });

  it("gives char[n] as a UTF-8 string up to the first NUL, and bytes on request", () => {
    const t = spec.typeByName("bits", "struct")!;
    const codec = codecFromBtf<Record<string, unknown>>(spec, t);
    const raw = codecFromBtf<Record<string, unknown>>(spec, t, { charArrays: "bytes" });
    const nameOffset = codec.size - 16;
    const at = (bytes: number[]) => {
      const b = new Uint8Array(codec.size);
      b.set(bytes, nameOffset);
      return new DataView(b.buffer);
    };
    expect(codec.decode(at([0x68, 0x69, 0, 0x7a]), 0).name).toBe("hi"); // stops at the NUL
    expect(codec.decode(at(Array(16).fill(0x61)), 0).name).toBe("a".repeat(16)); // no NUL: all 16 bytes
    expect(codec.decode(at([0xc3, 0xa9]), 0).name).toBe("é"); // UTF-8
    expect(codec.decode(at([0xff, 0x41]), 0).name).toBe("\ufffdA"); // invalid UTF-8: U+FFFD
    const bytes = raw.decode(at([0xff, 0x41, 0, 0x7a]), 0).name;
    expect(bytes).toEqual(Uint8Array.from([0xff, 0x41, 0, 0x7a, ...Array(12).fill(0)])); // escape hatch: every byte
    const good = { a: 1, b: 1, c: 1, d: 1n };
    expect(enc(codec, { ...good, name: "a".repeat(16) }).subarray(nameOffset)).toEqual(new Uint8Array(16).fill(0x61));
    expect(() => enc(codec, { ...good, name: "é".repeat(9) })).toThrow(/18 bytes of UTF-8 do not fit in 16/);
    expect(() => enc(codec, { ...good, name: "a\0b" })).toThrow(/contains a NUL/);
    expect(() => codecFromBtf(spec, t, { charArrays: "latin1" as "bytes" })).toThrow(TypeError);
    expect(() => codecFromBtf(spec, t, { chars: 1 } as object)).toThrow(/unknown option "chars"/);
  });

  it("names the struct and the member path in encode errors", () => {
    const holder = codecFromBtf<Record<string, unknown>>(spec, spec.typeByName("holder", "struct")!);
    const v = holder.decode(new DataView(new ArrayBuffer(holder.size)), 0);
    const bits = v.bits as Record<string, unknown>;
    const { d: _d, ...noD } = bits;
    expect(() => enc(holder, { ...v, bits: noD })).toThrow('struct holder: member "bits": struct bits: missing member "d"');
    expect(() => enc(holder, { ...v, bits: { ...bits, name: 7 } })).toThrow('struct holder: member "bits": struct bits: member "name": char[16]: expected a string, got 7');
  });

  it("gives a datasec as an object by variable name", () => {
    // .data after the loader's fix-up: counter@0 (int), ratio@4 (float), ratio_ptr@8 (ptr)
    const types = [...spec].map((t) =>
      t.kind === "datasec" && t.name === ".data"
        ? { ...t, size: 16, vars: t.vars.map((v, i) => ({ ...v, offset: [0, 4, 8][i] })) }
        : t,
    );
    const s = parseBtf(marshalBtf(types));
    const codec = codecFromBtf<Record<string, unknown>>(s, s.typeByName(".data", "datasec")!);
    const b = enc(codec, { counter: 7, ratio: 1.5, ratio_ptr: 0n });
    expect(codec.decode(new DataView(b.buffer), 0)).toEqual({ counter: 7, ratio: 1.5, ratio_ptr: 0n });
  });

  it("refuses types without a layout, and loops", () => {
    expect(() => codecFromBtf(spec, spec.typeByName("global_fn", "func")!)).toThrow(TypeError);
    expect(() => codecFromBtf(spec, spec.typeByName("fwd_only", "fwd")!)).toThrow(/no value layout/);
    expect(() => codecFromBtf(spec, 0)).toThrow(TypeError);
    // struct s { struct s inner; } (impossible in C, possible in hostile BTF)
    const loop = parseBtf(marshalBtf([{ kind: "struct", name: "s", size: 4, members: [{ name: "inner", type: 1, bitOffset: 0, bitfieldSize: 0 }] }]));
    let err: unknown;
    try {
      codecFromBtf(loop, 1);
    } catch (e) {
      err = e;
    }
    expect(isParseError(err)).toBe(true);
  });
});
